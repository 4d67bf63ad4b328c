"""Chooses the terminal's devices from its configuration: the real driver, its simulated twin, or
(auto) the real one when it is there. A missing real device is a clear error, never a silent swap.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace

from drivers.camera import Camera
from drivers.debounced_hook import DebouncedHook
from drivers.evdev_hook import EvdevHookReader
from drivers.handset import Earpiece, HookSwitch, Microphone
from drivers.hid_hook import HidHookReader, NoHookSwitch, find_hook_hidraw
from drivers.portaudio_handset import AudioDeviceMissing, PortAudioHandsetAudio
from drivers.simulated_camera import SimulatedCamera
from drivers.simulated_handset import SimulatedEarpiece, SimulatedHookSwitch, SimulatedMicrophone
from drivers.touchscreen import find_touchscreen
from drivers.v4l2_camera import V4L2Camera, describe, is_device, open_capture
from kiosk.config import DevicesSection, DriverChoice, HookKind

log = logging.getLogger(__name__)


class DeviceMissing(RuntimeError):
    """A device the configuration requires is not there; the message says which and what to do."""


@dataclass(frozen=True)
class DeviceReport:
    name: str
    driver: str
    state: str
    detail: str


def _source(devices: DevicesSection) -> str | int:
    return int(devices.camera_source) if devices.camera_source.isdigit() else devices.camera_source


def _camera_present(source: str | int) -> bool:
    capture = open_capture(source)
    if capture is None:
        return False
    capture.release()
    return True


def open_camera(devices: DevicesSection, label: str = "Resident (simulated camera)") -> Camera:
    size = (devices.camera_width, devices.camera_height, devices.camera_fps)
    if devices.camera is DriverChoice.SIMULATED:
        return SimulatedCamera(*size, label=label)
    source = _source(devices)
    if _camera_present(source):
        # A file (not a device) is a recording played like a camera, looping, as in bench set-ups.
        return V4L2Camera(source, *size, loop=not is_device(source))
    if devices.camera is DriverChoice.REAL:
        raise DeviceMissing(
            f"The camera {describe(source)} is not there. Check its cable, or the camera_source setting."
        )
    log.warning('camera %s not found: using the simulated camera (camera = "auto")', describe(source))
    return SimulatedCamera(*size, label=label)


def camera_report(camera: Camera) -> DeviceReport:
    if isinstance(camera, V4L2Camera):
        health = camera.health()
        return DeviceReport("camera", f"V4L2 {describe(camera.source)}", health.state.value, health.detail)
    frame = camera.latest()
    return DeviceReport("camera", "simulated", "ok" if frame is not None else "degraded", f"{camera.fps:.0f} fps")


HookReader = HidHookReader | EvdevHookReader
HookOpener = Callable[[], HookReader]


@dataclass
class TerminalHandset:
    """The handset as the terminal uses it, put together from the drivers the configuration chose."""

    microphone: Microphone
    earpiece: Earpiece
    hook: HookSwitch
    audio: PortAudioHandsetAudio | None = None  # the real audio streams, for their health and a restart
    hook_opener: HookOpener | None = None  # opens the real hook switch's reader, again after a replug
    hook_reader: HookReader | None = None  # the open reader, if any; open_hook() replaces it

    def open_hook(self) -> None:
        """(Re)opens the real hook switch's reader; the hook and its listeners stay the same."""
        if self.hook_opener is None:
            return
        if self.hook_reader is not None:
            self.hook_reader.close()
            self.hook_reader = None
        self.hook_reader = self.hook_opener()

    def stop(self) -> None:
        if self.audio is not None:
            self.audio.stop()
        if self.hook_reader is not None:
            self.hook_reader.close()
        if isinstance(self.hook, DebouncedHook):
            self.hook.close()


