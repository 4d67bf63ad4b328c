"""The video's bitrate follows what Janus reports of our stream: down on heavy loss or a queue building, up while
the link is clean, never past what the picture really needs, and unmoved by a report it has seen already or by the
packets of a cut."""

from __future__ import annotations

import pytest

from kiosk.bitrate_control import BitrateControl
from kiosk.send_queue import QueueReading
from tests.manual_clock import ManualClock


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 1.0  # a report a second
        return self.now


def test_heavy_loss_brings_the_bitrate_down_by_half_the_share_lost_of_what_was_sent():
    control = BitrateControl(500_000, clock=Clock())
    assert control.report(0.0, 0.02, 480_000) == pytest.approx(540_000)
    targets = [control.report(lost, 0.02, 480_000) for lost in (0.3, 0.31, 0.3, 0.31)]
    assert targets[0] == 540_000, "one bad report is a moment, not yet the link"
    assert targets[-1] < 480_000 * 0.95 and targets == sorted(targets, reverse=True)


def test_a_link_that_drops_out_a_moment_every_few_seconds_keeps_its_bitrate():
    control = BitrateControl(500_000, clock=Clock())
    reports = [0.2 if n % 5 == 4 else 0.0 for n in range(30)]  # 200 ms out every 5 s: a fifth of one report
    targets = [control.report(lost, 0.02 + n / 1e4, 500_000) for n, lost in enumerate(reports)]
    assert min(targets) >= 500_000


def test_some_loss_holds_the_bitrate_where_it_is():
    control = BitrateControl(500_000, clock=Clock())
    settled = [control.report(0.05, 0.02 + n / 1e4, 500_000) for n in range(3)][-1]
    for n, lost in enumerate((0.03, 0.05, 0.08, 0.04)):
        assert control.report(lost, 0.03 + n / 1e4, 500_000) == settled


def test_a_round_trip_grown_by_a_queue_brings_it_down_before_anything_is_lost():
    control = BitrateControl(500_000, clock=Clock())
    for n in range(5):
        control.report(0.0, 0.020 + n / 1e4, 500_000)
    targets = [control.report(0.0, 0.120 + n / 1e4, 500_000) for n in range(3)]
    assert targets[-1] == pytest.approx(425_000), "100 ms more, report after report: a queue at a bottleneck"


def test_a_round_trip_that_wanders_on_a_jittery_link_is_not_a_queue():
    control = BitrateControl(300_000, clock=Clock())
    wandering = [0.16, 0.09, 0.24, 0.12, 0.2, 0.1, 0.23, 0.15, 0.08, 0.22] * 3  # 80 ms ± 40 ms each way
    targets = [control.report(0.0, rtt + n / 1e5, 300_000) for n, rtt in enumerate(wandering)]
    assert targets == sorted(targets) and targets[-1] == 600_000, "it climbs as on any clean link"


def test_a_clean_link_lets_it_climb_but_never_past_twice_what_the_picture_really_sent():
    control = BitrateControl(500_000, clock=Clock())
    targets = [control.report(0.0, 0.02 + n / 1e4, 300_000) for n in range(20)]  # each report a new one
    assert targets[0] == pytest.approx(540_000) and max(targets) == pytest.approx(600_000)


def test_the_same_report_again_moves_nothing():
    control = BitrateControl(500_000, clock=Clock())
    assert control.report(0.5, 0.02, 500_000) == pytest.approx(500_000 * (1 - 0.15 / 2))
    assert control.report(0.5, 0.02, 500_000) == pytest.approx(500_000 * (1 - 0.15 / 2)), "no new report from Janus"


def test_the_packets_of_a_cut_do_not_bring_the_bitrate_down_but_loss_after_it_does():
    clock = ManualClock()
    control = BitrateControl(300_000, clock=clock)
    for n in range(5):
        clock.now += 1.0
        control.report(0.0, 0.02 + n / 1e4, 300_000)
    settled = control.target_bps
    for _ in range(5):  # the link is cut: Janus's reports do not come, the last one is seen again
        clock.now += 1.0
        assert control.report(0.0, 0.0204, 300_000) == settled
    clock.now += 1.0
    after_cut = [control.report(0.8, 0.021, 300_000)]  # the first report after the cut: its packets, all lost
    for n in range(3):
        clock.now += 1.0
        after_cut.append(control.report(0.0, 0.02 + n / 1e4, 300_000))
    assert min(after_cut) >= settled, "a cut is not a thin link: the picture keeps its bitrate"
    clock.now += 1.0
    control.report(0.8, 0.022, 300_000)
    clock.now += 1.0
    assert control.report(0.5, 0.023, 300_000) < settled, "heavy loss on a link that is not cut still counts"


