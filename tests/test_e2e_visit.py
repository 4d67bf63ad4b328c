"""A whole visit on the real stack: Janus + central + the terminal core + the simulated visitor."""

from __future__ import annotations

import itertools
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import av
import pytest

from central.demo_data import DEMO_RESIDENT_ID, DEMO_RESIDENT_PIN
from central.server_process import CentralProcess
from central.simulated_visitor import VISITOR_TONE_HZ, SimulatedVisitor
from central.store import Store
from drivers.frame_stamp import read_stamp
from kiosk.call_status import CallStatus
from kiosk.janus_client import JanusSession
from kiosk.protocol import EndReason
from kiosk.visit_machine import CredentialsEntered, EndTapped, NoticeAccepted, Screen, StartTapped, VisitChosen
from tests.conftest import kiosk_config, staff_call
from tests.terminal_harness import HarnessTerminal
from tests.waiting import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

VISIT_SECONDS = 25.0


def _convert(mjr: Path) -> Path:
    out = mjr.with_suffix(".webm" if "-video-" in mjr.name else ".opus")
    subprocess.run(["janus-pp-rec", str(mjr), str(out)], check=True, capture_output=True)
    return out


@pytest.fixture
def visit_stack(start_central):
    """Makes central (with the demo data), the simulated visitor Maria and a terminal core; stops them after."""
    made: list[tuple[HarnessTerminal, SimulatedVisitor]] = []

    def make(visit_seconds: float = 1800.0) -> tuple[CentralProcess, SimulatedVisitor, HarnessTerminal]:
        central = start_central(visit_seconds=visit_seconds)
        visitor = SimulatedVisitor(central.url, central.secret("visitor-code"))
        visitor.start()
        kiosk = HarnessTerminal.for_central(kiosk_config(central.url, central.state / "terminal-token"), central)
        made.append((kiosk, visitor))
        return central, visitor, kiosk

    yield make
    for kiosk, visitor in made:
        kiosk.stop()
        visitor.stop()


def enter_visit(kiosk: HarnessTerminal) -> None:
    """Signs the demo resident in, picks the ready visit, accepts the notice and lifts the handset."""
    kiosk.terminal.post(StartTapped())
    kiosk.terminal.post(CredentialsEntered(DEMO_RESIDENT_ID, DEMO_RESIDENT_PIN))
    wait_for(lambda: kiosk.state.screen is Screen.VISIT_LIST, 10, "the visit list")
    ready = [v for v in kiosk.state.visits if v.status.value == "ready"]
    assert [v.visitors for v in ready] == [["Maria"]]
    kiosk.terminal.post(VisitChosen(ready[0].visit_id))
    kiosk.terminal.post(NoticeAccepted())
    wait_for(lambda: kiosk.state.screen is Screen.PRE_VISIT and kiosk.state.notice_accepted, 5, "the notice")
    kiosk.handset.hook.lift()
    wait_for(lambda: kiosk.state.call is CallStatus.CONNECTED, 10, "the call to connect")


