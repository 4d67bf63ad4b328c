"""The terminal's disk fills up mid-visit, on the real stack (its state folder is a small tmpfs, filled for real):
the visit goes on, staff see the disk under the terminals that need attention, and no audit event is lost."""

from __future__ import annotations

import contextlib
import itertools
import os
import time

import pytest
from sqlalchemy import select

from central import schema
from central.store import Store
from kiosk.call_status import CallStatus
from kiosk.protocol import VisitStatus
from kiosk.visit_machine import EndTapped, Screen
from tests.conftest import staff_call
from tests.faults.conftest import FaultStack
from tests.test_e2e_visit import enter_visit
from tests.waiting import wait_for

pytestmark = [pytest.mark.faults, pytest.mark.e2e, pytest.mark.slow]

DISK_SENTENCE = "Its disk is full or failing"


def _fill(folder) -> None:
    fd = os.open(folder / "filler", os.O_WRONLY | os.O_CREAT)
    with contextlib.suppress(OSError):
        while True:
            os.write(fd, bytes(4096))
    os.close(fd)


def _attention(stack: FaultStack) -> list[str]:
    terminals = staff_call(stack.central, "GET", "/terminals", verify=str(stack.authority)).json()
    return [sentence for row in terminals for sentence in row["attention"]]


def _call_changes(kiosk) -> int:
    """How many times the terminal's call status changed during the visit: one audit event each."""
    statuses = [s.call for s in kiosk.states if s.live is not None and s.call is not None]
    return sum(1 for a, b in itertools.pairwise(statuses) if a is not b)


def test_a_full_disk_mid_visit_loses_no_event_and_staff_are_told(fault_stack):
    stack: FaultStack = fault_stack(state_size="1m")
    kiosk = stack.terminal
    state = stack.central.state / "kiosk-state"
    enter_visit(kiosk)
    visit_id = kiosk.state.live.visit_id
    wait_for(lambda: len(kiosk.received.counters) > 30, 15, "the visitor's video")

    _fill(state)
    # Audit events while the disk is full: the terminal's link drops for 3 s and comes back.
    stack.network.cut("terminal")
    wait_for(lambda: kiosk.state.call is CallStatus.RECONNECTING, 2, "the cut to be noticed")
    time.sleep(3)
    stack.network.heal()
    wait_for(lambda: kiosk.state.call is CallStatus.CONNECTED, 2, "the call to come back")
    wait_for(lambda: any(DISK_SENTENCE in s for s in _attention(stack)), 10, "staff to be told of the disk")
    frames = len(kiosk.received.counters)
    wait_for(lambda: len(kiosk.received.counters) > frames + 30, 5, "the visit to go on")
    assert kiosk.state.screen is Screen.IN_VISIT

    (state / "filler").unlink()
    wait_for(lambda: not any(DISK_SENTENCE in s for s in _attention(stack)), 15, "the disk's sentence to go")
    kiosk.terminal.post(EndTapped())
    wait_for(lambda: kiosk.state.screen is Screen.ENDED, 5, "the end")

    store = Store(stack.central.state / "central.sqlite3")
    try:
        wait_for(lambda: store.visit(visit_id).status is VisitStatus.ENDED, 10, "central to hear the end")

        def audited() -> list[str]:
            e = schema.audit_events.c
            with store.engine.connect() as db:
                return [row.kind for row in db.execute(select(e.kind).where(e.visit_id == visit_id))]

        wait_for(lambda: "visit_ended" in audited(), 10, "the end's audit event")
        changes = _call_changes(kiosk)  # connecting to connected, to reconnecting (disk full), to connected
        assert changes == 3
        assert audited().count("call_status") == changes, f"{audited()} for {changes} status changes"
    finally:
        store.dispose()
