"""The fault drills: each applies one real fault to a running stack (`tests.faults.stack`) mid-visit and measures
what a person and the facility would notice — how soon the fault was shown, how soon media came back, the media
lost as reported against as applied, how the visit came out and how many audit events were lost. The `faults`
tests run each once and hold them to their targets; `./dev.sh bench --faults` runs each several times for the
table in docs/performance.md.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import Page
from sqlalchemy import select

from central import schema
from central.rooms import RoomAdmin
from central.store import Store
from kiosk.call_codecs import encoders_of
from kiosk.call_quality import Quality
from kiosk.call_status import CallStatus
from kiosk.protocol import EndReason, VisitStatus
from kiosk.video_encoder import SteppedVp8Encoder
from kiosk.visit_machine import EndTapped, Screen
from tests.browser import hook
from tests.conftest import staff_call
from tests.faults.stack import FaultStack
from tests.test_e2e_visit import enter_visit
from tests.waiting import wait_for

RESIDENT_RECONNECTING = "The person you are visiting is reconnecting"
OWN_RECONNECTING = "Your connection was interrupted"
DISK_SENTENCE = "Its disk is full or failing"


@dataclass
class FaultResult:
    """What one drill measured; None where a figure does not apply to the fault."""

    fault: str
    detected_s: float | None = None  # from the fault to the screen (or staff) saying so
    recovered_s: float | None = None  # from the fault's end to media back (or the end reaching the terminal)
    lost_reported_s: float | None = None
    lost_applied_s: float | None = None
    rebuilds: int | None = None
    outcome: str = ""
    events_lost: int | None = None
    detail: str = ""  # this run's own figures, beside the table


# -- the visit ---------------------------------------------------------------------------------------------


def start_visit(stack: FaultStack) -> int:
    """The resident signs in and starts the visit; returns its id once the visitor's video flows."""
    kiosk = stack.kiosk
    enter_visit(kiosk)
    wait_for(lambda: len(kiosk.received.counters) > 60, 15, "the visitor's video")
    return kiosk.state.live.visit_id


def _store(stack: FaultStack) -> Store:
    return Store(stack.central.state / "central.sqlite3")


def _central_audit(stack: FaultStack, visit_id: int | None = None) -> list[tuple[str, str]]:
    """(event id, kind) of the audit events central has from the terminal, for one visit or all."""
    store = _store(stack)
    try:
        e = schema.audit_events.c
        query = select(e.event_id, e.kind).where(e.actor.like("terminal:%"))
        if visit_id is not None:
            query = query.where(e.visit_id == visit_id)
        with store.engine.connect() as db:
            return [(row.event_id, row.kind) for row in db.execute(query)]
    finally:
        store.dispose()


def _terminal_audit_ids(stack: FaultStack) -> set[str]:
    """Every audit event the terminal made: those on its disk and those it holds in memory."""
    journal = stack.central.state / "kiosk-state" / "audit" / "audit.jsonl"
    on_disk = {json.loads(line)["event_id"] for line in journal.read_text().splitlines() if line.startswith("{")}
    return on_disk | {e.event_id for e in stack.kiosk.terminal.journal.held()}


def events_lost(stack: FaultStack) -> int:
    """Audit events the terminal made that central does not have, once the upkeep had its chance to send them."""
    made = _terminal_audit_ids(stack)
    with contextlib.suppress(AssertionError):
        wait_for(lambda: made <= {i for i, _kind in _central_audit(stack)}, 15, "the audit events to arrive")
    return len(made - {i for i, _kind in _central_audit(stack)})


def end_visit(stack: FaultStack, visit_id: int) -> float:
    """The resident ends the visit; returns the media lost that central recorded from the terminal's report."""
    kiosk = stack.kiosk
    kiosk.terminal.post(EndTapped())
    wait_for(lambda: kiosk.state.screen is Screen.ENDED, 5, "the end of the visit")
    store = _store(stack)
    try:
        wait_for(lambda: not store.visit(visit_id).is_open, 10, "central to hear the end")
        return store.media_lost(visit_id)
    finally:
        store.dispose()


def _frames(stack: FaultStack) -> int:
    return len(stack.kiosk.received.counters)


