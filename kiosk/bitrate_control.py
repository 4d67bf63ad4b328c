"""How much video the link can carry now, from what Janus reports of our stream (RTCP receiver reports, about once
a second): the share of packets lost and the round trip. aiortc has no congestion control of its own; it only
obeys a cap (REMB), which Janus sends only when a room has one.

The rules are those of WebRTC's loss-based control (GCC), with the round trip standing in for its delay-based
part, which needs feedback Janus does not send to aiortc: more than 10 % lost, down by half the share lost;
less than 2 % lost and no queue building, up 8 % a report (never past twice what was really sent, as a still
picture sends little); in between, hold. The share lost is smoothed over a few reports: a link that drops out
for a moment every few seconds loses a fifth of one second's packets, which is no reason to send less for the
seconds after it. A round trip (the median of the last five reports) more than QUEUE_S over the least such median
of the last minute means a queue is filling at a bottleneck before anything is lost: down to 85 % of what was
sent. A jittery link makes each report wander by as much as a queue would, so half the spread of the last five
is added to QUEUE_S: a queue raises the round trip steadily, jitter only scatters it. Janus reports about once a
second; when none came for CUT_S the link was cut, and the first report after it counts every packet of the cut as
lost at once: that says nothing of what the link carries, so its share lost is left out (it took a third off the
bitrate after every cut, and the frame rate with it).

Where Janus's transport-wide feedback comes (every 200 ms; `kiosk.send_queue`), it replaces the round trip: it
tells how long our packets queue on the way now, a second sooner and without the round trip's jitter. Once they
queue more than QUEUE_CUT_S (or every packet of the latest feedback alone more than QUEUE_FULL_S: a queue that
filled at once), the bitrate goes down at once to below what arrives (the queue then drains), as
WebRTC's delay-based control does; it rises again only once the queue is gone. On a link with a short queue (100
ms), waiting for loss meant waiting for the queue to overflow: loss of video, and the voice 100 ms later.

What arrived when the link was last full is what it carries (`FullLink`, `link_bps`): a rise goes at once to
HOLD_BELOW of it at most (the codec overshoots its target by up to 15 %), and past that by WIDEN_PER_S of it for
each second since, as WebRTC rises slowly near a link's known capacity. Rising 8 % a second in the codec's steps
of a fifth or more went a third past a full link at once, and its 100 ms queue overflowed before the feedback could
tell. On a link that stays as it was, the slow rise finds it full again within FORGET_AFTER_S, and that is known
afresh; a link not found full for that long has widened, and the rise is 8 % a report again. Only the time spent
sending most of what the link carries counts (`FullLink.tried`): a picture that needs less tries nothing, and the link
was forgotten all the same; the codec's next complex scene then rose 8 % a second into a full link, its 100 ms
queue overflowed, and the feedback that would have told was lost on a downlink the others' video filled.
"""

from __future__ import annotations

import statistics
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from kiosk.send_queue import QueueReading
from kiosk.video_encoder import LEAST_BPS, MOST_BPS, START_BPS

LOSS_DOWN = 0.10
LOSS_UP = 0.02
UP_BY = 1.08
QUEUE_S = 0.05
BASE_RTT_WINDOW_S = 60.0
LOSS_SMOOTHING = 0.3  # each report's weight in the smoothed share lost (about three reports' memory)
RTT_REPORTS = 5
CUT_S = 2.5  # no new report from Janus for this long: the link was cut
QUEUE_CUT_S = 0.03  # our packets queue this long: the link is full
QUEUE_FULL_S = 0.06  # every packet of one feedback queued this long: full now (80 ± 40 ms of jitter: 1 in 10^5)
QUEUE_CLEAR_S = 0.01  # less than this: the queue is gone, and the bitrate may rise
CUT_EVERY_S = 0.5  # a cut shows in the queue a round trip and a feedback later: no second cut before that
DRAIN = 0.85  # of what arrives, when the link is full: below it, so that the queue empties
FEEDBACK_LIVE_S = 2.0  # the latest feedback is this recent: the queue comes from it, not from the round trip
HOLD_BELOW = 0.9  # of what a full link carried, the most a rise goes to at once: the codec overshoots by up to 15 %
WIDEN_PER_S = 0.01  # of what a full link carried: how much further a rise may go for each second since
TRIED = 0.8  # of what the link carries: sending this much tries it (a codec undershoots its target by up to 15 %)
FORGET_AFTER_S = 20.0  # a link not found full for this long is no longer known: it may have widened


