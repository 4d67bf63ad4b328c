"""How much video each participant of a visit should send, from what every participant reports it received.

Janus forwards each sender's video as it came and answers the sender's link alone (its receiver reports, and REMB
only for a room's fixed cap); it ignores what a subscriber's browser estimates. A visitor on a thin mobile link,
or a terminal on a thin facility link, would then receive more than its link carries: a queue, tail drops, and a
picture that freezes while its sender sees nothing wrong. So each participant tells central what it received
(`Reception`), central keeps an estimate per receiver, and every participant's answer carries the lowest: the most
each sender should send, per feed, for the thinnest link to carry them all.

Each receiver's estimate follows WebRTC's loss-based rules (`kiosk.bitrate_control`'s), on what arrived rather than
what was sent, and on the share lost smoothed over a few reports (a link that drops out for a moment is no reason to
send less): more than 10 % lost means the link carries about what arrived, so the estimate drops below it (the
queue then drains); less than 2 % lost, it rises 8 % a report, but near what arrived when the link was last full
only by a hundredth of it a second of sending that much, until that is too long ago to know
(`kiosk.bitrate_control.FullLink`: rising 8 % a second, the cap lifted altogether in 12 s, and the link overflowed
again; and seconds in which less arrived tried nothing, so they do not count); past the most an encoder sends it
is no cap at all; in between, it holds. Random loss on a link with room to spare (a few per cent) moves nothing.
After a cut the smoothed share starts again from the threshold: the loss that made the cut must not make the next
ones too, while the senders are still coming down. What arrives over a full link counts the resends its losses
bring, so below it alone may be no cut at all (a mobile visitor's 1 Mbps link lost a fifth of its packets for 20 s
under a cap of 749 kbps, 6 % below the 800 its sender's codec kept): a cut is a sixth of what was held at least,
and a loss that goes on once the last cut has had time to show cuts again by half the share lost, as a sender's own
control does.

A receiver's link fills its queue before it overflows: where the receiver says how long its video queues on the way
now (`Reception.queue_ms`; the terminal's does), more than QUEUE_FULL_MS is a full link too, and the estimate
drops below what arrived at once, a second or more before loss would show. That is more than a sender's own control
lets its uplink queue (`kiosk.bitrate_control`'s 30 ms): a queue on the sender's side, which every receiver sees as
well, is for the sender's own control to drain.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from kiosk.bitrate_control import DRAIN, LOSS_DOWN, LOSS_SMOOTHING, LOSS_UP, QUEUE_CUT_S, FullLink, risen
from kiosk.protocol import Reception
from kiosk.video_encoder import LEAST_BPS, MOST_BPS

STALE_S = 10.0  # a receiver not heard for this long (it left, or lost its link) no longer holds the others down
QUEUE_FULL_MS = 50  # the video queues this long on the way to a receiver: its link is full
QUEUE_CLEAR_MS = 1000 * QUEUE_CUT_S  # below this, it may rise again
QUEUE_CUT_EVERY_S = 2.0  # a cut reaches the senders' codecs a report and a codec's change later
CUT_SETTLES_S = 3.0  # and shows in what a receiver loses a report after that
LEAST_CUT = 0.15  # a cut smaller than `kiosk.video_encoder.REBUILD_DOWN_FOR` leaves a sender's codec as it was


@dataclass
class ReceiverEstimate:
    """What one receiver's link carries of each feed, in bits a second; None while it carries all there is."""

    per_feed_bps: float | None = None
    lost: float = 0.0  # the share lost, smoothed over a few reports
    heard_at: float = 0.0
    full: FullLink | None = None  # per feed
    cut_at: float | None = None

    def report(self, reception: Reception, now: float) -> None:
        since_last, self.heard_at = now - self.heard_at, now
        if reception.feeds == 0:
            return
        self.lost += LOSS_SMOOTHING * (reception.lost - self.lost)
        arrived = 1000 * reception.video_kbps / reception.feeds
        if self.full is not None:
            self.full = self.full.tried(arrived, since_last, now)
        queue_ms = reception.queue_ms or 0
        queue_full = queue_ms > QUEUE_FULL_MS and (self.cut_at is None or now - self.cut_at >= QUEUE_CUT_EVERY_S)
        if self.lost > LOSS_DOWN or queue_full:
            held = MOST_BPS if self.per_feed_bps is None else self.per_feed_bps
            cut = min(held, DRAIN * arrived)
            if self.cut_at is None or now - self.cut_at >= CUT_SETTLES_S:
                cut = min(cut, held * (1 - max(LEAST_CUT, self.lost / 2)))
            if cut < held:
                self.cut_at = now
            self.per_feed_bps = max(LEAST_BPS, cut)
            self.lost = min(self.lost, LOSS_DOWN)
            self.full = FullLink(now, arrived)
        elif self.lost < LOSS_UP and queue_ms < QUEUE_CLEAR_MS and self.per_feed_bps is not None:
            raised = risen(self.per_feed_bps, self.full, now)
            self.per_feed_bps = None if raised >= MOST_BPS else raised


class VideoCaps:
    """Every open visit's receivers; safe to call from central's request threads."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._rooms: dict[int, dict[str, ReceiverEstimate]] = {}  # by visit, then by receiver
        self._lock = threading.Lock()

    def report(self, visit_id: int, receiver: str, reception: Reception) -> int | None:
        """Takes one receiver's report; returns the cap for every sender of the visit, in kbps (None: no cap)."""
        now = self._clock()
        with self._lock:
            receivers = self._rooms.setdefault(visit_id, {})
            receivers.setdefault(receiver, ReceiverEstimate()).report(reception, now)
            for name in [n for n, r in receivers.items() if now - r.heard_at > STALE_S]:
                del receivers[name]
            caps = [r.per_feed_bps for r in receivers.values() if r.per_feed_bps is not None]
        return round(min(caps) / 1000) if caps else None

    def forget(self, visit_id: int) -> None:
        """The visit ended."""
        with self._lock:
            self._rooms.pop(visit_id, None)
