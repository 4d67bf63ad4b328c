"""When each received picture is shown: as the sound sent with it is heard, spaced as it was taken."""

from __future__ import annotations

import itertools
import random

import pytest

from kiosk.picture_playout import MOST_DELAY_S, MOST_LAG_S, PicturePlayout

FRAME_S = 1 / 30
OFFSET_S = 1234.5  # the receiver's clock against the sender's: unknown, and of no matter


def _shown(arrivals: list[tuple[float, float]], delay_s: float) -> list[float]:
    """When each picture (taken, arrived) is shown, in the order they arrive."""
    playout = PicturePlayout()
    return [playout.due(taken, arrived, delay_s) for taken, arrived in arrivals]


def _steady(seconds: float, transit: float = 0.02, start: float = 0.0) -> list[tuple[float, float]]:
    return [(start + n * FRAME_S, start + n * FRAME_S + OFFSET_S + transit) for n in range(round(seconds / FRAME_S))]


def test_each_picture_waits_as_long_as_its_sound_waits_in_the_earpiece():
    arrivals = _steady(5.0)
    for (_, arrived), shown in zip(arrivals, _shown(arrivals, 0.06), strict=True):
        assert shown == pytest.approx(arrived + 0.06)


def test_with_no_sound_held_each_picture_is_shown_as_it_comes():
    arrivals = _steady(5.0)
    for (_, arrived), shown in zip(arrivals, _shown(arrivals, 0.0), strict=True):
        assert shown == pytest.approx(arrived, abs=1e-9)


def test_with_no_sound_held_a_picture_waits_at_most_as_long_as_the_link_scatters_them():
    rng = random.Random(3)
    arrivals = [(taken, arrived + rng.uniform(0, 0.03)) for taken, arrived in _steady(5.0)]
    for (_, arrived), shown in zip(arrivals, _shown(arrivals, 0.0), strict=True):
        assert arrived <= shown <= arrived + 0.03


def test_a_stop_on_the_link_stalls_the_picture_for_less_and_the_pictures_after_it_keep_their_pace():
    """The link stops for 200 ms; what it lost is sent again and arrives 30 ms after it resumed, and the pictures
    after it are decoded only then (they refer to those before them)."""
    resent = OFFSET_S + 11.23
    arrivals = [(taken, max(arrived, resent) if taken >= 11.0 else arrived) for taken, arrived in _steady(13.0)]
    shown = _shown(arrivals, 0.06)
    stalls = [later - earlier for earlier, later in itertools.pairwise(shown)]
    assert max(stalls) == pytest.approx(11.23 - (11.0 - FRAME_S + 0.02) - 0.06, abs=0.002), "60 ms shorter"
    assert shown == sorted(shown), "never a picture before the one taken before it"
    assert all(later - earlier == pytest.approx(FRAME_S) for earlier, later in itertools.pairwise(shown[-30:])), (
        "a second after the stop, the pictures go at the pace they were taken again, with the sound"
    )


def test_the_wait_has_a_limit_however_long_the_earpiece_holds_its_sound():
    arrivals = _steady(1.0)
    shown = _shown(arrivals, 3.0)
    assert shown[-1] - arrivals[-1][1] == pytest.approx(MOST_DELAY_S)


def test_a_sender_whose_clock_jumps_back_is_followed_within_a_picture():
    before = _steady(2.0)
    after = [(taken - 30.0, arrived) for taken, arrived in _steady(1.0, start=2.0)]  # its clock went 30 s back
    shown = _shown(before + after, 0.06)
    for (_, arrived), when in zip(after[1:], shown[len(before) + 1 :], strict=True):
        assert when == pytest.approx(arrived + 0.06)


def test_the_earpiece_filling_and_draining_by_a_packet_does_not_jerk_the_pictures():
    arrivals = _steady(3.0)
    playout = PicturePlayout()
    shown = [playout.due(taken, arrived, 0.04 + 0.02 * (n % 2)) for n, (taken, arrived) in enumerate(arrivals)]
    assert all(abs(later - earlier - FRAME_S) < 0.002 for earlier, later in itertools.pairwise(shown))


def test_a_voice_held_longer_is_followed_within_seconds():
    arrivals = _steady(6.0)
    playout = PicturePlayout()
    shown = [playout.due(taken, arrived, 0.04 if n < 30 else 0.1) for n, (taken, arrived) in enumerate(arrivals)]
    assert shown[-1] - arrivals[-1][1] == pytest.approx(0.1, abs=0.002)
    assert all(later - earlier < FRAME_S + 0.01 for earlier, later in itertools.pairwise(shown)), "no jump"


def _resent_often(seconds: float, every: int, resend_s: float) -> list[tuple[float, float]]:
    """A link that loses a packet of one picture in `every`: it comes `resend_s` late, and the pictures taken
    before it came are decoded with it (they refer to it)."""
    arrivals = _steady(seconds)
    held_until = float("-inf")
    for n, (taken, arrived) in enumerate(arrivals):
        if n % every == every // 2:
            held_until = arrived + resend_s
        arrivals[n] = (taken, max(arrived, held_until))
    return arrivals


def _freezes(shown: list[float], after_s: float) -> list[float]:
    """The stalls over 200 ms, once the first `after_s` of the pictures were shown."""
    start = shown[0] + after_s
    stalls = [(earlier, later - earlier) for earlier, later in itertools.pairwise(shown)]
    return [stall for at, stall in stalls if at > start and stall > 0.2]


def test_on_a_link_that_loses_often_the_pictures_wait_for_the_resends_and_do_not_freeze():
    """Mobile data: a resend once a second, 300 ms late (its round trip); the voice waits 100 ms."""
    arrivals = _resent_often(30.0, every=30, resend_s=0.3)
    assert len(_freezes([arrived for _, arrived in arrivals], 10.0)) >= 19, "shown as they came, each stop a freeze"
    assert _freezes(_shown(arrivals, 0.1), 10.0) == []


def test_the_pictures_never_wait_more_than_a_little_beyond_their_sound():
    arrivals = _resent_often(30.0, every=4, resend_s=0.6)
    shown = _shown(arrivals, 0.05)
    steady = [when - arrived for (_, arrived), when in zip(arrivals, shown, strict=True)]
    assert max(steady[300:]) == pytest.approx(0.05 + MOST_LAG_S, abs=0.003)
