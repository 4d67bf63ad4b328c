"""Network cuts seen from the visitor page, in Chromium on the real stack: when the resident's link drops, the page
says "Reconnecting…" over the resident's picture within 2 s (never "Connected" over a frozen picture) and shows it
moving again within 2 s of the link's return; when the visitor's own link drops, the page says so, recovers as
fast, and central records that visitor's outage, while the terminal's call is untouched."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from central import schema
from central.store import Store
from kiosk.call_status import CallStatus
from tests.browser import hook
from tests.faults.conftest import FaultStack
from tests.test_e2e_visit import enter_visit
from tests.waiting import wait_for

pytestmark = [pytest.mark.faults, pytest.mark.e2e, pytest.mark.browser, pytest.mark.slow]

CUT_S = 5.0


def _overlay(page) -> str:
    return page.evaluate(
        "document.getElementById('resident-overlay').hidden ? '' : "
        "document.getElementById('resident-overlay-text').textContent"
    )


def _frames(page) -> int:
    return int(hook(page, "framesReceived"))


def _cut(stack: FaultStack, role: str, page, says: str) -> tuple[float, float]:
    """Cuts `role`'s link for CUT_S; checks the page says `says` within 2 s and moves again within 2 s after.
    Returns (detected after, back after the link) in seconds."""
    cut_at = time.monotonic()
    stack.network.cut(role)
    wait_for(
        lambda: hook(page, "connectionText") == "Reconnecting…" and says in _overlay(page),
        2.0,
        f"the page to say '{says}'",
    )
    detected = time.monotonic() - cut_at
    time.sleep(max(0.0, cut_at + CUT_S - time.monotonic()))  # the fault's own length
    stack.network.heal()
    healed_at, frames = time.monotonic(), _frames(page)
    wait_for(
        lambda: hook(page, "connectionText") == "Connected" and _frames(page) > frames + 10 and not _overlay(page),
        2.0,
        "the resident's picture to move again under 'Connected'",
    )
    return detected, time.monotonic() - healed_at


def test_the_visitor_page_shows_each_sides_cut_and_comes_back(fault_stack):
    stack: FaultStack = fault_stack(simulated_visitor=False)
    page = stack.visitor_page()
    kiosk = stack.terminal
    enter_visit(kiosk)
    wait_for(lambda: _frames(page) > 60 and hook(page, "connectionText") == "Connected", 20, "the resident's video")

    detected, back = _cut(stack, "terminal", page, "The person you are visiting is reconnecting")
    print(f"resident's link cut {CUT_S:.0f} s: page said so after {detected:.2f} s, picture back {back:.2f} s after")
    wait_for(lambda: kiosk.state.call is CallStatus.CONNECTED, 2, "the terminal to be back")

    states_before = len(kiosk.states)
    lost_before = float(hook(page, "mediaLostS"))
    detected, back = _cut(stack, "visitor", page, "Your connection was interrupted")
    print(f"visitor's link cut {CUT_S:.0f} s: page said so after {detected:.2f} s, picture back {back:.2f} s after")
    assert lost_before == 0.0, "the resident's outage is not the visitor's"
    assert CallStatus.RECONNECTING not in [s.call for s in kiosk.states[states_before:]], (
        "the terminal's own call went on through the visitor's cut"
    )

    store = Store(stack.central.state / "central.sqlite3")
    try:

        def recorded() -> float:
            with store.engine.connect() as db:
                return float(db.scalar(select(schema.visitor_media_lost.c.media_lost_s)) or 0.0)

        wait_for(lambda: recorded() > 0, 5, "central to record the visitor's outage")
        applied = CUT_S + back
        print(f"visitor's media lost: {recorded():.2f} s recorded vs {applied:.2f} s applied")
        assert abs(recorded() - applied) <= 1.0
    finally:
        store.dispose()
