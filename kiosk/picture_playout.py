"""When each received picture is shown: as its sound is heard, and spaced as it was taken.

The earpiece holds the visitors' voice in its jitter buffer (`drivers.playout_mixer`, 40 to 120 ms) before it
is heard, while a picture was shown the moment it was decoded: the lips moved that much before the words came (on a
lossy link the earpiece holds more and the gap grew). Each picture now waits for its sound, as browsers
synchronise a call's video with its audio. It also smooths the picture: a picture delayed on the way (its
packet lost and sent again, a link that stopped for a moment) comes as late as it came, but the pictures before
it were held for the earpiece's delay, so the picture stands still that much less; and the pictures that arrive
together after such a stop go on at the pace they were taken, where there is time for it, instead of at once.

The schedule: a picture taken at t (its RTP timestamp, on the sender's clock) is due at t + the least transit of
the last BASE_WINDOW_S (the way with no queue, whatever the two clocks' offset) + the delay, smoothed over about
DELAY_SMOOTHING_S: the buffer's fill moves by a packet's 20 ms as packets come, and by a burst's worth when a
jittery link delivers several at once, and the pictures would jerk with it. A picture that comes
after it was due is shown at once, and a picture is never shown before the one taken before it.
"""

from __future__ import annotations

from kiosk.queue_delay import QueueDelay

MOST_DELAY_S = 0.2  # beyond this, a picture would lag the conversation more than it gains
DELAY_SMOOTHING_S = 1.0
RESTART_AFTER_S = 2.0  # a picture this much later than the fastest: the sender's clock jumped, not the link


class PicturePlayout:
    """One received video stream's schedule."""

    def __init__(self) -> None:
        self._transits = QueueDelay()
        self._last_due = float("-inf")
        self._delay_s: float | None = None
        self._delay_at = 0.0

    def due(self, taken_s: float, now: float, delay_s: float) -> float:
        """When to show a picture taken at `taken_s` (on the sender's clock, in seconds) that is here `now`, for
        a sound that waits `delay_s` before it is heard: never before now, nor before the picture before it."""
        transit = now - taken_s
        fastest = self._transits.least()
        if fastest is not None and transit - fastest > RESTART_AFTER_S:
            self._transits = QueueDelay()
        self._transits.add(now, transit)
        fastest = self._transits.least()
        way = transit if fastest is None else fastest
        due = taken_s + way + self._smoothed(min(max(0.0, delay_s), MOST_DELAY_S), now)
        self._last_due = max(due, now, self._last_due)
        return self._last_due

    def _smoothed(self, delay_s: float, now: float) -> float:
        if self._delay_s is None:
            self._delay_s = delay_s
        else:
            weight = min(1.0, (now - self._delay_at) / DELAY_SMOOTHING_S)
            self._delay_s += weight * (delay_s - self._delay_s)
        self._delay_at = now
        return self._delay_s
