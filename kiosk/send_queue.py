"""How long our video waits in a queue on the way to Janus now, and how much of it arrives, from Janus's
transport-wide feedback (`kiosk.transport_cc`).

Each packet's one-way delay is its arrival on Janus's clock less its departure on ours: the clocks' offset is
unknown but fixed, so the least delay of the last BASE_WINDOW_S is the way with no queue, and what a packet took
beyond it is queueing. A queue raises the delay of every packet while it lasts; jitter scatters single packets.
So the queue now is what the least delayed packet of the last RECENT_S waited: on a link with 80 ms ± 40 ms of
jitter, one of the 15-30 packets sent in it comes close to the base, while a queue of 30 ms holds them all back.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from kiosk.transport_cc import Delivery

BASE_WINDOW_S = 10.0  # longer than any queue this terminal lets stand, shorter than a route change is worth
ACKED_WINDOW_S = 1.0
RECENT_S = 0.4  # two feedbacks: one alone (8 packets at 300 kbps) read 37 ms of that jitter as a queue


@dataclass(frozen=True)
class QueueReading:
    queue_s: float  # how long our packets waited in a queue: the least of those sent in the last RECENT_S
    arrived_bps: float  # what arrived of our numbered packets over the last ACKED_WINDOW_S, on Janus's clock
    lost: int  # of the latest feedback's packets


class SendQueue:
    def __init__(self) -> None:
        self._delays: deque[tuple[float, float]] = deque()  # (sent at, one-way delay) of the last BASE_WINDOW_S
        self._arrived: deque[tuple[float, int]] = deque()  # (arrived at, size) of the last ACKED_WINDOW_S

    def take(self, deliveries: list[Delivery]) -> QueueReading | None:
        """One feedback's deliveries; None when none of them arrived (a cut says nothing of a queue)."""
        arrived = [d for d in deliveries if d.arrived_at is not None]
        if not arrived:
            return None
        latest_sent = max(d.sent_at for d in arrived)
        for delivery in arrived:
            assert delivery.arrived_at is not None
            self._delays.append((delivery.sent_at, delivery.arrived_at - delivery.sent_at))
            self._arrived.append((delivery.arrived_at, delivery.size))
        while self._delays and self._delays[0][0] < latest_sent - BASE_WINDOW_S:
            self._delays.popleft()
        latest_arrival = max(at for at, _ in self._arrived)
        while self._arrived and self._arrived[0][0] < latest_arrival - ACKED_WINDOW_S:
            self._arrived.popleft()
        base = min(delay for _, delay in self._delays)
        least_now = min(delay for sent_at, delay in self._delays if sent_at >= latest_sent - RECENT_S)
        span = max(latest_arrival - self._arrived[0][0], ACKED_WINDOW_S / 2)
        arrived_bps = 8 * sum(size for _, size in self._arrived) / span
        return QueueReading(least_now - base, arrived_bps, len(deliveries) - len(arrived))