# -- the drills --------------------------------------------------------------------------------------------


def terminal_video_target(stack: FaultStack) -> int:
    """What the terminal's video encoder aims for now, in bits a second (aiortc keeps the encoder private)."""
    call = stack.kiosk.terminal.call
    assert call is not None and call._publisher_pc is not None
    encoders = encoders_of(call._publisher_pc.getSenders(), SteppedVp8Encoder)
    return encoders[0].target_bitrate if encoders else 0


def terminal_link_cut(stack: FaultStack, seconds: float) -> FaultResult:
    """The terminal's link is cut for `seconds` mid-visit, then the visit is ended by the resident."""
    kiosk = stack.kiosk
    visit_id = start_visit(stack)
    ends_at = kiosk.state.live.ends_at
    cut_at = time.monotonic()
    stack.network.cut("terminal")
    wait_for(lambda: kiosk.state.call is CallStatus.RECONNECTING, 5, "the terminal to say it is reconnecting")
    detected = time.monotonic() - cut_at
    time.sleep(max(0.0, cut_at + seconds - time.monotonic()))  # the fault's own length
    stack.network.heal()
    healed_at, frames = time.monotonic(), _frames(stack)
    wait_for(
        lambda: kiosk.state.call is CallStatus.CONNECTED and _frames(stack) > frames,
        10,
        "the visitor's video to come back",
    )
    recovered = time.monotonic() - healed_at
    assert kiosk.terminal.call is not None
    rebuilds = kiosk.terminal.call.reconnects
    went_on = kiosk.state.screen is Screen.IN_VISIT and kiosk.state.live.ends_at == ends_at
    lost = end_visit(stack, visit_id)
    return FaultResult(
        f"terminal link cut {seconds:.0f} s",
        detected,
        recovered,
        lost,
        seconds + recovered,
        rebuilds,
        "went on, clock untouched" if went_on else "interrupted",
        events_lost(stack),
    )


def _overlay(page: Page) -> str:
    return str(
        page.evaluate(
            "document.getElementById('resident-overlay').hidden ? '' : "
            "document.getElementById('resident-overlay-text').textContent"
        )
    )


def _page_frames(page: Page) -> int:
    return int(hook(page, "framesReceived"))  # type: ignore[call-overload]


def visitor_page_cut(
    stack: FaultStack, page: Page, role: str, seconds: float, screenshot: Path | None = None
) -> FaultResult:
    """`role`'s link ("terminal" or "visitor") is cut for `seconds` while the visitor page is in the visit; the
    page's view of it (`screenshot`: saved once the page says so). For the visitor's own cut, the media lost is what
    central recorded for that visitor."""
    says = RESIDENT_RECONNECTING if role == "terminal" else OWN_RECONNECTING
    states_before = len(stack.kiosk.states)
    cut_at = time.monotonic()
    stack.network.cut(role)
    wait_for(
        lambda: hook(page, "connectionText") == "Reconnecting…" and says in _overlay(page),
        5,
        f"the page to say '{says}'",
    )
    detected = time.monotonic() - cut_at
    if screenshot is not None:
        page.screenshot(path=screenshot)
    time.sleep(max(0.0, cut_at + seconds - time.monotonic()))  # the fault's own length
    stack.network.heal()
    healed_at, frames = time.monotonic(), _page_frames(page)
    wait_for(
        lambda: hook(page, "connectionText") == "Connected" and _page_frames(page) > frames + 10 and not _overlay(page),
        10,
        "the resident's picture to move again under 'Connected'",
    )
    recovered = time.monotonic() - healed_at
    result = FaultResult(f"{role} link cut {seconds:.0f} s, seen by the visitor page", detected, recovered)
    if role == "visitor":
        terminal_calm = CallStatus.RECONNECTING not in [s.call for s in stack.kiosk.states[states_before:]]
        result.outcome = "went on; the terminal's call untouched" if terminal_calm else "the terminal reconnected too"
        result.lost_applied_s = seconds + recovered
        result.lost_reported_s = _visitor_lost(stack)
    else:
        result.outcome = "went on"
    return result


