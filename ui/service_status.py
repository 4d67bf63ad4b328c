"""The kiosk's side of its systemd unit, on the UI thread: READY=1 once the first screen is rendered (so both the
core loop, which produced the state, and the UI thread, which drew it, are up), STATUS= as the screen changes,
and the UI thread's beats for the watchdog."""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer

from kiosk.liveness import UI_THREAD, Liveness
from kiosk.service_notify import ServiceNotifier
from kiosk.service_status import status_line
from kiosk.visit_machine import TerminalState
from ui.bridge import CoreBridge


class ServiceStatus(QObject):
    def __init__(self, notifier: ServiceNotifier, liveness: Liveness | None, bridge: CoreBridge) -> None:
        """Connect it after the window: Qt calls slots in the order they were connected, so the screen is
        rendered before it is reported."""
        super().__init__()
        self._notifier = notifier
        self._ready = False
        self._last = ""
        bridge.state_changed.connect(self._on_state)
        self._beats = QTimer(self)
        if liveness is not None:
            self._beats.timeout.connect(lambda: liveness.beat(UI_THREAD))
            self._beats.start(int(liveness.beat_every_s * 1000))

    def _on_state(self, state: TerminalState) -> None:
        line = status_line(state)
        if not self._ready:
            self._notifier.ready(line)
            self._ready = True
        elif line != self._last:
            self._notifier.status(line)
        self._last = line