@dataclass(frozen=True)
class FullLink:
    """A link was full: at this moment, this much of the video arrived over it."""

    at: float
    arrived_bps: float

    def carries(self, now: float) -> float | None:
        """The most to send over the link now: a little below what arrived then, and a little more for each
        second since (a link may widen); None once that is too long ago to know."""
        since = now - self.at
        return None if since > FORGET_AFTER_S else self.arrived_bps * (HOLD_BELOW + WIDEN_PER_S * since)

    def tried(self, sent_bps: float, for_s: float, now: float) -> FullLink:
        """After `for_s` up to `now` of sending `sent_bps`: well below what the link carries, it was not tried and
        nothing is learnt of its widening, so that time does not count."""
        most = self.carries(now)
        if most is None or sent_bps >= TRIED * most:
            return self
        return FullLink(self.at + min(for_s, now - self.at), self.arrived_bps)


def risen(bps: float, full: FullLink | None, now: float) -> float:
    """Up 8 %, but never past what the link carries once it has been full (a bitrate already past it stays)."""
    up = bps * UP_BY
    most = None if full is None else full.carries(now)
    return up if most is None else max(bps, min(up, most))


class BitrateControl:
    def __init__(self, start_bps: float = START_BPS, clock: Callable[[], float] = time.monotonic) -> None:
        self.target_bps = float(start_bps)
        self._clock = clock
        self._latest_rtts: deque[float] = deque(maxlen=RTT_REPORTS)
        self._rtts: deque[tuple[float, float]] = deque()  # (when, median round trip) of the last minute
        self._last_report: tuple[float, float] | None = None
        self._last_report_at: float | None = None
        self.lost = 0.0  # the smoothed share lost
        self._queue: tuple[float, float] | None = None  # (when, seconds) of the latest feedback's queue
        self._cut_at = -CUT_EVERY_S
        self._full: FullLink | None = None

    def link_bps(self) -> float | None:
        """The most of our video the link carries now, as far as is known; None while that is not known."""
        return None if self._full is None else self._full.carries(self._clock())

    def _rise(self, now: float, sent: float) -> None:
        """Never past twice what was really sent: a still picture sends little."""
        self.target_bps = min(risen(self.target_bps, self._full, now), max(2 * sent, START_BPS))

    def _queue_building(self, now: float, rtt_s: float | None) -> bool:
        if rtt_s is None:
            return False
        self._latest_rtts.append(rtt_s)
        median = statistics.median(self._latest_rtts)
        self._rtts.append((now, median))
        while self._rtts and now - self._rtts[0][0] > BASE_RTT_WINDOW_S:
            self._rtts.popleft()
        scatter = (max(self._latest_rtts) - min(self._latest_rtts)) / 2
        return median - min(rtt for _, rtt in self._rtts) > QUEUE_S + scatter

    def report(self, fraction_lost: float, rtt_s: float | None, sent_bps: float) -> float:
        """One second's report: the share lost (0 to 1) and round trip Janus last reported, and the video
        bitrate really sent over the second. Returns the new target. A report the same as the one before (Janus
        has not sent a new one) moves nothing."""
        now = self._clock()
        if (fraction_lost, rtt_s or 0.0) == self._last_report:
            return self.target_bps
        self._last_report = (fraction_lost, rtt_s or 0.0)
        since_last = None if self._last_report_at is None else now - self._last_report_at
        after_cut = since_last is not None and since_last > CUT_S
        self._last_report_at = now
        if not after_cut:
            self.lost += LOSS_SMOOTHING * (fraction_lost - self.lost)
        queued = self._queue_building(now, rtt_s)
        sent = sent_bps if sent_bps > 0 else self.target_bps
        if self._full is not None and since_last is not None:
            self._full = self._full.tried(sent, since_last, now)
        fed_back = self._queue is not None and now - self._queue[0] < FEEDBACK_LIVE_S
        queue_s = self._queue[1] if self._queue is not None else 0.0
        if self.lost > LOSS_DOWN:
            self.target_bps = min(self.target_bps, sent) * (1 - self.lost / 2)
        elif fed_back:
            if queue_s < QUEUE_CLEAR_S and self.lost < LOSS_UP:
                self._rise(now, sent)
        elif queued:
            self.target_bps = min(self.target_bps, 0.85 * sent)
        elif self.lost < LOSS_UP:
            self._rise(now, sent)
        self.target_bps = max(LEAST_BPS, min(self.target_bps, MOST_BPS))
        return self.target_bps

    def queue(self, reading: QueueReading) -> float:
        """One feedback's reading of the queue on the way to Janus. Returns the new target."""
        now = self._clock()
        self._queue = (now, reading.queue_s)
        full = reading.queue_s > QUEUE_CUT_S or reading.latest_s > QUEUE_FULL_S
        if full and now - self._cut_at >= CUT_EVERY_S:
            # Not below half at once: what arrived over the last second dips while a keyframe holds the pacer.
            self.target_bps = max(LEAST_BPS, self.target_bps / 2, min(self.target_bps, DRAIN * reading.arrived_bps))
            self._cut_at = now
            self._full = FullLink(now, reading.arrived_bps)
        return self.target_bps