def _open_audio(devices: DevicesSection) -> PortAudioHandsetAudio | None:
    if devices.handset is DriverChoice.SIMULATED:
        return None
    audio = PortAudioHandsetAudio(devices.handset_audio, noise_suppression=devices.noise_suppression)
    try:
        audio.start()
    except AudioDeviceMissing as exc:
        if devices.handset is DriverChoice.REAL:
            raise DeviceMissing(
                f"The handset's sound device ({devices.handset_audio!r}) is not there. Check its cable, "
                f"or the handset_audio setting. ({exc})"
            ) from exc
        log.warning('handset audio %r not found: using the simulated handset (handset = "auto")', audio.name)
        return None
    return audio


def _hook_opener(devices: DevicesSection, hook: DebouncedHook) -> HookOpener:
    def open_reader() -> HookReader:
        if devices.hook_kind is HookKind.KEY:
            return EvdevHookReader.open(devices.hook_device, devices.hook_key, hook, inverted=devices.hook_inverted)
        path = devices.hook_device or find_hook_hidraw()
        if path is None:
            raise NoHookSwitch("no /dev/hidraw* device has a HID hook switch")
        return HidHookReader.open(path, hook, inverted=devices.hook_inverted)

    return open_reader


def open_handset(devices: DevicesSection) -> TerminalHandset:
    audio = _open_audio(devices)
    if audio is None:
        handset = TerminalHandset(SimulatedMicrophone(), SimulatedEarpiece(), SimulatedHookSwitch())
    else:
        handset = TerminalHandset(audio.microphone, audio.earpiece, SimulatedHookSwitch(), audio)
    if devices.hook is DriverChoice.SIMULATED:
        return handset
    hook = DebouncedHook(devices.hook_debounce_ms)
    real = replace(handset, hook=hook, hook_opener=_hook_opener(devices, hook))
    try:
        real.open_hook()
    except (OSError, ValueError) as exc:  # NoHookSwitch is a ValueError, as is a key the device lacks
        hook.close()
        if devices.hook is DriverChoice.AUTO:
            log.warning('hook switch not found (%s): using the simulated hook (hook = "auto")', exc)
            return handset
        handset.stop()
        where = devices.hook_device or "any /dev/hidraw* device"
        raise DeviceMissing(
            f"The handset's hook switch ({where}) is not there or cannot be read: {exc}. "
            "Check the handset's cable, the hook settings, and the udev rule that lets the kiosk read it."
        ) from exc
    return real


def hook_report(handset: TerminalHandset) -> DeviceReport:
    if handset.hook_opener is None:
        return DeviceReport("hook", "simulated", "ok", "lifted" if handset.hook.lifted else "hung up")
    reader = handset.hook_reader
    if reader is None or reader.lost.is_set():
        return DeviceReport("hook", reader.name if reader else "real", "missing", "the hook switch went away")
    return DeviceReport("hook", reader.name, "ok", "lifted" if handset.hook.lifted else "hung up")


def handset_report(handset: TerminalHandset) -> DeviceReport:
    if handset.audio is None:
        return DeviceReport("handset", "simulated", "ok", "tone microphone, measuring earpiece")
    health = handset.audio.health()
    return DeviceReport("handset", f"PortAudio {handset.audio.name!r}", health.state.value, health.detail)


def device_reports(camera: Camera, handset: TerminalHandset) -> list[DeviceReport]:
    return [camera_report(camera), handset_report(handset), hook_report(handset)]


def require_touchscreen(devices: DevicesSection) -> None:
    """In real mode the touchscreen must be there at start-up, like every other real device."""
    if devices.touchscreen is DriverChoice.REAL and find_touchscreen(devices.touchscreen_name) is None:
        wanted = f" named like {devices.touchscreen_name!r}" if devices.touchscreen_name else ""
        raise DeviceMissing(
            f"No touchscreen{wanted} is connected (udev shows no ID_INPUT_TOUCHSCREEN device). "
            "Check its USB cable, or the touchscreen_name setting."
        )
