"""The touchscreen's simulated twin for the self-test: a tap is whatever `tap` was last told."""

from __future__ import annotations

import queue

from drivers.touchscreen_tap import Tap


class SimulatedTouchscreen:
    def __init__(self) -> None:
        self._taps: queue.Queue[Tap] = queue.Queue()

    def tap(self, x: float, y: float) -> None:
        """A finger on the panel at (x, y), as 0..1 of its axes."""
        self._taps.put(Tap(x, y))

    def wait_for_tap(self, timeout_s: float) -> Tap | None:
        try:
            return self._taps.get(timeout=timeout_s)
        except queue.Empty:
            return None

    def close(self) -> None:
        """Nothing to release: here for the same shape as EvdevTapReader."""
