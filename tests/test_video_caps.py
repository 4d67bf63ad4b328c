"""Central's cap on every sender's video, from what each receiver reports (`central.video_caps`): a link that fills
(it loses, or its queue grows) brings every sender down to what it carries, random loss or a short queue on a wide
link moves nothing, and the cap lifts once the link has been clear for long enough."""

from __future__ import annotations

import itertools

from central.video_caps import STALE_S, VideoCaps
from kiosk.protocol import Reception
from tests.manual_clock import ManualClock

VISIT = 7


def _report(
    caps: VideoCaps, clock: ManualClock, who: str, video_kbps: float, lost: float, feeds: int = 1, queue_ms: int = 0
) -> int | None:
    clock.now += 1.0
    return caps.report(VISIT, who, Reception(video_kbps=video_kbps, feeds=feeds, lost=lost, queue_ms=queue_ms))


def test_random_loss_on_a_wide_link_caps_nobody():
    clock = ManualClock(100.0)
    caps = VideoCaps(clock)
    answers = [_report(caps, clock, "visitor", 750, 0.03 if n % 2 else 0.05) for n in range(30)]
    assert answers == [None] * 30


def test_a_link_that_fills_caps_every_sender_below_what_it_carried_then_lifts_when_clear():
    clock = ManualClock(100.0)
    caps = VideoCaps(clock)
    answers = [_report(caps, clock, "visitor", 400, 0.45) for _ in range(3)]
    assert answers[0] is None or answers[0] <= 400
    assert answers[-1] is not None and 300 <= answers[-1] < 400, answers
    capped = answers[-1]
    rising = [capped]
    for _ in range(40):  # the senders obey: what arrives is the cap
        rising.append(_report(caps, clock, "visitor", rising[-1] or 1500, 0.0))
    rising = rising[1:]
    held = [cap for cap in rising if cap is not None]
    assert held == sorted(held) and held[0] == capped, "once clear, the cap never cuts again, only holds or rises"
    assert held[8] > capped, rising
    assert held[18] < 400 * 1.1, "past what the full link carried, it rises by a hundredth of it a second"
    assert rising[-1] is None, "a link clear for long keeps no cap"


def test_a_link_still_losing_after_a_cut_is_cut_again_until_it_stops():
    """A mobile visitor's 1 Mbps link: what arrives (video and Janus's resends) stays at what the link carries
    while the senders send more than that; each cut must be one a sender's codec takes (a tenth or more)."""
    clock = ManualClock(100.0)
    caps = VideoCaps(clock)
    answers = [_report(caps, clock, "visitor", 885, 0.2) for _ in range(12)]
    held = [cap for cap in answers if cap is not None]
    assert held[0] <= 0.85 * 800, "the first cut is one the codec takes, though what arrives is near the most sent"
    assert held == sorted(held, reverse=True) and held[-1] < 0.7 * held[0], answers
    cuts = [(earlier - later) / earlier for earlier, later in itertools.pairwise(held) if later < earlier]
    assert len(cuts) >= 3 and min(cuts) >= 0.1, "every cut reaches the codec"
    first = answers.index(held[0])
    assert answers[first + 1] == answers[first], "no second cut before the first could show"
    settled = [_report(caps, clock, "visitor", 500, 0.03) for _ in range(10)]
    assert settled == [held[-1]] * 10, "loss down to a mobile link's own few per cent: the cap holds"


def test_a_cap_the_senders_do_not_reach_is_kept():
    clock = ManualClock(100.0)
    caps = VideoCaps(clock)
    capped = [_report(caps, clock, "visitor", 400, 0.45) for _ in range(3)][-1]
    assert capped is not None
    still = [_report(caps, clock, "visitor", 200, 0.0) for _ in range(60)]  # a still picture sends less
    assert still[-1] == round(0.9 * 400), "a minute on, the cap is 90 % of what the link carried: it was not tried"


def test_a_queue_filling_on_the_way_to_a_receiver_caps_the_senders_before_anything_is_lost():
    clock = ManualClock(100.0)
    caps = VideoCaps(clock)
    assert [_report(caps, clock, "terminal", 450, 0.0, queue_ms=20) for _ in range(5)] == [None] * 5
    cap = _report(caps, clock, "terminal", 450, 0.0, queue_ms=80)
    assert cap is not None and cap < 450, "a full queue: below what arrives, so that it drains"
    assert _report(caps, clock, "terminal", 420, 0.0, queue_ms=70) == cap, "no second cut before the first told"
    assert _report(caps, clock, "terminal", 380, 0.0, queue_ms=40) == cap, "a queue still draining holds the cap"


def test_the_thinnest_receiver_wins_per_feed_and_one_not_heard_from_stops_counting():
    clock = ManualClock(100.0)
    caps = VideoCaps(clock)
    for _ in range(3):
        _report(caps, clock, "terminal", 400, 0.4, feeds=2)  # two visitors' video through one thin link
        _report(caps, clock, "visitor a", 700, 0.0)
    cap = _report(caps, clock, "visitor b", 700, 0.0)
    assert cap is not None and cap < 200, "each of two feeds gets half of what the link carried"
    clock.now += STALE_S + 1  # the terminal's link went quiet
    assert _report(caps, clock, "visitor a", 700, 0.0) is None


def test_an_ended_visit_is_forgotten():
    clock = ManualClock(100.0)
    caps = VideoCaps(clock)
    for _ in range(3):
        _report(caps, clock, "visitor", 300, 0.5)
    caps.forget(VISIT)
    assert _report(caps, clock, "terminal", 700, 0.0) is None
