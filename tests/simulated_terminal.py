"""A terminal's devices as the self-test opens them, all simulated, and a technician who follows its
instructions on them: lifts and hangs up the simulated handset, listens to its earpiece, taps its screen."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from drivers.simulated_camera import SimulatedCamera
from drivers.simulated_handset import SimulatedEarpiece, SimulatedHookSwitch, SimulatedMicrophone
from drivers.simulated_touchscreen import SimulatedTouchscreen
from kiosk.config import DevicesSection
from kiosk.devices import TerminalHandset
from provisioning.self_test import TestDevices
from tests.waiting import wait_for


@dataclass
class SimulatedTerminal:
    camera_size: tuple[int, int] | None = None  # what the camera really gives; None: what is configured
    microphone: SimulatedMicrophone = field(default_factory=SimulatedMicrophone)
    earpiece: SimulatedEarpiece = field(default_factory=SimulatedEarpiece)
    hook: SimulatedHookSwitch = field(default_factory=SimulatedHookSwitch)
    touchscreen: SimulatedTouchscreen = field(default_factory=SimulatedTouchscreen)
    opened: int = 0

    def open(self, devices: DevicesSection) -> TestDevices:
        self.opened += 1
        width, height = self.camera_size or (devices.camera_width, devices.camera_height)
        camera = SimulatedCamera(width, height, devices.camera_fps)
        return TestDevices(camera, TerminalHandset(self.microphone, self.earpiece, self.hook), self.touchscreen)


@dataclass
class ScriptedTechnician:
    """Does what the self-test tells, on its own thread as a person would, a moment later; answers the tone's
    question by what the earpiece really played. `lifts` False: never touches the handset."""

    terminal: SimulatedTerminal
    tap_at: tuple[float, float] = (0.1, 0.1)
    lifts: bool = True
    at_terminal: bool = True
    answers: list[str] = field(default_factory=list)  # typed first, before answering by what was heard
    speak: Callable[[], None] | None = None  # a voice into the microphone, when the handset is not simulated
    hears_tone: Callable[[], bool] | None = None  # listens to an earpiece that is not simulated
    told: list[str] = field(default_factory=list)
    asked: list[str] = field(default_factory=list)

    def tell(self, text: str) -> None:
        self.told.append(text)
        actions: dict[str, Callable[[], None]] = {
            "Lift the handset.": self.terminal.hook.lift,
            "Hang the handset up.": self.terminal.hook.hang_up,
            "Hang the handset up first.": self.terminal.hook.hang_up,
            "Tap the top-left corner of the screen.": lambda: self.terminal.touchscreen.tap(*self.tap_at),
        }
        if self.speak is not None and text.startswith("Say a few words"):
            actions[text] = self.speak
        action = actions.get(text)
        if action is not None and (self.lifts or "handset" not in text):
            threading.Thread(target=action).start()

    def ask(self, question: str) -> str:
        self.asked.append(question)
        if self.answers:
            return self.answers.pop(0)
        if self.hears_tone is not None:
            return "y" if self.hears_tone() else "n"
        earpiece = self.terminal.earpiece
        # A fifth of a second: 9,600 samples, which resolve the tone to 5 Hz (the test allows 20).
        wait_for(lambda: earpiece.samples_played >= 9_600, 5, "a fifth of a second of the tone in the earpiece")
        return "y" if abs(earpiece.dominant_frequency() - 1000) < 20 else "n"
