"""How well a visit's call goes, as a person notices it and as a facility credits it: per direction, the pictures per
second, the freezes (no new picture for longer than 0.2 s), the packets lost on the way, the round-trip time and
the jitter, over the whole visit and across every rebuilt connection; and, over the last three seconds, the word the
in-visit chip shows (good, weak, poor).

Loss is counted where packets arrive, before retransmissions fill the gaps: it is what the link did, whatever the
repair made of it. The terminal's own streams are judged by what Janus reports of them (RTCP receiver reports).
"""

from __future__ import annotations

import enum
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from kiosk.protocol import DirectionQuality, VisitQuality
from kiosk.queue_delay import ArrivalQueue

FREEZE_S = 0.2  # no new picture for longer than this is a freeze a person sees
WINDOW_S = 3.0  # the chip's view: the last three seconds
GOOD_FPS, WEAK_FPS = 20.0, 10.0  # the worst visitor's pictures per second
WEAK_LOSS, POOR_LOSS = 0.03, 0.10  # the share of packets lost on the way
WEAK_RTT_S, POOR_RTT_S = 0.3, 0.8
REORDERED_S = 0.1  # a jittery link displaces a packet by tens of ms; a resend comes a round trip through a queue later
OUTAGE_S = 0.25  # a video stream silent this long was cut off (8 frames at 30 fps)
MOST_GAP_TRACKED = 256  # packets: a longer jump is an outage, whose packets will not come late
Clock = Callable[[], float]


class Quality(enum.Enum):
    GOOD = "good"
    WEAK = "weak"
    POOR = "poor"


def rate(fps: float | None, loss: float, rtt_s: float | None) -> Quality:
    """The chip's word: the worst of the three figures decides."""
    if (fps is not None and fps < WEAK_FPS) or loss >= POOR_LOSS or (rtt_s is not None and rtt_s >= POOR_RTT_S):
        return Quality.POOR
    if (fps is not None and fps < GOOD_FPS) or loss >= WEAK_LOSS or (rtt_s is not None and rtt_s >= WEAK_RTT_S):
        return Quality.WEAK
    return Quality.GOOD


def _trim(recent: deque[tuple[float, int, int]], now: float) -> None:
    while recent and now - recent[0][0] > WINDOW_S:
        recent.popleft()


@dataclass
class FrameTimes:
    """One stream's pictures as they leave the decoder (or, sent, as they go to the encoder)."""

    clock: Clock = time.monotonic
    count: int = 0
    freezes: int = 0
    frozen_s: float = 0.0
    first: float | None = None
    last: float | None = None
    recent: deque[tuple[float, int, int]] = field(default_factory=deque)

    def frame(self) -> None:
        now = self.clock()
        if self.last is not None and now - self.last > FREEZE_S:
            self.freezes += 1
            self.frozen_s += now - self.last
        self.first = now if self.first is None else self.first
        self.last = now
        self.count += 1
        self.recent.append((now, 1, 0))
        _trim(self.recent, now)

    def fps_now(self) -> float:
        _trim(self.recent, self.clock())
        return len(self.recent) / WINDOW_S

    def fps(self) -> float:
        if self.first is None or self.last is None or self.last <= self.first:
            return 0.0
        return (self.count - 1) / (self.last - self.first)


class ArrivalLoss:
    """One stream's packets as they arrive: a jump in sequence numbers is that many lost on the way. A missing packet
    that comes within REORDERED_S after all was only reordered by a jittery link, and is counted as `reordered`: what
    the link lost is `missing - reordered`. One that comes later was resent after a NACK: the link did lose it.
    The packets missing when a stream comes back after OUTAGE_S of silence went in a cut, counted apart
    (`in_outages`): a cut link is no sign of a thin one. And how long its packets queue on the way now (`queue`)."""

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self._highest: int | None = None
        self.arrived = 0
        self.missing = 0
        self.reordered = 0
        self.in_outages = 0
        self._last_at: float | None = None
        self.payload_bytes = 0  # every packet's, repeats and retransmissions too: what the link carried
        self._recent: deque[tuple[float, int, int]] = deque()
        self._gaps: dict[int, float] = {}  # sequence numbers found missing, and when
        self.queue = ArrivalQueue(clock)

    def saw(self, sequence_number: int, payload_bytes: int = 0, timestamp: int | None = None) -> None:
        self.payload_bytes += payload_bytes
        if timestamp is not None:
            self.queue.saw(timestamp)
        now = self._clock()
        ahead = 1 if self._highest is None else (sequence_number - self._highest) % 65536
        if ahead == 0:
            return  # a repeat
        if ahead >= 32768:  # a late one
            missed_at = self._gaps.pop(sequence_number, None)
            if missed_at is not None and now - missed_at < REORDERED_S:
                self.reordered += 1
            return
        silent, self._last_at = self._last_at is not None and now - self._last_at > OUTAGE_S, now
        if silent:
            self.in_outages += ahead - 1
        else:
            for behind in range(1, min(ahead, MOST_GAP_TRACKED)):
                self._gaps[(sequence_number - behind) % 65536] = now
        for old in [n for n, when in self._gaps.items() if now - when > WINDOW_S]:
            del self._gaps[old]
        self._highest = sequence_number
        self.arrived += 1
        self.missing += ahead - 1
        self._recent.append((now, 1, ahead - 1))
        _trim(self._recent, now)

    def recent(self) -> tuple[int, int]:
        """(arrived, missing) over the last WINDOW_S."""
        _trim(self._recent, self._clock())
        return sum(r[1] for r in self._recent), sum(r[2] for r in self._recent)


