"""The hardware self-test: what a technician proves before leaving a terminal. The camera gives frames at the
configured size and rate; the microphone hears a voice; the earpiece plays a tone the technician hears; the hook
switch sees the handset lifted and hung up; the touchscreen reads a tap in the right corner (so its rotation is
right too).

Without a technician at the terminal (an unattended run) only what needs no person is checked: the camera, and
that the microphone delivers sound at all. The rest is reported as not checked, to be done later with
`kiosk-provision self-test`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar, Protocol

from drivers.camera import Camera, Frame
from drivers.handset import HookSwitch, Microphone
from drivers.simulated_touchscreen import SimulatedTouchscreen
from drivers.touchscreen import calibration_matrix, find_touchscreen
from drivers.touchscreen_tap import EvdevTapReader, Tap
from kiosk.config import DevicesSection, DriverChoice
from kiosk.devices import DeviceMissing, TerminalHandset, open_camera, open_handset
from kiosk.technician import TestTone, microphone_level

SPEECH_DBFS = -45.0  # a voice into a handset's microphone is louder than this; its hiss is far quieter
SILENCE_DBFS = -120.0  # quieter than any microphone's own noise: only a muted or dead one delivers this
MIN_FPS_SHARE = 0.9  # of the configured rate
CAMERA, MICROPHONE, EARPIECE, HOOK, TOUCHSCREEN = "camera", "microphone", "earpiece", "hook switch", "touchscreen"


class Verdict(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    NOT_CHECKED = "not checked"
    SIMULATED = "simulated"


@dataclass(frozen=True)
class Check:
    part: str
    verdict: Verdict
    detail: str  # what was found; on failure, with what to do

    def line(self) -> str:
        return f"{self.part}: {self.verdict.value}: {self.detail}"


class Technician(Protocol):
    """The person at the terminal, or nobody (`at_terminal` False: an unattended run)."""

    at_terminal: bool

    def tell(self, text: str) -> None:
        """An instruction, shown at once."""

    def ask(self, question: str) -> str:
        """A question; the answer as typed."""


class _Nobody:
    """No one at the terminal: the technician of an unattended run."""

    at_terminal = False

    def tell(self, text: str) -> None:
        """Not shown: no one would read it."""

    def ask(self, question: str) -> str:
        raise RuntimeError(f"an unattended check asked {question!r}")


NOBODY: Technician = _Nobody()


@dataclass
class ConsoleTechnician:
    """The technician at the terminal's keyboard."""

    read: Callable[[str], str] = input
    at_terminal: ClassVar[bool] = True

    def tell(self, text: str) -> None:
        print(f"  >> {text}", flush=True)

    def ask(self, question: str) -> str:
        return self.read(f"  >> {question} ").strip().lower()


@dataclass(frozen=True)
class Waits:
    first_frame_s: float = 5.0  # a V4L2 camera takes a moment to start streaming
    frames_s: float = 2.0  # the frame rate is measured over this
    speech_s: float = 4.0
    action_s: float = 60.0  # for the technician to lift, hang up or tap


class TapSource(Protocol):
    def wait_for_tap(self, timeout_s: float) -> Tap | None: ...

    def close(self) -> None: ...


@dataclass
class TestDevices:
    """The devices as the configuration chooses them, opened for the test."""

    __test__ = False  # not a pytest test class, despite its name
    camera: Camera
    handset: TerminalHandset
    touchscreen: TapSource

    def close(self) -> None:
        self.camera.stop()
        self.handset.stop()
        self.touchscreen.close()


def _open_touchscreen(devices: DevicesSection) -> TapSource:
    if devices.touchscreen is DriverChoice.SIMULATED:
        return SimulatedTouchscreen()
    found = find_touchscreen(devices.touchscreen_name)
    if found is None or not found.devnode:
        if devices.touchscreen is DriverChoice.AUTO:
            return SimulatedTouchscreen()
        raise DeviceMissing("No touchscreen is connected. Check its USB cable, or the touchscreen_name setting.")
    try:
        return EvdevTapReader.open(found.devnode)
    except (OSError, ValueError) as exc:
        raise DeviceMissing(f"The touchscreen {found.name} cannot be read: {exc}") from exc


