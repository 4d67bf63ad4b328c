"""How long packets wait in a queue on their way now, from each one's one-way delay as measured against clocks
whose offset is unknown but fixed: the least delay of the last BASE_WINDOW_S is the way with no queue, and what
a packet took beyond it is queueing. A queue raises the delay of every packet while it lasts; jitter scatters
single packets. So the queue now is what the least delayed packet of the last RECENT_S waited: on a link with
80 ms ± 40 ms of jitter, one of the 15-30 packets sent in it comes close to the base, while a queue of 30 ms holds
them all back.

`QueueDelay` is both ends' gauge: the terminal's video on its way to Janus (`kiosk.send_queue`, from Janus's
feedback) and the others' video on its way to the terminal (`ArrivalQueue`, from each packet's RTP timestamp).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

BASE_WINDOW_S = 10.0  # longer than any queue this terminal lets stand, shorter than a route change is worth
RECENT_S = 0.4  # two feedbacks: one alone (8 packets at 300 kbps) read 37 ms of that jitter as a queue
RTP_VIDEO_CLOCK = 90_000  # Hz, every video codec's RTP timestamps (RFC 7741 for VP8)
_HALF_WRAP = 1 << 31


class QueueDelay:
    def __init__(self) -> None:
        self._delays: deque[tuple[float, float]] = deque()  # (at, one-way delay) of the last BASE_WINDOW_S
        # The candidates for the least of the window, oldest first and each less than the ones before it: a delay
        # with a smaller one after it can never be the least again. Scanning the whole window for it took 3 % of
        # the terminal's Python time in a visit (a few thousand packets, for each packet and picture).
        self._rising: deque[tuple[float, float]] = deque()

    def add(self, at: float, delay: float) -> None:
        """One packet's delay; `at` orders them (when it was sent, or when it arrived)."""
        self._delays.append((at, delay))
        while self._rising and self._rising[-1][1] >= delay:
            self._rising.pop()
        self._rising.append((at, delay))
        while self._delays[0][0] < at - BASE_WINDOW_S:
            self._delays.popleft()
        while self._rising[0][0] < at - BASE_WINDOW_S:
            self._rising.popleft()

    def least(self) -> float | None:
        """The least delay of the last BASE_WINDOW_S: the way with no queue; None before the first packet."""
        return self._rising[0][1] if self._rising else None

    def queue_s(self, now: float) -> float | None:
        """The least delay of the packets of the RECENT_S up to `now`, over the base; None when there were none."""
        recent = None
        for at, delay in reversed(self._delays):
            if at < now - RECENT_S:
                break
            if recent is None or delay < recent:
                recent = delay
        least = self.least()
        return recent - least if recent is not None and least is not None else None


class ArrivalQueue(QueueDelay):
    """One received video stream's queue on the way to us: each packet's arrival against its RTP timestamp (when
    the sender captured its frame, on the sender's 90 kHz clock). The sender's encoding and pacing delay some
    packets, but the least delayed of a few frames went as soon as it was made."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self._clock = clock
        self._last: int | None = None
        self._unwrapped = 0

    def saw(self, timestamp: int) -> None:
        if self._last is not None:
            self._unwrapped += (timestamp - self._last + _HALF_WRAP) % (1 << 32) - _HALF_WRAP
        self._last = timestamp
        now = self._clock()
        self.add(now, now - self._unwrapped / RTP_VIDEO_CLOCK)

    def now_s(self) -> float | None:
        return self.queue_s(self._clock())
