"""systemd's notify protocol (sd_notify(3)), in the few lines it takes: newline-separated KEY=value datagrams
sent to the unix socket named by $NOTIFY_SOCKET. Without that variable (not started by systemd, or in a test
that does not ask for it) every call does nothing.

The kiosk runs as a child of cage, the unit's main process, so the unit sets NotifyAccess=all, and the watchdog
is taken as meant for the kiosk even though $WATCHDOG_PID names cage.
"""

from __future__ import annotations

import logging
import os
import socket

log = logging.getLogger(__name__)

_STATUS_LIMIT = 200  # characters: a status is one short line in `systemctl status`


def _address(name: str) -> str:
    """An abstract socket is written with a leading "@" and addressed with a leading NUL."""
    return "\0" + name[1:] if name.startswith("@") else name


class ServiceNotifier:
    def __init__(self, socket_name: str | None, watchdog_usec: str | None = None) -> None:
        self._address = _address(socket_name) if socket_name else None
        self._socket: socket.socket | None = None
        self._failed = False
        try:
            usec = int(watchdog_usec) if watchdog_usec else 0
        except ValueError:
            usec = 0
        self.watchdog_s = usec / 1e6 if usec > 0 else None  # how often systemd wants to hear, at the latest

    @classmethod
    def from_environment(cls) -> ServiceNotifier:
        """From $NOTIFY_SOCKET and $WATCHDOG_USEC, which are then removed so that the kiosk's own child
        processes (its audio process) do not speak for it."""
        notifier = cls(os.environ.get("NOTIFY_SOCKET"), os.environ.get("WATCHDOG_USEC"))
        for name in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"):
            os.environ.pop(name, None)
        return notifier

    @property
    def enabled(self) -> bool:
        return self._address is not None

    def ready(self, status: str) -> None:
        self._send(f"READY=1\nSTATUS={_one_line(status)}")

    def status(self, status: str) -> None:
        self._send(f"STATUS={_one_line(status)}")

    def watchdog(self) -> None:
        self._send("WATCHDOG=1")

    def stopping(self) -> None:
        self._send("STOPPING=1")

    def _send(self, message: str) -> None:
        if self._address is None:
            return
        try:
            if self._socket is None:
                self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            self._socket.sendto(message.encode(), self._address)
            self._failed = False
        except OSError as exc:
            if not self._failed:  # once per outage: a gone socket must not flood the journal
                log.warning("could not notify systemd: %s", exc)
            self._failed = True

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None


def _one_line(text: str) -> str:
    return " ".join(text.split())[:_STATUS_LIMIT]
