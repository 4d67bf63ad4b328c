"""DebouncedHook: a HookSwitch fed with raw readings by a device reader, reporting a change only once the
contact has stopped bouncing.

A cradle switch chatters for a few milliseconds when the handset is lifted or put down; without this the
kiosk would see a burst of lifts and hang-ups and could start and end a visit in one movement.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable

from drivers.handset import HookListener

log = logging.getLogger(__name__)

Clock = Callable[[], float]  # seconds on a monotonic scale; tests pass a clock they move by hand


class Debouncer:
    """The debounce rule alone, without threads: a raw reading becomes the reported state once it has held
    for `delay` seconds. Times are passed in, so the rule can be checked without waiting.
    """

    def __init__(self, delay: float, initial: bool = False) -> None:
        if delay < 0:
            raise ValueError(f"the debounce delay must not be negative, not {delay}")
        self.delay = delay
        self.reported = initial
        self.raw = initial
        self._changed_at = 0.0

    def feed(self, lifted: bool, now: float) -> None:
        # Only a change restarts the wait: a device repeating the same reading is not bouncing.
        if lifted != self.raw:
            self.raw = lifted
            self._changed_at = now

    @property
    def pending(self) -> bool:
        return self.raw != self.reported

    def due(self) -> float | None:
        """When the pending change may be reported (if nothing changes before then); None if none is pending."""
        return self._changed_at + self.delay if self.pending else None

    def settle(self, now: float) -> bool | None:
        """The new state to report, if the raw reading has now held long enough; None otherwise."""
        due = self.due()
        # Compared against due() itself, so that a waiter sleeping until due() always finds it settled.
        if due is None or now < due:
            return None
        self.reported = self.raw
        return self.reported


class DebouncedHook:
    """A HookSwitch whose readings come from a device reader thread through `feed()`.

    Listeners are called on this hook's own thread, one change at a time and in order; a listener that
    raises is logged and the others are still called. It lives as long as the terminal: when the device is
    unplugged and reopened, the new reader feeds the same hook, so listeners stay attached.
    """

    def __init__(self, debounce_ms: int = 40, *, initial: bool = False, clock: Clock = time.monotonic) -> None:
        self._debouncer = Debouncer(debounce_ms / 1000, initial)
        self._clock = clock
        self._listeners: list[HookListener] = []
        self._settled: deque[bool] = deque()  # changes not yet given to the listeners, oldest first
        self._changed = threading.Condition()
        self._notifying = False
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="hook-debounce", daemon=True)
        self._thread.start()

    @property
    def lifted(self) -> bool:
        with self._changed:
            return self._debouncer.reported

    def add_listener(self, listener: HookListener) -> None:
        with self._changed:
            self._listeners.append(listener)

    def feed(self, lifted: bool) -> None:
        """A raw reading from the device (called from its reader thread); returns at once."""
        with self._changed:
            now = self._clock()
            # A reading that has already held long enough counts even if the listener thread is late, and
            # with no debounce every reading counts at once, so no quick change is ever lost in between.
            self._settle(now)
            self._debouncer.feed(lifted, now)
            self._settle(now)
            self._changed.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Waits until every reading fed so far is settled and its listeners have returned; False on timeout.

        With an injected clock a pending change settles only once that clock has moved past its due time.
        """
        with self._changed:
            return self._changed.wait_for(
                lambda: not self._debouncer.pending and not self._settled and not self._notifying, timeout
            )

    def close(self) -> None:
        """Stops the listener thread; changes not yet given to the listeners are dropped."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()
        if threading.current_thread() is not self._thread:
            self._thread.join()

    def _settle(self, now: float) -> None:
        change = self._debouncer.settle(now)
        if change is not None:
            self._settled.append(change)

    def _run(self) -> None:
        while True:
            with self._changed:
                self._notifying = False
                self._changed.notify_all()  # for wait_idle
                change = self._wait_for_change()
                if change is None:
                    return
                self._notifying = True
                listeners = list(self._listeners)
            # Called without the lock, so a listener may read `lifted` or add a listener.
            for listener in listeners:
                try:
                    listener(change)
                except Exception:
                    log.exception("a hook listener failed (lifted=%s)", change)

    def _wait_for_change(self) -> bool | None:
        """With the lock held: the next settled change, or None once closed."""
        while not self._closed:
            now = self._clock()
            self._settle(now)
            if self._settled:
                return self._settled.popleft()
            due = self._debouncer.due()
            # A feed() wakes us early; otherwise sleep until the pending change is due.
            self._changed.wait(None if due is None else due - now)
        return None