def _visitor_lost(stack: FaultStack) -> float:
    store = _store(stack)
    try:

        def recorded() -> float:
            with store.engine.connect() as db:
                return float(db.scalar(select(schema.visitor_media_lost.c.media_lost_s)) or 0.0)

        wait_for(lambda: recorded() > 0, 5, "central to record the visitor's outage")
        return recorded()
    finally:
        store.dispose()


def publishers(stack: FaultStack, room: int) -> list[str]:
    """The names of those publishing in the room now, sorted."""
    admin = RoomAdmin(stack.janus.url, stack.janus.settings.admin_key, stack.central.state, str(stack.authority))
    try:
        listed = admin._request({"request": "listparticipants", "room": room})
    except Exception:  # Janus still starting: nobody is in the room yet
        return []
    return sorted(str(p.get("display")) for p in listed.get("participants", []) if p.get("publisher"))


def janus_restart(stack: FaultStack) -> FaultResult:
    """Janus restarts mid-visit: how soon the terminal and the visitor are back in the visit's room."""
    kiosk = stack.kiosk
    visit_id = start_visit(stack)
    store = _store(stack)
    try:
        visit = store.visit(visit_id)
        assert visit is not None and visit.room is not None
        wait_for(lambda: publishers(stack, visit.room) == ["Maria", "Resident"], 10, "both in the room")
        recordings = stack.central.state / "recordings" / f"visit-{visit_id}"
        files_before = set(recordings.glob("*.mjr"))
        restarted_at = time.monotonic()
        stack.janus.restart()
        frames = _frames(stack)
        wait_for(
            lambda: kiosk.state.call is CallStatus.CONNECTED and _frames(stack) > frames + 30,
            20,
            "the terminal to rejoin and see the visitor again",
        )
        wait_for(lambda: publishers(stack, visit.room) == ["Maria", "Resident"], 20, "the visitor to rejoin")
        recovered = time.monotonic() - restarted_at
        wait_for(lambda: len(set(recordings.glob("*.mjr")) - files_before) >= 4, 5, "the recording to go on")
        went_on = kiosk.state.screen is Screen.IN_VISIT and store.visit(visit_id).status is VisitStatus.LIVE
    finally:
        store.dispose()
    return FaultResult(
        "Janus restart",
        recovered_s=recovered,
        rebuilds=kiosk.terminal.call.reconnects if kiosk.terminal.call else None,
        outcome="went on, recording in new files" if went_on else "ended",
        events_lost=events_lost(stack),
    )


def central_away(stack: FaultStack, seconds: float) -> FaultResult:
    """Central is stopped for `seconds` mid-visit (the terminal's link also drops for 3 s meanwhile, so that the
    call's audit events wait for central), then started again and staff end the visit."""
    kiosk = stack.kiosk
    visit_id = start_visit(stack)
    states_before = len(kiosk.states)
    stack.central.stop()
    gone_at = time.monotonic()
    time.sleep(5)
    stack.network.cut("terminal")
    wait_for(lambda: kiosk.state.call is CallStatus.RECONNECTING, 5, "the terminal to notice the cut")
    time.sleep(3)
    stack.network.heal()
    wait_for(lambda: kiosk.state.call is CallStatus.CONNECTED, 5, "the call to come back")
    frames, since = _frames(stack), time.monotonic()
    time.sleep(max(0.0, gone_at + seconds - time.monotonic()))  # the rest of central's time away
    fps = (_frames(stack) - frames) / (time.monotonic() - since)
    screens = {state.screen for state in kiosk.states[states_before:]}
    stack.central.start()
    asked = time.monotonic()
    response = staff_call(
        stack.central, "POST", f"/visits/{visit_id}/end", json={"reason": "Count"}, verify=str(stack.authority)
    )
    assert response.status_code == 204, response.text
    wait_for(lambda: kiosk.state.screen is Screen.ENDED, 10, "the staff end to reach the terminal")
    reached = time.monotonic() - asked
    calm = screens == {Screen.IN_VISIT} and kiosk.state.ended.reason is EndReason.ENDED_BY_STAFF
    return FaultResult(
        f"central away {seconds:.0f} s",
        recovered_s=reached,
        outcome=f"screen unchanged, video {fps:.0f} fps, staff end shown" if calm else f"screens {screens}",
        events_lost=events_lost(stack),
    )


