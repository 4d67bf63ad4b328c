"""Janus restarts mid-visit, on the real stack: central makes the visit's room anew, the terminal and the visitor
rejoin it within 10 s, the recording goes on in new files of the same visit, and nobody is told the visit ended."""

from __future__ import annotations

import time

import pytest

from central.rooms import RoomAdmin
from central.store import Store
from kiosk.call_status import CallStatus
from kiosk.protocol import VisitStatus
from kiosk.visit_machine import Screen
from tests.faults.conftest import FaultStack
from tests.test_e2e_visit import enter_visit
from tests.waiting import wait_for

pytestmark = [pytest.mark.faults, pytest.mark.e2e, pytest.mark.slow]


def _participants(stack: FaultStack, room: int) -> list[str]:
    admin = RoomAdmin(stack.janus.url, stack.janus.settings.admin_key, stack.central.state, str(stack.authority))
    try:
        listed = admin._request({"request": "listparticipants", "room": room})
    except Exception:
        return []
    return sorted(str(p.get("display")) for p in listed.get("participants", []) if p.get("publisher"))


def test_a_janus_restart_is_rejoined_within_ten_seconds_and_the_visit_goes_on(fault_stack):
    stack: FaultStack = fault_stack()
    kiosk = stack.terminal
    enter_visit(kiosk)
    wait_for(lambda: len(kiosk.received.counters) > 60, 15, "the visitor's video")
    visit_id = kiosk.state.live.visit_id
    store = Store(stack.central.state / "central.sqlite3")
    try:
        visit = store.visit(visit_id)
        assert visit is not None and visit.room is not None
        wait_for(lambda: _participants(stack, visit.room) == ["Maria", "Resident"], 10, "both in the room")
        recordings = stack.central.state / "recordings" / f"visit-{visit_id}"
        files_before = set(recordings.glob("*.mjr"))

        restarted_at = time.monotonic()
        stack.janus.restart()
        frames = len(kiosk.received.counters)
        wait_for(
            lambda: kiosk.state.call is CallStatus.CONNECTED and len(kiosk.received.counters) > frames + 30,
            10 - (time.monotonic() - restarted_at),
            "the terminal to rejoin and see the visitor again",
        )
        wait_for(
            lambda: _participants(stack, visit.room) == ["Maria", "Resident"],
            10 - (time.monotonic() - restarted_at),
            "the visitor to rejoin the room",
        )
        rejoined_s = time.monotonic() - restarted_at
        print(f"Janus restart: both back in the room {rejoined_s:.1f} s after it")

        assert kiosk.state.screen is Screen.IN_VISIT and kiosk.state.ended is None
        assert store.visit(visit_id).status is VisitStatus.LIVE, "central must not end the visit"
        wait_for(lambda: len(set(recordings.glob("*.mjr")) - files_before) >= 4, 5, "the recording to go on")
    finally:
        store.dispose()
