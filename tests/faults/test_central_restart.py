"""Central goes away for a minute mid-visit and comes back, on the real stack: the call goes on and the screen does
not change, a staff end sent after central's return reaches the terminal within 2 s, and every audit event the
terminal made meanwhile reaches central exactly once."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import select

from central import schema
from central.store import Store
from kiosk.call_status import CallStatus
from kiosk.protocol import EndReason
from kiosk.visit_machine import Screen
from tests.conftest import staff_call
from tests.faults.conftest import FaultStack
from tests.test_e2e_visit import enter_visit
from tests.waiting import wait_for

pytestmark = [pytest.mark.faults, pytest.mark.e2e, pytest.mark.slow]

AWAY_S = 60.0


def _journal_ids(stack: FaultStack) -> list[str]:
    journal = stack.central.state / "kiosk-state" / "audit" / "audit.jsonl"
    return [json.loads(line)["event_id"] for line in journal.read_text().splitlines()]


def _central_ids(stack: FaultStack) -> list[str]:
    store = Store(stack.central.state / "central.sqlite3")
    try:
        with store.engine.connect() as db:
            return [row.event_id for row in db.execute(select(schema.audit_events.c.event_id))]
    finally:
        store.dispose()


def test_central_away_for_a_minute_changes_nothing_on_screen_and_loses_nothing(fault_stack):
    stack: FaultStack = fault_stack()
    kiosk = stack.terminal
    enter_visit(kiosk)
    wait_for(lambda: len(kiosk.received.counters) > 60, 15, "the visitor's video")
    states_before = len(kiosk.states)

    stack.central.stop()
    gone_at = time.monotonic()
    # Meanwhile the terminal's own link drops for 3 s: the call's audit events must wait for central.
    time.sleep(5)
    stack.network.cut("terminal")
    wait_for(lambda: kiosk.state.call is CallStatus.RECONNECTING, 2, "the terminal to notice the cut")
    time.sleep(3)
    stack.network.heal()
    wait_for(lambda: kiosk.state.call is CallStatus.CONNECTED, 2, "the call to come back")
    frames, since = len(kiosk.received.counters), time.monotonic()
    time.sleep(max(0.0, gone_at + AWAY_S - time.monotonic()))  # the rest of central's minute away
    fps = (len(kiosk.received.counters) - frames) / (time.monotonic() - since)
    assert fps > 20, f"the visitor's video ran at {fps:.1f} fps while central was away"
    screens = {state.screen for state in kiosk.states[states_before:]}
    assert screens == {Screen.IN_VISIT}, f"the screen changed while central was away: {screens}"

    stack.central.start()
    asked = time.monotonic()
    visit_id = kiosk.state.live.visit_id
    response = staff_call(
        stack.central, "POST", f"/visits/{visit_id}/end", json={"reason": "Count"}, verify=str(stack.authority)
    )
    assert response.status_code == 204, response.text
    wait_for(lambda: kiosk.state.screen is Screen.ENDED, 2.0, "the staff end to reach the terminal")
    print(f"central back: the staff end reached the terminal after {time.monotonic() - asked:.2f} s")
    assert kiosk.state.ended.reason is EndReason.ENDED_BY_STAFF

    def all_arrived() -> bool:
        return set(_journal_ids(stack)) <= set(_central_ids(stack))

    wait_for(all_arrived, 10, "every audit event to reach central")
    central_ids = _central_ids(stack)
    assert len(central_ids) == len(set(central_ids))
    kinds = {json.loads(line)["kind"] for line in (stack.central.state / "kiosk-state/audit/audit.jsonl").open()}
    assert "call_status" in kinds