def test_a_queue_janus_feedback_shows_brings_it_below_what_arrives_at_once_and_once_a_round_trip():
    clock = ManualClock()
    control = BitrateControl(500_000, clock=clock)
    clock.now = 0.2
    assert control.queue(QueueReading(0.005, 0.005, 480_000, 0)) == 500_000, "no queue: nothing to do"
    clock.now = 0.4
    assert control.queue(QueueReading(0.045, 0.045, 420_000, 0)) == pytest.approx(0.85 * 420_000), (
        "a queue: the link is full"
    )
    clock.now = 0.6
    assert control.queue(QueueReading(0.06, 0.06, 400_000, 0)) == pytest.approx(0.85 * 420_000), (
        "the cut has not shown yet"
    )
    clock.now = 1.0
    assert control.queue(QueueReading(0.05, 0.05, 380_000, 0)) == pytest.approx(0.85 * 380_000), "it still queues"


def test_a_queue_that_fills_at_once_is_cut_on_its_first_feedback():
    clock = ManualClock(0.2)
    control = BitrateControl(500_000, clock=clock)
    targets = []
    for latest_s in (0.04, 0.07):  # the least of the last two feedbacks: 20 ms; of the latest alone: 40, then 70
        targets.append(control.queue(QueueReading(0.02, latest_s, 450_000, 0)))
        clock.now += 0.2
    assert targets[0] == 500_000, "some of it queued a little: hold"
    assert targets[1] == pytest.approx(0.85 * 450_000), (
        "every packet of a feedback waited 70 ms: full, a feedback sooner"
    )


def test_with_feedback_it_rises_only_once_the_queue_is_gone_whatever_the_round_trip():
    clock = ManualClock()
    control = BitrateControl(300_000, clock=clock)
    clock.now = 1.0
    control.queue(QueueReading(0.02, 0.02, 300_000, 0))  # a small queue: hold
    assert control.report(0.0, 0.02, 300_000) == 300_000
    clock.now = 2.0
    control.queue(QueueReading(0.0, 0.0, 300_000, 0))
    assert control.report(0.0, 0.021, 300_000) == pytest.approx(324_000), "the queue is gone: up"
    for n in range(5):  # the round trip grows (the way back from Janus), the queue on the way there does not
        clock.now += 1.0
        control.queue(QueueReading(0.0, 0.0, 300_000, 0))
        control.report(0.0, 0.2 + n / 1e4, 300_000)
    assert control.target_bps > 324_000
    clock.now += 5.0  # the feedback stops (Janus no longer sends it): the round trip speaks again
    for n in range(5):
        clock.now += 1.0
        control.report(0.0, 0.35 + n / 1e4, 300_000)
    assert control.target_bps < 300_000


def test_a_dip_in_what_arrives_takes_at_most_half_at_once():
    clock = ManualClock()
    control = BitrateControl(480_000, clock=clock)
    clock.now = 1.0
    assert control.queue(QueueReading(0.04, 0.04, 150_000, 0)) == 240_000


def test_once_the_link_was_full_a_rise_stops_below_what_it_carried_then_creeps_past_it_until_forgotten():
    clock = ManualClock()
    control = BitrateControl(500_000, clock=clock)
    assert control.link_bps() is None, "a link never full: nothing known of it"
    clock.now = 1.0
    control.queue(QueueReading(0.05, 0.05, 400_000, 0))  # full while 400 kbps of our video arrived
    targets = []
    for n in range(20):
        clock.now += 1.0
        control.queue(QueueReading(0.0, 0.0, 400_000, 0))
        targets.append(control.report(0.0, 0.02 + n / 1e4, targets[-1] if targets else 360_000))
    assert targets[3] == pytest.approx(400_000 * (0.9 + 0.04)), "at once up to 90 % of it, then a hundredth a second"
    assert targets[-1] == pytest.approx(400_000 * (0.9 + 0.2))
    assert control.link_bps() == pytest.approx(400_000 * 1.1)
    clock.now += 1.0
    assert control.link_bps() is None, "sent what it carried for 21 s and not found full: the link has widened"
    control.queue(QueueReading(0.0, 0.0, 440_000, 0))
    assert control.report(0.0, 0.03, 440_000) == pytest.approx(targets[-1] * 1.08), "8 % a report again"


def test_a_link_not_tried_is_not_forgotten():
    clock = ManualClock()
    control = BitrateControl(500_000, clock=clock)
    clock.now = 0.5
    control.report(0.0, 0.02, 400_000)
    clock.now = 1.0
    control.queue(QueueReading(0.05, 0.05, 400_000, 0))  # full while 400 kbps of our video arrived
    for n in range(60):  # a still picture: the codec sends less than the link carried, and tries nothing
        clock.now += 1.0
        control.queue(QueueReading(0.0, 0.0, 200_000, 0))
        control.report(0.0, 0.02 + n / 1e4, 200_000)
    assert control.link_bps() == pytest.approx(400_000 * 0.9), "a minute later, still known as it was"
    assert control.target_bps == pytest.approx(400_000 * 0.9), "and a complex scene rises no further than that"