def _share(arrived: int, missing: int) -> float:
    return missing / (arrived + missing) if arrived + missing else 0.0


class CallQuality:
    """Everything measured in one visit's call, across rebuilt connections."""

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self._pictures: dict[str, FrameTimes] = {}  # by participant's name: it outlives a rebuild, a feed id does not
        self._arrivals: list[ArrivalLoss] = []
        self.sent = FrameTimes(clock)
        self._rtt: list[float] = []
        self._rtt_now: float | None = None
        self._jitter: list[float] = []
        self._sent_lost: dict[object, tuple[int, int]] = {}  # per publishing connection: (lost, sent) so far
        self._sent_loss_now = 0.0

    def pictures_of(self, who: str) -> FrameTimes:
        return self._pictures.setdefault(who, FrameTimes(self._clock))

    def new_arrivals(self) -> ArrivalLoss:
        """A counter for a stream received from now on (each subscription numbers its packets afresh)."""
        counter = ArrivalLoss(self._clock)
        self._arrivals.append(counter)
        return counter

    def video_arrivals(self) -> tuple[int, int, int]:
        """(arrived, lost, payload bytes) of every video stream received in the call so far, where a packet only
        reordered by a jittery link, or missing after a cut, is not lost: what central's cap on the senders needs
        to know of a link too thin for them."""
        return (
            sum(a.arrived + a.reordered for a in self._arrivals),
            sum(a.missing - a.reordered - a.in_outages for a in self._arrivals),
            sum(a.payload_bytes for a in self._arrivals),
        )

    def video_queue_s(self) -> float | None:
        """How long the video received queues on the way now, the longest of its streams; None: none arrives."""
        queues = [q for q in (a.queue.now_s() for a in self._arrivals) if q is not None]
        return max(queues, default=None)

    def janus_report(self, connection: object, rtt_s: float | None, lost: int, sent: int, share_lost: float) -> None:
        """What Janus's latest receiver report says of one of the terminal's streams."""
        if rtt_s is not None:
            self._rtt.append(rtt_s)
            self._rtt_now = rtt_s
        self._sent_lost[connection] = (max(0, lost), sent)
        self._sent_loss_now = share_lost

    def jitter(self, seconds: float) -> None:
        self._jitter.append(seconds)

    def now(self) -> Quality:
        """The chip's word for the last WINDOW_S (the worst visitor's pictures, the worse loss of either way)."""
        rates = [p.fps_now() for p in self._pictures.values()]
        recent = [a.recent() for a in self._arrivals]
        loss_in = _share(sum(r[0] for r in recent), sum(r[1] for r in recent))
        return rate(min(rates) if rates else None, max(loss_in, self._sent_loss_now), self._rtt_now)

    def report(self, reconnects: int, outages: int) -> VisitQuality:
        rtt_ms = round(1000 * sum(self._rtt) / len(self._rtt)) if self._rtt else None
        pictures = list(self._pictures.values())
        lost, sent = sum(v[0] for v in self._sent_lost.values()), sum(v[1] for v in self._sent_lost.values())
        received = DirectionQuality(
            fps=round(min(p.fps() for p in pictures), 1) if pictures else None,
            freezes=max((p.freezes for p in pictures), default=0),
            frozen_s=round(max((p.frozen_s for p in pictures), default=0.0), 2),
            packet_loss_pct=round(
                100 * _share(sum(a.arrived for a in self._arrivals), sum(a.missing for a in self._arrivals)), 2
            ),
            rtt_ms=rtt_ms,
            jitter_ms=round(1000 * sum(self._jitter) / len(self._jitter), 1) if self._jitter else None,
        )
        sent_direction = DirectionQuality(
            fps=round(self.sent.fps(), 1) if self.sent.count else None,
            freezes=self.sent.freezes,
            frozen_s=round(self.sent.frozen_s, 2),
            packet_loss_pct=round(100 * _share(sent - lost, lost), 2) if sent else 0.0,
            rtt_ms=rtt_ms,
        )
        return VisitQuality(received=received, sent=sent_direction, reconnects=reconnects, outages=outages)
