"""How long our video waits in a queue on the way to Janus now, and how much of it arrives, from Janus's
transport-wide feedback (`kiosk.transport_cc`).

The queue now is read as `kiosk.queue_delay` reads it: each packet's delay is its arrival on Janus's clock less
its departure on ours. That reading takes the least of two feedbacks, so that jitter is not read as a queue, and
it lags a feedback behind a queue that fills at once; so each feedback's own least is read too. When every packet
of one feedback waited long, the queue is near full now, whatever jitter does: on a 500 kbps link with a 100 ms
queue, the two-feedback reading said 21 and 28 ms while the queue overflowed for 450 ms.

What arrives is counted over the feedbacks of the last second. A feedback lost on the way (a full link toward the
terminal drops them too) leaves its packets uncounted: what arrived would read low by as much, and the bitrate cut
to it stayed low for half a minute. So a feedback that does not take up where the last one left off starts the
count afresh.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from kiosk.queue_delay import QueueDelay
from kiosk.transport_cc import Delivery

ACKED_WINDOW_S = 1.0
LEAST_SPAN_S = 0.15  # what arrived is counted over at least this long (a feedback's worth is 200 ms)


@dataclass(frozen=True)
class QueueReading:
    queue_s: float  # how long our packets waited in a queue: the least of those sent in the last RECENT_S
    latest_s: float  # the same, of this feedback's packets alone
    arrived_bps: float  # what arrived of our numbered packets over the last ACKED_WINDOW_S, on Janus's clock
    lost: int  # of the latest feedback's packets


class SendQueue:
    def __init__(self) -> None:
        self._delays = QueueDelay()
        self._arrived: deque[tuple[float, int]] = deque()  # (arrived at, size) of the last ACKED_WINDOW_S
        self._next_number: int | None = None  # where the next feedback should take up

    def take(self, deliveries: list[Delivery]) -> QueueReading | None:
        """One feedback's deliveries; None when none of them arrived (a cut says nothing of a queue)."""
        if deliveries:
            if deliveries[0].number != self._next_number:
                self._arrived.clear()
            self._next_number = (deliveries[-1].number + 1) % 65536
        arrived = [d for d in deliveries if d.arrived_at is not None]
        if not arrived:
            return None
        latest_sent = max(d.sent_at for d in arrived)
        for delivery in arrived:
            assert delivery.arrived_at is not None
            self._delays.add(delivery.sent_at, delivery.arrived_at - delivery.sent_at)
            self._arrived.append((delivery.arrived_at, delivery.size))
        latest_arrival = max(at for at, _ in self._arrived)
        while self._arrived and self._arrived[0][0] < latest_arrival - ACKED_WINDOW_S:
            self._arrived.popleft()
        queue_s = self._delays.queue_s(latest_sent) or 0.0  # never None: the latest sent is among them
        base = self._delays.least() or 0.0  # never None either
        latest_s = min(d.arrived_at - d.sent_at for d in arrived if d.arrived_at is not None) - base
        span = max(latest_arrival - self._arrived[0][0], LEAST_SPAN_S)
        arrived_bps = 8 * sum(size for _, size in self._arrived) / span
        return QueueReading(queue_s, latest_s, arrived_bps, len(deliveries) - len(arrived))
