"""What `systemctl status kiosk` says the terminal is doing: one plain line per screen, never a person's name."""

from __future__ import annotations

from kiosk.visit_machine import Screen, TerminalState

_LINES = {
    Screen.IDLE: "Idle: ready for visits",
    Screen.IDENTIFY: "In use: a person is signing in",
    Screen.VISIT_LIST: "In use: a person is choosing a visit",
    Screen.PRE_VISIT: "In use: a visit is about to start",
    Screen.IN_VISIT: "In a visit",
    Screen.ENDED: "In use: a visit has just ended",
    Screen.TECHNICIAN_PIN: "Technician mode: asking for the PIN",
    Screen.TECHNICIAN: "Technician mode",
}


def status_line(state: TerminalState) -> str:
    if state.screen is Screen.OUT_OF_SERVICE:
        return f"Out of service: {', '.join(state.out_of_service) or 'a device is not working'}"
    return _LINES[state.screen]
