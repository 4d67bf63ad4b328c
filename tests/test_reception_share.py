"""What a participant tells central of the video it received (`kiosk.reception_share`): the payload that arrived
and the share of packets lost since the last report, and how long it queues on the way now."""

from __future__ import annotations

from kiosk.reception_share import ReceptionMeter
from tests.manual_clock import ManualClock


def test_each_report_covers_what_arrived_since_the_last():
    clock = ManualClock(10.0)
    meter = ReceptionMeter(clock)
    assert meter.read((1000, 0, 1_000_000), feeds=1) is None, "the first reading has nothing to compare with"
    clock.now += 2.0
    report = meter.read((1090, 10, 1_100_000), feeds=2, queue_s=0.0456)
    assert report is not None
    assert report.video_kbps == 400.0  # 100 kB in 2 s
    assert report.lost == 0.1  # 10 of the 100 packets expected
    assert report.feeds == 2
    assert report.queue_ms == 46


def test_a_quiet_second_reports_nothing_lost():
    clock = ManualClock(10.0)
    meter = ReceptionMeter(clock)
    meter.read((500, 5, 50_000), feeds=1)
    clock.now += 1.0
    report = meter.read((500, 5, 50_000), feeds=1)
    assert report is not None and (report.video_kbps, report.lost) == (0.0, 0.0)