def _attention(stack: FaultStack) -> list[str]:
    terminals = staff_call(stack.central, "GET", "/terminals", verify=str(stack.authority)).json()
    return [sentence for row in terminals for sentence in row["attention"]]


def _fill(folder: os.PathLike[str]) -> None:
    fd = os.open(os.path.join(folder, "filler"), os.O_WRONLY | os.O_CREAT)
    with contextlib.suppress(OSError):
        while True:
            os.write(fd, bytes(4096))
    os.close(fd)


def call_changes(stack: FaultStack) -> int:
    """How many times the terminal's call status changed during the visit: one audit event each."""
    statuses = [s.call for s in stack.kiosk.states if s.live is not None and s.call is not None]
    return sum(1 for a, b in itertools.pairwise(statuses) if a is not b)


def full_disk(stack: FaultStack) -> FaultResult:
    """The terminal's state folder (a small tmpfs: start the stack with `state_size`) fills up mid-visit; the
    terminal's link drops for 3 s meanwhile, so that the call makes audit events the disk refuses."""
    kiosk = stack.kiosk
    state = stack.central.state / "kiosk-state"
    visit_id = start_visit(stack)
    filled_at = time.monotonic()
    _fill(state)
    stack.network.cut("terminal")
    wait_for(lambda: kiosk.state.call is CallStatus.RECONNECTING, 5, "the cut to be noticed")
    time.sleep(3)
    stack.network.heal()
    wait_for(lambda: kiosk.state.call is CallStatus.CONNECTED, 5, "the call to come back")
    wait_for(lambda: any(DISK_SENTENCE in s for s in _attention(stack)), 20, "staff to be told of the disk")
    told = time.monotonic() - filled_at
    frames = _frames(stack)
    wait_for(lambda: _frames(stack) > frames + 30, 5, "the visit to go on")
    went_on = kiosk.state.screen is Screen.IN_VISIT
    os.unlink(state / "filler")
    wait_for(lambda: not any(DISK_SENTENCE in s for s in _attention(stack)), 20, "the disk's sentence to go")
    end_visit(stack, visit_id)
    wait_for(lambda: "visit_ended" in [k for _i, k in _central_audit(stack, visit_id)], 10, "the end's audit event")
    status_events = [k for _i, k in _central_audit(stack, visit_id)].count("call_status")
    return FaultResult(
        "terminal disk full",
        detected_s=told,
        outcome="went on; staff told" if went_on else "interrupted",
        events_lost=max(0, call_changes(stack) - status_events) + events_lost(stack),
    )


def lossy_link(stack: FaultStack, weak_loss: float = 0.05, poor_loss: float = 0.25) -> FaultResult:
    """The terminal's link loses a share of its packets, first a little, then a lot, then none: what the in-visit
    chip says at each, how soon, and the visit's quality report as central stores it."""
    kiosk = stack.kiosk
    visit_id = start_visit(stack)
    wait_for(lambda: kiosk.state.quality is Quality.GOOD, 10, "the chip to say good")
    seen = []
    took = []
    for share, word in ((weak_loss, Quality.WEAK), (poor_loss, Quality.POOR), (0.0, Quality.GOOD)):
        stack.network.heal()
        if share:
            stack.network.lose("terminal", share)
        started = time.monotonic()
        wait_for(lambda word=word: kiosk.state.quality is word, 15, f"the chip to say {word.value}")
        took.append(time.monotonic() - started)
        seen.append(word.value)
    lost = end_visit(stack, visit_id)
    store = _store(stack)
    try:
        quality = store.visit_quality(visit_id)
    finally:
        store.dispose()
    assert quality is not None, "central stored no quality report"
    received = quality["received"]
    return FaultResult(
        f"terminal link losing {weak_loss:.0%} then {poor_loss:.0%} of packets",
        detected_s=max(took),
        lost_reported_s=lost,
        outcome=f"chip said {', '.join(seen)}",
        events_lost=events_lost(stack),
        detail=(
            f"report: {received['fps']} fps, {received['freezes']} freezes, {received['packet_loss_pct']}% loss, "
            f"{received['rtt_ms']} ms round trip"
        ),
    )
