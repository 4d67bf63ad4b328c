"""The video's bitrate follows what Janus reports of our stream: down on heavy loss or a queue building, up while
the link is clean, never past what the picture really needs, and unmoved by a report it has seen already."""

from __future__ import annotations

import pytest

from kiosk.bitrate_control import BitrateControl


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 1.0  # a report a second
        return self.now


def test_heavy_loss_brings_the_bitrate_down_by_half_the_share_lost_of_what_was_sent():
    control = BitrateControl(500_000, clock=Clock())
    assert control.report(0.0, 0.02, 480_000) == pytest.approx(540_000)
    assert control.report(0.3, 0.02, 480_000) == pytest.approx(480_000 * 0.85)


def test_some_loss_holds_the_bitrate_where_it_is():
    control = BitrateControl(500_000, clock=Clock())
    for lost in (0.03, 0.05, 0.08, 0.04):
        assert control.report(lost, 0.02, 500_000) == 500_000


def test_a_round_trip_grown_by_a_queue_brings_it_down_before_anything_is_lost():
    control = BitrateControl(500_000, clock=Clock())
    control.report(0.0, 0.020, 500_000)
    assert control.report(0.0, 0.060, 500_000) > 500_000, "40 ms more is the network's own wobble"
    assert control.report(0.0, 0.120, 500_000) == pytest.approx(425_000), "100 ms more: a queue at a bottleneck"


def test_a_clean_link_lets_it_climb_but_never_past_twice_what_the_picture_really_sent():
    control = BitrateControl(500_000, clock=Clock())
    targets = [control.report(0.0, 0.02 + n / 1e4, 300_000) for n in range(20)]  # each report a new one
    assert targets[0] == pytest.approx(540_000) and max(targets) == pytest.approx(600_000)


def test_the_same_report_again_moves_nothing():
    control = BitrateControl(500_000, clock=Clock())
    assert control.report(0.4, 0.02, 500_000) == pytest.approx(400_000)
    assert control.report(0.4, 0.02, 500_000) == pytest.approx(400_000), "Janus had not sent a new one"
