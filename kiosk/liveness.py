"""The watchdog's honest half: systemd hears WATCHDOG=1 only while every part that must keep running (the UI
thread, the core loop, the upkeep thread, central's events poll) has beaten recently. A part that hangs stops its
beats, the pings stop with them, and systemd restarts the kiosk; a ping thread that merely kept running would hide
the hang. A part whose every round may wait on the network (a request's time-out) is given that long.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping

from kiosk.service_notify import ServiceNotifier

log = logging.getLogger(__name__)

UI_THREAD, CORE_LOOP = "UI thread", "core loop"
UPKEEP, CENTRAL_EVENTS = "upkeep thread", "central events thread"


class Liveness:
    """Pings every `watchdog_s / 4` while each part has beaten within `watchdog_s / 2`."""

    def __init__(
        self,
        notifier: ServiceNotifier,
        watchdog_s: float,
        parts: Iterable[str] = (UI_THREAD, CORE_LOOP),
        clock: Callable[[], float] = time.monotonic,
        allowances: Mapping[str, float] | None = None,
    ) -> None:
        """`allowances`: for a part that may rightly be silent longer than `watchdog_s / 2` (a round that waits on
        the network), how long."""
        self.beat_every_s = watchdog_s / 4  # how often each part should beat
        allowances = allowances or {}
        self._stale_after_s = {part: max(watchdog_s / 2, allowances.get(part, 0.0)) for part in parts}
        self._notifier = notifier
        self._clock = clock
        now = clock()
        self._beats = dict.fromkeys(parts, now)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="watchdog", daemon=True)
        self._hung: tuple[str, ...] = ()

    def beat(self, part: str) -> None:
        with self._lock:
            if part in self._beats:
                self._beats[part] = self._clock()

    def hung(self) -> tuple[str, ...]:
        """The parts that have not beaten for longer than they may."""
        now = self._clock()
        with self._lock:
            return tuple(part for part, at in self._beats.items() if now - at > self._stale_after_s[part])

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.beat_every_s):
            hung = self.hung()
            if hung != self._hung:
                self._report(hung)
            if not hung:
                self._notifier.watchdog()

    def _report(self, hung: tuple[str, ...]) -> None:
        self._hung = hung
        if hung:
            log.error("not responding: %s; systemd's watchdog is no longer pinged", ", ".join(hung))
            self._notifier.status(f"Not responding: {', '.join(hung)}")
        else:
            log.warning("responding again; pinging systemd's watchdog again")


async def beat_forever(liveness: Liveness, part: str) -> None:
    """Beats for `part` from the asyncio loop it runs on, for as long as that loop keeps turning."""
    while True:
        liveness.beat(part)
        await asyncio.sleep(liveness.beat_every_s)
