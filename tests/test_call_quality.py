"""The call's quality as the terminal measures it: the chip's word from the worst of frame rate, loss and round
trip; loss counted as the link did it, before retransmissions; freezes as a person sees them; the visit's report."""

from __future__ import annotations

from kiosk.call_quality import FREEZE_S, ArrivalLoss, CallQuality, FrameTimes, Quality, rate
from tests.manual_clock import ManualClock


def test_the_worst_figure_decides_the_chips_word():
    assert rate(29.0, 0.0, 0.02) is Quality.GOOD
    assert rate(15.0, 0.0, 0.02) is Quality.WEAK, "a visitor's picture at 15 fps"
    assert rate(29.0, 0.05, 0.02) is Quality.WEAK, "5% of packets lost on the way"
    assert rate(29.0, 0.0, 0.4) is Quality.WEAK, "a 400 ms round trip"
    assert rate(5.0, 0.0, 0.02) is Quality.POOR
    assert rate(29.0, 0.2, 0.02) is Quality.POOR
    assert rate(29.0, 0.0, 1.2) is Quality.POOR
    assert rate(None, 0.0, None) is Quality.GOOD, "nobody to see yet and nothing measured: nothing wrong"


def test_loss_is_what_the_link_lost_even_when_retransmissions_fill_the_gaps():
    clock = ManualClock(100.0)
    loss = ArrivalLoss(clock)
    for seq in [65533, 65534, 65535, 0, 3, 4, 1, 2, 5]:  # 1 and 2 lost, then resent; the numbers wrap
        loss.saw(seq)
        clock.now += 0.01
    assert (loss.arrived, loss.missing) == (7, 2)
    assert loss.recent() == (7, 2)
    clock.now += 5
    assert loss.recent() == (0, 0), "the chip looks at the last three seconds only"


def test_a_gap_between_pictures_longer_than_a_fifth_of_a_second_is_a_freeze():
    clock = ManualClock(100.0)
    pictures = FrameTimes(clock)
    for step in [1 / 30] * 30 + [FREEZE_S + 0.3] + [1 / 30] * 29:
        pictures.frame()
        clock.now += step
    assert pictures.freezes == 1 and abs(pictures.frozen_s - 0.5) < 1e-9
    assert 20 < pictures.fps() < 30, "the freeze counts in the visit's frame rate"


def test_the_visits_report_takes_the_worst_visitor_and_every_rebuilt_connection():
    clock = ManualClock(100.0)
    quality = CallQuality(clock)
    maria, leo = quality.pictures_of("Maria"), quality.pictures_of("Leo")
    first, second = quality.new_arrivals(), quality.new_arrivals()  # the second after a rebuild
    for n in range(90):
        maria.frame()
        if n % 3 == 0:
            leo.frame()
        if n not in (10, 11):  # two lost on the way
            first.saw(n)
        second.saw(1000 + n)
        clock.now += 1 / 30
    quality.janus_report("pc", 0.04, lost=3, sent=300, share_lost=0.01)
    report = quality.report(reconnects=1, outages=1)
    assert 9 < report.received.fps < 11, "Leo's 10 fps, not Maria's 30"
    assert report.received.packet_loss_pct == round(100 * 2 / 180, 2) and report.received.rtt_ms == 40
    assert report.sent.packet_loss_pct == 1.0 and report.reconnects == 1
    assert quality.now() is Quality.WEAK, "Leo's picture at 10 fps is weak"


def test_packets_a_jittery_link_reorders_are_not_lost_but_those_resent_after_a_nack_are():
    clock = ManualClock(100.0)
    quality = CallQuality(clock)
    loss = quality.new_arrivals()
    for seq, wait in [(1, 0.01), (3, 0.01), (4, 0.01), (2, 0.01), (5, 0.01), (7, 0.2), (8, 0.01), (6, 0.01)]:
        loss.saw(seq, payload_bytes=1000)  # 2 comes 20 ms late, reordered; 6 comes 210 ms late, resent
        clock.now += wait
    assert (loss.arrived, loss.missing) == (6, 2), "the chip's view: two lost on the way"
    assert quality.video_arrivals() == (7, 1, 8_000), "the caps' view: one lost, one only reordered"


def test_the_packets_of_a_cut_are_not_what_a_thin_link_loses():
    clock = ManualClock(100.0)
    quality = CallQuality(clock)
    loss = quality.new_arrivals()
    for seq in [1, 2, 3]:
        loss.saw(seq, payload_bytes=1000)
        clock.now += 0.01
    clock.now += 3.0  # the link is cut for 3 s; 200 packets never come
    for seq in [204, 205]:
        loss.saw(seq, payload_bytes=1000)
        clock.now += 0.01
    assert loss.missing == 200, "the chip's view: the link lost them"
    assert quality.video_arrivals() == (5, 0, 5_000), "the caps' view: nothing says the link is thin"
