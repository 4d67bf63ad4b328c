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

On a link that loses packets often (a visitor on mobile data), every loss stops the picture for its resend's round
trip, 0.25-0.35 s over such a link, less what the voice waits (80-120 ms): most of those stops were freezes (over
200 ms), where Chromium, which holds 130-150 ms of video there, froze a quarter less. So where more than
LATE_SHARE of the last LATE_WINDOW_S's pictures came late, the pictures wait for that lateness, up to MOST_LAG_S
beyond their sound: the words then come that much before the lips move, within what viewers accept (ITU-R
BT.1359 finds sound up to 90 ms ahead of the picture acceptable), and only on such a link.
"""

from __future__ import annotations

from collections import deque

from kiosk.queue_delay import QueueDelay

MOST_DELAY_S = 0.2  # beyond this, a picture would lag the conversation more than it gains
DELAY_SMOOTHING_S = 1.0
RESTART_AFTER_S = 2.0  # a picture this much later than the fastest: the sender's clock jumped, not the link
LATE_WINDOW_S = 10.0
LATE_SHARE = 0.1  # a single stop of the link (200 ms: 6 pictures of 300) is not waited for in every picture
MOST_LAG_S = 0.08  # the most a picture waits beyond its sound
LATENESS_EVERY_S = 0.25  # how often the lateness the pictures wait for is read again


class PicturePlayout:
    """One received video stream's schedule."""

    def __init__(self) -> None:
        self._transits = QueueDelay()
        self._last_due = float("-inf")
        self._delay_s: float | None = None
        self._delay_at = 0.0
        self._lateness: deque[tuple[float, float]] = deque()  # (arrived, beyond the fastest way) of each picture
        self._late_s = 0.0
        self._late_at = float("-inf")

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
        sound_s = max(0.0, delay_s)
        wait_s = max(sound_s, min(sound_s + MOST_LAG_S, self._late(now, transit - way)))
        due = taken_s + way + self._smoothed(min(wait_s, MOST_DELAY_S), now)
        self._last_due = max(due, now, self._last_due)
        return self._last_due

    def _late(self, now: float, lateness_s: float) -> float:
        """How late the pictures came, all but the latest LATE_SHARE of the last LATE_WINDOW_S."""
        self._lateness.append((now, lateness_s))
        while self._lateness[0][0] < now - LATE_WINDOW_S:
            self._lateness.popleft()
        if now - self._late_at >= LATENESS_EVERY_S:
            ordered = sorted(late for _, late in self._lateness)
            self._late_s = ordered[int(len(ordered) * (1 - LATE_SHARE))]
            self._late_at = now
        return self._late_s

    def _smoothed(self, delay_s: float, now: float) -> float:
        if self._delay_s is None:
            self._delay_s = delay_s
        else:
            weight = min(1.0, (now - self._delay_at) / DELAY_SMOOTHING_S)
            self._delay_s += weight * (delay_s - self._delay_s)
        self._delay_at = now
        return self._delay_s
