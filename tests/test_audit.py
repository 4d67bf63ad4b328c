"""The terminal's audit trail: which steps make which events, and the journal that keeps them on disk
until central has them (at least once, never a torn line, nothing personal)."""

from __future__ import annotations

import contextlib
import os
import stat
import subprocess

import pytest

from kiosk.audit_journal import AuditJournal
from kiosk.audit_trail import audit_entries
from kiosk.call_status import CallStatus
from kiosk.protocol import EndReason
from kiosk.visit_machine import (
    CallStatusChanged,
    DevicesChanged,
    EndedVisit,
    LiveVisit,
    Problem,
    RequestFailed,
    Screen,
    TechnicianPinChecked,
    TerminalState,
    Tick,
)

LIVE = LiveVisit(visit_id=7, visitors=("Maria",), recorded=True, started_at=0.0, ends_at=600.0, warnings_s=(60,))


def test_a_refused_sign_in_is_audited_with_the_reason_only():
    before = TerminalState(screen=Screen.IDENTIFY, busy=True)
    after = TerminalState(screen=Screen.IDENTIFY, problem=Problem.BAD_CREDENTIALS)
    [entry] = audit_entries(before, RequestFailed(None), after)
    assert (entry.kind, dict(entry.detail)) == ("sign_in_refused", {"problem": "bad_credentials"})


def test_a_visit_opening_connecting_and_ending_is_audited():
    pre = TerminalState(screen=Screen.PRE_VISIT, busy=True)
    live = TerminalState(screen=Screen.IN_VISIT, live=LIVE, call=CallStatus.CONNECTING)
    connected = TerminalState(screen=Screen.IN_VISIT, live=LIVE, call=CallStatus.CONNECTED)
    ended = TerminalState(screen=Screen.ENDED, ended=EndedVisit(7, EndReason.TIME_UP, "", 600.0))
    assert [e.kind for e in audit_entries(pre, Tick(), live)] == ["visit_opened"]
    [status] = audit_entries(live, CallStatusChanged(CallStatus.CONNECTED), connected)
    assert (status.kind, status.visit_id, dict(status.detail)) == ("call_status", 7, {"status": "connected"})
    [end] = audit_entries(connected, Tick(), ended)
    assert (end.kind, end.visit_id, dict(end.detail)) == ("visit_ended", 7, {"reason": "time_up", "duration_s": 600.0})
    assert [e.kind for e in audit_entries(ended, Tick(), TerminalState())] == ["session_ended"]


def test_going_out_of_service_and_back_is_audited_with_the_devices_only():
    idle = TerminalState()
    out = TerminalState(screen=Screen.OUT_OF_SERVICE, out_of_service=("camera", "handset"))
    [entry] = audit_entries(idle, DevicesChanged(("camera", "handset")), out)
    assert (entry.kind, entry.detail) == ("out_of_service", (("missing", "camera handset"),))
    assert [e.kind for e in audit_entries(out, DevicesChanged(()), idle)] == ["back_in_service"]


def test_the_journal_keeps_events_until_they_are_marked_uploaded(tmp_path):
    journal = AuditJournal(tmp_path / "audit")
    for visit_id in (1, 2, 3):
        journal.record("visit_opened", visit_id, note="x")
    events, lines = journal.pending()
    assert [e.visit_id for e in events] == [1, 2, 3] and lines == 3
    journal.mark_uploaded(2)
    events, lines = journal.pending()
    assert [e.visit_id for e in events] == [3] and lines == 1
    # A second journal on the same folder (the app restarted) sees the same.
    assert [e.visit_id for e in AuditJournal(tmp_path / "audit").pending()[0]] == [3]
    assert stat.S_IMODE((tmp_path / "audit" / "audit.jsonl").stat().st_mode) == 0o600


def test_a_line_torn_by_a_crash_is_skipped_and_the_next_events_still_go(tmp_path):
    journal = AuditJournal(tmp_path / "audit")
    journal.record("terminal_started")
    with open(tmp_path / "audit" / "audit.jsonl", "a") as f:
        f.write('{"event_id": "abc')  # power lost mid-write
    with open(tmp_path / "audit" / "audit.jsonl", "a") as f:
        f.write("\n")
    journal.record("signed_in")
    events, lines = journal.pending()
    assert [e.kind for e in events] == ["terminal_started", "signed_in"] and lines == 3
    journal.mark_uploaded(lines)
    assert journal.pending() == ([], 0)


def test_power_lost_mid_write_never_swallows_the_next_event(tmp_path):
    journal = AuditJournal(tmp_path / "audit")
    journal.record("terminal_started")
    with open(tmp_path / "audit" / "audit.jsonl", "a") as f:
        f.write('{"event_id": "abc')  # power lost mid-write: no newline after it
    after_restart = AuditJournal(tmp_path / "audit")
    after_restart.record("signed_in")
    after_restart.record("visit_opened", 4)
    events, lines = after_restart.pending()
    assert [e.kind for e in events] == ["terminal_started", "signed_in", "visit_opened"] and lines == 3


@pytest.fixture
def small_disk(tmp_path):
    """A real 64 KiB file system (tmpfs), to fill up."""
    folder = tmp_path / "disk"
    folder.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder)], check=True)
    yield folder
    subprocess.run(["umount", str(folder)], check=True)


def _fill(folder):
    fd = os.open(folder / "filler", os.O_WRONLY | os.O_CREAT)
    with contextlib.suppress(OSError):
        while True:
            os.write(fd, b"x" * 512)
    os.close(fd)


def test_a_full_disk_holds_events_in_memory_and_writes_them_when_space_returns(small_disk):
    journal = AuditJournal(small_disk / "audit")
    journal.record("terminal_started")
    _fill(small_disk)
    for visit_id in range(1, 61):  # more than the room left in the journal's last page
        journal.record("call_status", visit_id, status="connected")
    assert not journal.storage_ok and journal.held()[-1].visit_id == 60
    (small_disk / "filler").unlink()
    assert journal.write_held() and journal.storage_ok
    events, _ = AuditJournal(small_disk / "audit").pending()
    assert [e.visit_id for e in events] == [None, *range(1, 61)]


def test_a_full_disk_is_still_told_after_central_took_the_held_events(small_disk):
    journal = AuditJournal(small_disk / "audit")
    _fill(small_disk)
    for visit_id in range(1, 61):
        journal.record("call_status", visit_id, status="connected")
    journal.forget_held(journal.held())  # uploaded from memory
    assert not journal.write_held() and not journal.storage_ok, "the disk is still full"
    (small_disk / "filler").unlink()
    assert journal.write_held() and journal.storage_ok


def test_ids_are_unique_so_central_can_drop_repeats(tmp_path):
    journal = AuditJournal(tmp_path / "audit")
    for _ in range(50):
        journal.record("call_status", 1, status="connected")
    events, _ = journal.pending()
    assert len({e.event_id for e in events}) == 50


def test_technician_mode_and_each_refused_technician_pin_are_audited():
    pin = TerminalState(screen=Screen.TECHNICIAN_PIN, busy=True)
    assert [e.kind for e in audit_entries(pin, TechnicianPinChecked(ok=False), TerminalState())] == [
        "technician_pin_refused"
    ]
    technician = TerminalState(screen=Screen.TECHNICIAN)
    assert [e.kind for e in audit_entries(pin, TechnicianPinChecked(ok=True), technician)] == ["technician_mode"]
    assert [e.kind for e in audit_entries(technician, Tick(), TerminalState())] == ["technician_mode_left"]
