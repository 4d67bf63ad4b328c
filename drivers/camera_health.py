"""Camera health: the measured frame rate, the newest frame's age and a verdict (ok, degraded or lost).

A camera driver reports what happens to it (opened, failed, a frame captured) to a HealthMonitor;
`health()` turns that into a CameraHealth at any moment, from any thread.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from enum import StrEnum

RATE_WINDOW_S = 2.0  # the frame rate is measured over this much recent time
_MIN_SPAN_FOR_RATE_S = 1.0  # below this much history the rate is too noisy to call the camera degraded


class CameraState(StrEnum):
    OK = "ok"
    DEGRADED = "degraded"  # frames arrive, but well below the configured rate or after a stall
    LOST = "lost"  # no frame for a while, or the device cannot be opened or read


@dataclass(frozen=True)
class CameraHealth:
    state: CameraState
    fps: float  # frames per second over the last RATE_WINDOW_S
    frame_age_s: float | None  # seconds since the newest frame was captured; None before the first one
    detail: str  # why, for logs: "29.8 fps", "no frame for 2.4 s", "cannot open /dev/v4l/by-id/…"


class HealthMonitor:
    """The driver's reports and the rules that judge them. Thread-safe: one reporting thread, any readers."""

    def __init__(
        self,
        expected_fps: float,
        lost_after_s: float = 2.0,
        degraded_ratio: float = 0.6,
        window_s: float = RATE_WINDOW_S,
    ) -> None:
        self.expected_fps = expected_fps
        self.lost_after_s = lost_after_s
        self.degraded_ratio = degraded_ratio
        self.window_s = window_s
        # A stall this long is visible frozen video, even if the device comes back.
        self.stall_after_s = min(lost_after_s, max(0.5, 5 / expected_fps))
        self._lock = threading.Lock()
        self._times: deque[float] = deque()
        self._newest: float | None = None
        self._up: bool | None = False
        self._since = time.monotonic()
        self._problem = "the camera is not started"

    # -- reports from the driver ------------------------------------------------------------------

    def starting(self, now: float | None = None) -> None:
        """The first open is under way: not lost yet, unless it takes longer than `lost_after_s`."""
        self._set_link(None, "the camera is starting", now)

    def opened(self, now: float | None = None) -> None:
        """The device is open; frames are expected from now on (the rate is measured afresh)."""
        self._set_link(True, "", now)

    def failed(self, problem: str, now: float | None = None) -> None:
        """The device cannot be opened or read, has ended, or was stopped."""
        self._set_link(False, problem, now)

    def frame(self, captured_at: float) -> None:
        with self._lock:
            self._newest = captured_at
            self._times.append(captured_at)
            while self._times and self._times[0] <= captured_at - self.window_s:
                self._times.popleft()

    def _set_link(self, up: bool | None, problem: str, now: float | None) -> None:
        with self._lock:
            self._up = up
            self._problem = problem
            self._since = time.monotonic() if now is None else now
            if up:
                self._times.clear()

    # -- the verdict ------------------------------------------------------------------------------

    def health(self, now: float | None = None) -> CameraHealth:
        now = time.monotonic() if now is None else now
        with self._lock:
            times = [t for t in self._times if t > now - self.window_s]
            newest, up, since, problem = self._newest, self._up, self._since, self._problem
        age = None if newest is None else max(0.0, now - newest)
        fps = (len(times) - 1) / (now - times[0]) if len(times) >= 2 and now > times[0] else 0.0

        def verdict(state: CameraState, detail: str) -> CameraHealth:
            return CameraHealth(state, round(fps, 2), None if age is None else round(age, 3), detail)

        if up is False:
            return verdict(CameraState.LOST, problem)
        if up is None:
            if now - since > self.lost_after_s:
                return verdict(CameraState.LOST, f"the camera did not start within {self.lost_after_s:g} s")
            return verdict(CameraState.DEGRADED, problem)
        # Open: silent since the newest frame on this link, or since it opened.
        last_sign = newest if newest is not None and newest >= since else since
        silent = now - last_sign
        if silent > self.lost_after_s:
            return verdict(CameraState.LOST, f"no frame for {silent:.1f} s")
        if newest is None or newest < since:
            return verdict(CameraState.DEGRADED, "waiting for the first frame")
        if silent > self.stall_after_s:
            return verdict(CameraState.DEGRADED, f"no frame for {silent:.1f} s")
        if times and now - times[0] >= _MIN_SPAN_FOR_RATE_S and fps < self.degraded_ratio * self.expected_fps:
            return verdict(CameraState.DEGRADED, f"{fps:.1f} fps of {self.expected_fps:g} expected")
        return verdict(CameraState.OK, f"{fps:.1f} fps")