def open_test_devices(devices: DevicesSection) -> TestDevices:
    """Opens what the configuration names; DeviceMissing (and nothing left open) if a required one is not there."""
    camera = open_camera(devices)
    try:
        handset = open_handset(devices)
    except DeviceMissing:
        camera.stop()
        raise
    try:
        touchscreen = _open_touchscreen(devices)
    except DeviceMissing:
        camera.stop()
        handset.stop()
        raise
    return TestDevices(camera, handset, touchscreen)


# -- each part --------------------------------------------------------------------------------------


def check_camera(camera: Camera, devices: DevicesSection, waits: Waits) -> Check:
    frames: list[Frame] = []
    first = threading.Event()

    def keep(frame: Frame) -> None:
        frames.append(frame)
        first.set()

    camera.add_listener(keep)
    camera.start()
    try:
        if not first.wait(waits.first_frame_s):
            return Check(CAMERA, Verdict.FAILED, f"no picture within {waits.first_frame_s:g} s: check its cable")
        time.sleep(waits.frames_s)  # the window the rate is measured over
    finally:
        camera.remove_listener(keep)
    seen = list(frames)
    height, width = seen[-1].image.shape[:2]
    span = seen[-1].captured_at - seen[0].captured_at
    fps = (len(seen) - 1) / span if span > 0 else 0.0
    wanted = f"{devices.camera_width}x{devices.camera_height} at {devices.camera_fps:g} fps"
    found = f"{width}x{height} at {fps:.1f} fps"
    if (width, height) != (devices.camera_width, devices.camera_height):
        return Check(CAMERA, Verdict.FAILED, f"gives {found}, not the configured {wanted}: the camera cannot do it")
    if fps < MIN_FPS_SHARE * devices.camera_fps:
        return Check(CAMERA, Verdict.FAILED, f"gives {found}, too slow for {wanted}: check the light and the cable")
    return Check(CAMERA, Verdict.PASSED, found)


def _loudest(microphone: Microphone, seconds: float) -> float:
    loudest = float("-inf")
    pause = threading.Event()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        loudest = max(loudest, microphone_level(microphone))
        pause.wait(0.05)
    return loudest


def check_microphone(microphone: Microphone, technician: Technician, waits: Waits) -> Check:
    if not technician.at_terminal:
        level = _loudest(microphone, 1.0)
        if level <= SILENCE_DBFS:
            return Check(MICROPHONE, Verdict.FAILED, "delivers only silence: it is muted, or broken")
        return Check(MICROPHONE, Verdict.PASSED, f"hears {level:.0f} dBFS (no one spoke into it: unattended)")
    technician.tell(f"Say a few words into the handset now ({waits.speech_s:g} seconds).")
    level = _loudest(microphone, waits.speech_s)
    if level < SPEECH_DBFS:
        shown = "nothing" if level <= SILENCE_DBFS else f"{level:.0f} dBFS"
        return Check(
            MICROPHONE,
            Verdict.FAILED,
            f"heard {shown} while you spoke (a voice is above {SPEECH_DBFS:.0f} dBFS): check the handset's cable",
        )
    return Check(MICROPHONE, Verdict.PASSED, f"heard your voice at {level:.0f} dBFS")


def check_earpiece(handset: TerminalHandset, technician: Technician) -> Check:
    if not technician.at_terminal:
        return Check(EARPIECE, Verdict.NOT_CHECKED, "needs someone to listen")
    tone = TestTone(handset.earpiece)
    while True:
        tone.start()
        answer = technician.ask("Did you hear a tone in the earpiece? (y = yes, n = no, Enter = play it again)")
        tone.stop()
        if answer in ("y", "yes"):
            return Check(EARPIECE, Verdict.PASSED, "you heard the test tone")
        if answer in ("n", "no"):
            return Check(EARPIECE, Verdict.FAILED, "you did not hear the test tone: check the handset's cable")


