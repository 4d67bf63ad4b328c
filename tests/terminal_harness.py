"""A terminal core with simulated drivers, as the tests drive it: it records every state it publishes
and what it receives from the visitors.
"""

from __future__ import annotations

import threading
from collections import Counter

import numpy as np

from central.server_process import CentralProcess
from drivers.frame_stamp import StampLog
from drivers.simulated_camera import SimulatedCamera
from kiosk.call_engine import RemoteFeed
from kiosk.central_client import CentralClient
from kiosk.config import KioskConfig
from kiosk.core_loop import CoreLoop
from kiosk.devices import open_handset
from kiosk.pictures import luma_of
from kiosk.terminal import Terminal
from kiosk.visit_machine import Screen, TerminalState


class HarnessTerminal:
    def __init__(self, config: KioskConfig, token: str, lifted: bool = False) -> None:
        """`lifted`: the handset is off its hook when the terminal starts (as after a restart mid-visit)."""
        self.camera = SimulatedCamera(label="Resident (simulated)")
        self.handset = open_handset(config.devices)
        if lifted:
            self.handset.hook.lift()
        self.received = StampLog()
        self.frames_from: Counter[str] = Counter()  # frames received, per participant's name
        self.states: list[TerminalState] = []
        self._lock = threading.Lock()
        self.core = CoreLoop()
        central = CentralClient.for_terminal(config.central, token, key=None)
        self.terminal = Terminal(config, central, self.camera, self.handset, self.core, self)
        self.core.start()
        self.terminal.start()

    @classmethod
    def for_central(cls, config: KioskConfig, central: CentralProcess) -> HarnessTerminal:
        return cls(config, central.secret("terminal-token"))

    @property
    def state(self) -> TerminalState:
        with self._lock:
            return self.states[-1] if self.states else TerminalState()

    def screens(self) -> list[Screen]:
        with self._lock:
            return [s.screen for s in self.states]

    def stop(self) -> None:
        self.terminal.stop()
        self.core.stop()
        self.handset.stop()

    def on_state(self, state: TerminalState) -> None:
        with self._lock:
            self.states.append(state)

    def on_remote_video(self, feed: RemoteFeed, i420: np.ndarray) -> None:
        self.received.record(luma_of(i420))
        self.frames_from[feed.display] += 1

    def on_remote_left(self, feed: RemoteFeed) -> None:
        pass