def test_a_whole_visit_flows_both_ways_ends_on_time_and_is_recorded(visit_stack, janus):
    central, visitor, kiosk = visit_stack(VISIT_SECONDS)
    try:
        enter_visit(kiosk)
        wait_for(lambda: len(kiosk.received.counters) > 60 and len(visitor.received.counters) > 60, 10, "video")

        # Video flows both ways and moves: counters only go up, and by about one per frame.
        for direction, log in (("visitor -> terminal", kiosk.received), ("terminal -> visitor", visitor.received)):
            recent = log.counters[-60:]
            assert all(b > a for a, b in itertools.pairwise(recent)), "video is stuck or reordered"
            assert recent[-1] - recent[0] < 90, "frames are being dropped"
            latencies = sorted(log.latencies_ms)
            median, p95 = latencies[len(latencies) // 2], latencies[int(len(latencies) * 0.95)]
            # Shown with -s; the bench issue measures these properly, beside a browser.
            print(f"{direction}: {len(latencies)} frames, capture to decoded median {median} ms, p95 {p95} ms")
            assert median < 250
        # The resident hears the visitor's tone in the earpiece, and the visitor hears the resident.
        assert abs(kiosk.handset.earpiece.dominant_frequency() - VISITOR_TONE_HZ) < 15
        assert kiosk.handset.earpiece.level_dbfs() > -30
        assert abs(visitor.handset.earpiece.dominant_frequency() - 440.0) < 15

        # The visit ends at its scheduled end, to within a fraction of a second.
        ends_at = visitor.grant.ends_at
        wait_for(lambda: kiosk.state.screen is Screen.ENDED, VISIT_SECONDS + 5, "the end of the visit")
        ended_wall = datetime.now(UTC)
        assert abs((ended_wall - ends_at).total_seconds()) < 1.0
        assert kiosk.state.ended.reason is EndReason.TIME_UP
        # Both leave the room, and the room is gone from Janus.
        wait_for(visitor.room_closed.is_set, 5, "the visitor to be told the room closed")
        wait_for(lambda: kiosk.terminal.call is None, 5, "the terminal to leave the call")
        session = JanusSession(janus.url)
        session.create()
        exists = session.request(session.attach(), {"request": "exists", "room": visitor.grant.room})
        session.destroy()
        assert exists["exists"] is False

        # The terminal's audit trail of the visit reached central.
        def audited() -> list[str]:
            found = staff_call(central, "GET", "/audit", params={"visit_id": visitor.grant.visit_id})
            return [e["kind"] for e in found.json()]

        wait_for(lambda: "visit_ended" in audited(), 10, "the audit trail to reach central")
        assert audited()[:2] == ["visit_opened", "call_status"]
    finally:
        kiosk.stop()
        visitor.stop()

    # Janus recorded both participants' audio and video, and the recordings decode.
    recordings = sorted((central.state / "recordings").glob("visit-*/*.mjr"))
    assert len(recordings) == 4, recordings
    for mjr in recordings:
        with av.open(str(_convert(mjr))) as container:
            stream = container.streams[0]
            kind = stream.type
            frames = list(container.decode(stream))
            images = [f.to_ndarray(format="rgb24") for f in frames[-30:]] if kind == "video" else []
        assert len(frames) > 100, f"{mjr.name} holds only {len(frames)} frames"
        if kind == "video":
            stamps = [read_stamp(image) for image in images]
            assert sum(s is not None for s in stamps) > 20, "the recorded video is not the call's video"


def test_staff_ending_a_visit_reaches_the_terminal_with_the_reason_within_two_seconds(visit_stack):
    central, visitor, kiosk = visit_stack()
    enter_visit(kiosk)
    visit_id = kiosk.state.live.visit_id
    asked = time.monotonic()
    response = staff_call(central, "POST", f"/visits/{visit_id}/end", json={"reason": "Count time in the unit"})
    assert response.status_code == 204
    wait_for(lambda: kiosk.state.screen is Screen.ENDED, 2, "the terminal to show the end")
    assert time.monotonic() - asked < 2
    wait_for(lambda: kiosk.state.ended.message == "Count time in the unit", 2, "staff's reason on the screen")
    assert kiosk.state.ended.reason is EndReason.ENDED_BY_STAFF
    wait_for(visitor.room_closed.is_set, 5, "the visitor to leave")


def test_a_visit_survives_losing_its_media_and_central_is_told_how_long(visit_stack):
    central, visitor, kiosk = visit_stack()
    enter_visit(kiosk)
    wait_for(lambda: len(kiosk.received.counters) > 30 and len(visitor.received.counters) > 30, 10, "video")
    live = kiosk.state.live
    engine = kiosk.terminal.call
    kiosk.core.call_soon(engine.drop_media)
    wait_for(lambda: CallStatus.RECONNECTING in [s.call for s in kiosk.states], 5, "the reconnecting state")
    seen_by_kiosk, seen_by_visitor = len(kiosk.received.counters), len(visitor.received.counters)
    wait_for(lambda: kiosk.state.call is CallStatus.CONNECTED, 15, "the call to come back")
    wait_for(lambda: len(kiosk.received.counters) > seen_by_kiosk + 30, 10, "the visitor's video to return")
    wait_for(lambda: len(visitor.received.counters) > seen_by_visitor + 30, 10, "the resident's video to return")
    # The visit, its clock and its screen stayed where they were.
    assert kiosk.state.screen is Screen.IN_VISIT
    assert kiosk.state.live == live
    assert engine.reconnects == 1
    lost = engine.media_lost_seconds
    print(f"media lost while both connections were rebuilt: {lost:.2f} s")
    assert 0 < lost < 10
    kiosk.terminal.post(EndTapped())
    wait_for(lambda: kiosk.state.screen is Screen.ENDED, 5, "the end")
    store = Store(central.state / "central.sqlite3")
    wait_for(lambda: store.media_lost(live.visit_id) > 0, 5, "central to record the lost media")
    assert store.media_lost(live.visit_id) == pytest.approx(lost, abs=0.01)


def test_visitors_see_the_card_and_still_hear_the_resident_when_the_camera_is_lost(visit_stack):
    _, visitor, kiosk = visit_stack()
    enter_visit(kiosk)
    wait_for(lambda: len(visitor.received.counters) > 30, 10, "the resident's video at the visitor")
    kiosk.camera.stop()  # the camera is pulled out mid-visit
    unreadable = visitor.received.unreadable
    wait_for(lambda: visitor.received.unreadable > unreadable + 2, 5, "the paused card at the visitor")
    # The sound goes on: the visitor keeps hearing the resident's tone, fresh.
    heard = visitor.handset.earpiece.samples_played
    wait_for(lambda: visitor.handset.earpiece.samples_played > heard + 48_000, 3, "a second more of sound")
    assert abs(visitor.handset.earpiece.dominant_frequency() - 440.0) < 15
    kiosk.camera.start()
    counted = len(visitor.received.counters)
    wait_for(lambda: len(visitor.received.counters) > counted + 30, 10, "the picture to come back")