class HookWatch:
    """Waits for the hook switch to reach a state, woken by its listener."""

    def __init__(self, hook: HookSwitch) -> None:
        self._hook = hook
        self._changed = threading.Event()
        hook.add_listener(lambda _lifted: self._changed.set())

    @property
    def lifted(self) -> bool:
        return self._hook.lifted

    def wait_until(self, lifted: bool, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while True:
            self._changed.clear()
            if self._hook.lifted == lifted:
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self._changed.wait(remaining):
                return self._hook.lifted == lifted


def _corner(x: float, y: float) -> str:
    return f"{'top' if y < 0.5 else 'bottom'}-{'left' if x < 0.5 else 'right'}"


def _on_screen(tap: Tap, rotation: int, devices: DevicesSection) -> tuple[float, float]:
    """Where libinput puts the tap on the screen, with this rotation and the configured calibration."""
    a, b, c, d, e, f = calibration_matrix(rotation, devices.touchscreen_calibration)
    return a * tap.x + b * tap.y + c, d * tap.x + e * tap.y + f


def _rotation_for(tap: Tap, devices: DevicesSection) -> int | None:
    """The rotation that would put this tap in the top-left corner, keeping the calibration."""
    return next((r for r in (0, 90, 180, 270) if _corner(*_on_screen(tap, r, devices)) == "top-left"), None)


def check_touchscreen(touchscreen: TapSource, devices: DevicesSection, technician: Technician, waits: Waits) -> Check:
    if not technician.at_terminal:
        return Check(TOUCHSCREEN, Verdict.NOT_CHECKED, "needs someone to tap it")
    technician.tell("Tap the top-left corner of the screen.")
    tap = touchscreen.wait_for_tap(waits.action_s)
    if tap is None:
        return Check(TOUCHSCREEN, Verdict.FAILED, f"no tap within {waits.action_s:g} s: check its USB cable")
    rotation = int(devices.touchscreen_rotation)
    x, y = _on_screen(tap, rotation, devices)
    if _corner(x, y) == "top-left":
        return Check(TOUCHSCREEN, Verdict.PASSED, f"a tap in the top-left corner, at ({x:.2f}, {y:.2f})")
    fix = _rotation_for(tap, devices)
    advice = f"run setup again with --touchscreen-rotation {fix}" if fix is not None else "check its calibration"
    return Check(
        TOUCHSCREEN,
        Verdict.FAILED,
        f"a tap in the top-left corner reads as the {_corner(x, y)} with rotation {rotation}: {advice}",
    )


# -- the whole test ---------------------------------------------------------------------------------


def _hook_check(watch: HookWatch, technician: Technician, waits: Waits, lifted_ok: bool) -> Check:
    technician.tell("Hang the handset up.")
    if not watch.wait_until(False, waits.action_s):
        return Check(HOOK, Verdict.FAILED, f"did not see the handset hung up within {waits.action_s:g} s")
    if not lifted_ok:
        return Check(HOOK, Verdict.FAILED, f"did not see the handset lifted within {waits.action_s:g} s")
    return Check(HOOK, Verdict.PASSED, "saw the handset lifted and hung up")


def run_self_test(devices: TestDevices, config: DevicesSection, technician: Technician, waits: Waits) -> list[Check]:
    """Every check, in the order a technician does them (lift, speak, listen, hang up, tap). A part configured
    as simulated (a training terminal) is never asked of the technician: no one can lift or hear a simulation."""
    handset, hook, touchscreen = devices.handset, config.hook, config.touchscreen
    checks = [check_camera(devices.camera, config, waits)]
    watch = HookWatch(handset.hook)
    lifted_ok = False
    if hook is not DriverChoice.SIMULATED and technician.at_terminal:
        if watch.lifted:
            technician.tell("Hang the handset up first.")
            watch.wait_until(False, waits.action_s)
        technician.tell("Lift the handset.")
        lifted_ok = watch.wait_until(True, waits.action_s)
    simulated_handset = config.handset is DriverChoice.SIMULATED
    checks.append(check_microphone(handset.microphone, NOBODY if simulated_handset else technician, waits))
    checks.append(_simulated(EARPIECE) if simulated_handset else check_earpiece(handset, technician))
    if hook is DriverChoice.SIMULATED:
        checks.append(_simulated(HOOK))
    elif technician.at_terminal:
        checks.append(_hook_check(watch, technician, waits, lifted_ok))
    else:
        now = "lifted" if watch.lifted else "hung up"
        checks.append(Check(HOOK, Verdict.NOT_CHECKED, f"needs someone to lift the handset (now {now})"))
    if touchscreen is DriverChoice.SIMULATED:
        checks.append(_simulated(TOUCHSCREEN))
    else:
        checks.append(check_touchscreen(devices.touchscreen, config, technician, waits))
    return checks


def _simulated(part: str) -> Check:
    return Check(part, Verdict.SIMULATED, "simulated on this training terminal: nothing to test by hand")
