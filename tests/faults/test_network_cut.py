"""Network cuts of the terminal's link mid-visit, on the real stack: the terminal says "Reconnecting…" within 2 s,
its media is back within 2 s of the link's return with one rebuild at most, the visit's clock is untouched, and
the media lost that central records is the real outage."""

from __future__ import annotations

import time

import pytest

from central.store import Store
from kiosk.call_status import CallStatus
from kiosk.visit_machine import EndTapped, Screen
from tests.faults.conftest import FaultStack
from tests.test_e2e_visit import enter_visit
from tests.waiting import wait_for

pytestmark = [pytest.mark.faults, pytest.mark.e2e, pytest.mark.slow]


def _frames(stack: FaultStack) -> int:
    return len(stack.terminal.received.counters)


@pytest.mark.parametrize("cut_s", [3, 10, 20, 60])
def test_a_cut_of_the_terminals_link_is_shown_at_once_and_survived(fault_stack, cut_s):
    stack: FaultStack = fault_stack()
    kiosk = stack.terminal
    enter_visit(kiosk)
    wait_for(lambda: _frames(stack) > 60, 15, "the visitor's video")
    ends_at = kiosk.state.live.ends_at

    cut_at = time.monotonic()
    stack.network.cut("terminal")
    wait_for(lambda: kiosk.state.call is CallStatus.RECONNECTING, 2.0, "the terminal to say it is reconnecting")
    detected_s = time.monotonic() - cut_at
    time.sleep(max(0.0, cut_at + cut_s - time.monotonic()))  # the fault's own length
    stack.network.heal()
    healed_at = time.monotonic()
    frames_at_heal = _frames(stack)

    wait_for(
        lambda: kiosk.state.call is CallStatus.CONNECTED and _frames(stack) > frames_at_heal,
        2.0,
        "the visitor's video to come back",
    )
    recovered_s = time.monotonic() - healed_at
    assert kiosk.terminal.call is not None
    rebuilds = kiosk.terminal.call.reconnects
    assert rebuilds <= 1, f"{rebuilds} rebuilds for one cut"
    assert kiosk.state.screen is Screen.IN_VISIT and kiosk.state.live.ends_at == ends_at, "the visit's clock moved"

    kiosk.terminal.post(EndTapped())
    wait_for(lambda: kiosk.state.screen is Screen.ENDED, 5, "the end of the visit")
    visit_id = kiosk.state.ended.visit_id
    store = Store(stack.central.state / "central.sqlite3")
    try:
        wait_for(lambda: not store.visit(visit_id).is_open, 5, "central to hear the end")
        lost = store.media_lost(visit_id)
    finally:
        store.dispose()
    applied = cut_s + recovered_s
    print(
        f"cut {cut_s} s: detected after {detected_s:.2f} s, media back {recovered_s:.2f} s after the link, "
        f"{rebuilds} rebuilds, media lost {lost:.2f} s reported vs {applied:.2f} s applied"
    )
    assert abs(lost - applied) <= 1.0, f"media lost {lost:.2f} s reported, {applied:.2f} s applied"
