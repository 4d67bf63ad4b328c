"""How long the video queues on the way to Janus, read from the feedback: a queue holds back every packet, jitter
only some; and how much arrives."""

from __future__ import annotations

import random

import pytest

from kiosk.send_queue import SendQueue
from kiosk.transport_cc import Delivery

OFFSET = 5000.0  # Janus's clock against ours: unknown, and no matter


def _feedback(start: float, delays: list[float | None], size: int = 1000) -> list[Delivery]:
    """A packet every 10 ms from `start`, each arriving after its delay (None: lost)."""
    return [
        Delivery(
            start + n * 0.01,
            None if delay is None else OFFSET + start + n * 0.01 + delay,
            size,
            round(start / 0.01) + n,
        )
        for n, delay in enumerate(delays)
    ]


def test_a_queue_that_holds_back_every_packet_is_read_and_what_arrives_with_it():
    queue = SendQueue()
    readings = [queue.take(_feedback(second * 0.2, [0.02] * 20)) for second in range(10)]  # 800 kbps, no queue
    assert readings[-1].queue_s == pytest.approx(0.0)
    assert readings[-1].arrived_bps == pytest.approx(800_000, rel=0.06)
    queued = [queue.take(_feedback(start, [0.08 + n * 0.002 for n in range(20)])) for start in (2.0, 2.2)]
    assert queued[0].queue_s == pytest.approx(0.0), "the packets just before it did not queue: not yet"
    assert queued[0].latest_s == pytest.approx(0.06), "but every packet of this feedback waited 60 ms or more"
    assert queued[1].queue_s == pytest.approx(0.06), "a queue of 60 ms and growing, a feedback later"


def test_jitter_that_scatters_single_packets_is_not_a_queue():
    rng = random.Random(3)
    queue = SendQueue()
    readings = [queue.take(_feedback(n * 0.2, [0.08 + rng.uniform(-0.04, 0.04) for _ in range(8)])) for n in range(50)]
    assert max(r.queue_s for r in readings[10:]) < 0.03, "80 ms ± 40 ms each packet: a few of each feedback come early"
    assert max(r.latest_s for r in readings[10:]) < 0.06, "and one of each feedback comes early enough"


def test_a_feedback_in_which_nothing_arrived_says_nothing_of_a_queue():
    queue = SendQueue()
    queue.take(_feedback(0.0, [0.02] * 5))
    assert queue.take(_feedback(0.2, [None] * 5)) is None
    assert queue.take(_feedback(0.4, [0.02, None, 0.02])).lost == 1


def test_a_feedback_lost_on_the_way_does_not_make_what_arrived_read_low():
    queue = SendQueue()
    for second in range(5):
        queue.take(_feedback(second * 0.2, [0.02] * 20))  # 800 kbps
    reading = queue.take(_feedback(1.4, [0.02] * 20))  # the feedback of 1.0 to 1.2 never came
    assert reading is not None and reading.arrived_bps == pytest.approx(800_000, rel=0.1)
