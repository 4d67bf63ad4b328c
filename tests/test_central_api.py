"""Central's HTTP API in-process, on the real app, store and a real Janus: the terminal protocol, visitor
joins, staff ends, the events long poll and the visit clock. Every refusal is checked to change nothing.
"""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy.exc import OperationalError

from central.demo_data import DEMO_RESIDENT_ID, DEMO_RESIDENT_PIN
from central.server_process import free_port
from central.store import Visit
from central.visits import VisitClock
from kiosk.protocol import API_PREFIX, EndReason, ErrorCode, VisitStatus
from tests.central_harness import TERMINAL, VISIT_SECONDS, assert_error, room_exists, store_unchanged
from tests.waiting import wait_for

pytestmark = pytest.mark.e2e

# -- the terminal's token -----------------------------------------------------------------------------

ENDPOINTS = {
    "identify": ("POST", "/identify", {"resident_id": DEMO_RESIDENT_ID, "pin": DEMO_RESIDENT_PIN}),
    "visits": ("GET", "/visits", None),
    "open": ("POST", "/visits/{visit}/open", None),
    "end": ("POST", "/visits/{visit}/end", {"reason": "ended_by_resident", "media_lost_s": 0}),
    "reception": ("POST", "/visits/{visit}/reception", {"video_kbps": 500, "feeds": 1, "lost": 0}),
    "logout": ("POST", "/logout", None),
    "events": ("GET", "/events?after=0", None),
    "idle": ("GET", "/idle", None),
}
BAD_TOKENS = {
    "none": None,
    "wrong": "Bearer not-a-terminal-token",
    "empty bearer": "Bearer ",
    "token without scheme": "{terminal_token}",
    "staff token": "Bearer {staff_token}",
}


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("authorization", BAD_TOKENS)
def test_every_terminal_endpoint_refuses_a_missing_or_wrong_terminal_token(central, endpoint, authorization):
    session = central.identify()  # a real resident session, so the token is the only thing wrong
    method, path, body = ENDPOINTS[endpoint]
    headers = {"X-Resident-Session": session}
    value = BAD_TOKENS[authorization]
    if value is not None:
        headers["Authorization"] = value.format(terminal_token=central.terminal_token, staff_token=central.staff_token)
    with store_unchanged(central):
        response = central.client.request(
            method, TERMINAL + path.format(visit=central.ready_visit), json=body, headers=headers
        )
    assert_error(response, 401, ErrorCode.TERMINAL_NOT_AUTHORISED)


# -- identify -----------------------------------------------------------------------------------------


def test_the_right_id_and_pin_open_a_session_with_the_residents_visits(central):
    response = central.client.post(
        f"{TERMINAL}/identify",
        json={"resident_id": DEMO_RESIDENT_ID, "pin": DEMO_RESIDENT_PIN},
        headers=central.headers(),
    )
    assert response.status_code == 200, response.text
    session = response.json()
    assert session["display_name"] == "Daniel"
    assert [(v["visit_id"], v["status"], v["visitors"]) for v in session["visits"]] == [
        (central.ready_visit, "ready", ["Maria"]),
        (central.later_visit, "scheduled", ["Rosa"]),
    ]
    # The session works for this terminal straight away.
    listed = central.client.get(f"{TERMINAL}/visits", headers=central.headers(session=session["session_token"]))
    assert listed.status_code == 200
    assert listed.json()["visits"] == session["visits"]


def test_a_wrong_pin_and_an_unknown_id_get_the_same_refusal(central):
    with store_unchanged(central, but=("sign_in_failures",)):
        wrong_pin = central.client.post(
            f"{TERMINAL}/identify", json={"resident_id": DEMO_RESIDENT_ID, "pin": "9999"}, headers=central.headers()
        )
        unknown_id = central.client.post(
            f"{TERMINAL}/identify", json={"resident_id": "55555", "pin": DEMO_RESIDENT_PIN}, headers=central.headers()
        )
    assert_error(wrong_pin, 401, ErrorCode.BAD_CREDENTIALS)
    assert wrong_pin.json() == unknown_id.json(), "the answer must not tell which of ID and PIN was wrong"
    assert unknown_id.status_code == 401
    # Both count towards the lockout, of the resident and of this terminal.
    assert len(central.store.sign_in_failures_since(0, terminal_id=1)) == 2


MALFORMED_IDENTIFY = {
    "missing pin": b'{"resident_id": "1001"}',
    "missing resident_id": b'{"pin": "2468"}',
    "empty object": b"{}",
    "letters in the PIN": b'{"resident_id": "1001", "pin": "24a8"}',
    "3-digit PIN": b'{"resident_id": "1001", "pin": "246"}',
    "9-digit PIN": b'{"resident_id": "1001", "pin": "246824682"}',
    "letters in the ID": b'{"resident_id": "10O1", "pin": "2468"}',
    "numbers instead of strings": b'{"resident_id": 1001, "pin": 2468}',
    "null values": b'{"resident_id": null, "pin": null}',
    "a list": b'["1001", "2468"]',
    "null": b"null",
    "empty body": b"",
    "not JSON": b"resident_id=1001&pin=2468",
    "truncated JSON": b'{"resident_id": "1001", "pin": "24',
    "not UTF-8": b'{"resident_id": "1001", "pin": "2468\xff"}',
}


@pytest.mark.parametrize("case", MALFORMED_IDENTIFY)
def test_a_malformed_identify_body_is_400_invalid_request(central, case):
    headers = {**central.headers(), "Content-Type": "application/json"}
    with store_unchanged(central):
        response = central.client.post(f"{TERMINAL}/identify", content=MALFORMED_IDENTIFY[case], headers=headers)
    assert_error(response, 400, ErrorCode.INVALID_REQUEST)
    assert DEMO_RESIDENT_PIN not in response.text, "an error must never echo a PIN"


AN_AUDIT_EVENT = {"event_id": "event-0001", "kind": "visit_started", "at": "2026-12-06T10:00:00+00:00"}
# What a lax reader would take and store anyway; the schema central publishes says each is wrong.
LOOSE_FIELDS = {
    "a date as seconds": ("audit", {"events": [{**AN_AUDIT_EVENT, "at": 1796593657.3}]}),
    "a date as digits": ("audit", {"events": [{**AN_AUDIT_EVENT, "at": "1796593657"}]}),
    "a visit id as text": ("audit", {"events": [{**AN_AUDIT_EVENT, "visit_id": "1"}]}),
    "seconds as text": ("visits/{visit}/end", {"reason": "hung_up", "media_lost_s": "3.5"}),
    "a count as text": (
        "visits/{visit}/end",
        {"reason": "hung_up", "quality": {"received": {"freezes": "2"}, "sent": {}, "reconnects": 0}},
    ),
}


@pytest.mark.parametrize("case", LOOSE_FIELDS)
def test_a_value_of_the_wrong_type_is_refused_not_converted(central, case):
    path, body = LOOSE_FIELDS[case]
    with store_unchanged(central):
        response = central.client.post(
            f"{TERMINAL}/{path.format(visit=central.ready_visit)}", json=body, headers=central.headers()
        )
    assert_error(response, 400, ErrorCode.INVALID_REQUEST)


def test_an_audit_event_as_the_schema_says_is_stored(central):
    response = central.client.post(f"{TERMINAL}/audit", json={"events": [AN_AUDIT_EVENT]}, headers=central.headers())
    assert response.json() == {"stored": 1, "duplicates": 0}
    assert [e["kind"] for e in central.store.audit_events(terminal_id=1)] == ["visit_started"]


# -- the resident session -----------------------------------------------------------------------------


@pytest.fixture
def second_terminal_token(central) -> str:
    _, token = central.store.add_terminal("B North terminal 2", "Harbor County Detention Center, Unit B North")
    return token


@pytest.mark.parametrize("session_kind", ["missing", "unknown", "another terminal's"])
@pytest.mark.parametrize("action", ["visits", "open"])
def test_visits_and_open_need_this_terminals_resident_session(central, second_terminal_token, session_kind, action):
    session = central.identify()
    token = central.terminal_token
    if session_kind == "missing":
        session = None
    elif session_kind == "unknown":
        session = "not-a-session"
    else:
        token = second_terminal_token
    headers = central.headers(token, session)
    with store_unchanged(central):
        if action == "visits":
            response = central.client.get(f"{TERMINAL}/visits", headers=headers)
        else:
            response = central.client.post(f"{TERMINAL}/visits/{central.ready_visit}/open", headers=headers)
    assert_error(response, 401, ErrorCode.SESSION_EXPIRED)


def test_another_terminal_cannot_end_this_terminals_visit(central, second_terminal_token):
    session = central.identify()
    assert central.open(session, central.ready_visit).status_code == 200
    with store_unchanged(central):
        response = central.client.post(
            f"{TERMINAL}/visits/{central.ready_visit}/end",
            json={"reason": "hung_up"},
            headers=central.headers(second_terminal_token, session),
        )
    assert_error(response, 404, ErrorCode.UNKNOWN_VISIT)


def test_logging_out_ends_the_session(central):
    session = central.identify()
    assert central.client.post(f"{TERMINAL}/logout", headers=central.headers(session=session)).status_code == 204
    response = central.client.get(f"{TERMINAL}/visits", headers=central.headers(session=session))
    assert_error(response, 401, ErrorCode.SESSION_EXPIRED)


# -- opening a visit ----------------------------------------------------------------------------------


def test_opening_the_ready_visit_grants_its_room_and_never_its_secret(central):
    session = central.identify()
    response = central.open(session, central.ready_visit)
    assert response.status_code == 200, response.text
    grant = response.json()
    assert grant["visit_id"] == central.ready_visit
    assert grant["janus_url"] == central.janus_url
    assert VISIT_SECONDS - 30 < grant["seconds_left"] <= VISIT_SECONDS
    assert grant["warnings_s"] == [300, 60]
    assert grant["recorded"] is True
    assert grant["visitors"] == ["Maria"]
    assert grant["pin"]

    visit = central.store.visit(central.ready_visit)
    assert visit is not None and visit.room_secret
    assert (visit.room, visit.room_pin) == (grant["room"], grant["pin"])
    assert visit.room_secret not in response.text
    assert "secret" not in response.text
    assert visit.status is VisitStatus.LIVE
    assert room_exists(central.janus_url, grant["room"])

    again = central.open(session, central.ready_visit)
    assert again.status_code == 200
    assert (again.json()["room"], again.json()["pin"]) == (grant["room"], grant["pin"])


def test_opening_a_visit_that_is_not_ready_yet_is_409(central):
    session = central.identify()
    with store_unchanged(central):
        response = central.open(session, central.later_visit)
    assert_error(response, 409, ErrorCode.NOT_READY)


def test_opening_another_residents_or_a_missing_visit_is_404(central):
    central.store.add_resident("2002", "Luis", "1357", "Unit B North")
    visitor = central.store.add_visitor("Ana")
    now = time.time()
    theirs = central.store.add_visit("2002", now - 60, now + 600, {visitor: "c0ffee00c0ffee00"})
    session = central.identify()
    with store_unchanged(central):
        not_theirs = central.open(session, theirs)
        missing = central.open(session, 999_999)
    assert_error(not_theirs, 404, ErrorCode.UNKNOWN_VISIT)
    assert_error(missing, 404, ErrorCode.UNKNOWN_VISIT)


def test_opening_with_janus_unreachable_is_503_and_leaves_the_visit_ready(make_central):
    central = make_central(janus_url=f"http://127.0.0.1:{free_port()}/janus")
    session = central.identify()
    with store_unchanged(central):
        response = central.open(session, central.ready_visit)
    assert_error(response, 503, ErrorCode.MEDIA_UNAVAILABLE)
    visit = central.store.visit(central.ready_visit)
    assert visit is not None
    assert (visit.status, visit.room, visit.terminal_id) == (VisitStatus.SCHEDULED, None, None)
    listed = central.client.get(f"{TERMINAL}/visits", headers=central.headers(session=session)).json()
    assert listed["visits"][0]["status"] == "ready"


# -- the visitor --------------------------------------------------------------------------------------


def test_a_visitor_joins_with_their_code_into_the_residents_room(central):
    response = central.client.post(f"{API_PREFIX}/visitor/join", json={"code": central.visitor_code})
    assert response.status_code == 200, response.text
    grant = response.json()
    assert grant["display"] == "Maria"
    assert grant["visit_id"] == central.ready_visit
    assert room_exists(central.janus_url, grant["room"])
    visit = central.store.visit(central.ready_visit)
    assert visit is not None and visit.room_secret and visit.room_secret not in response.text

    resident = central.open(central.identify(), central.ready_visit).json()
    assert (resident["room"], resident["pin"]) == (grant["room"], grant["pin"])


VISITOR_CODES = {
    "wrong code": ({"code": "0123456789abcdef"}, 404, ErrorCode.UNKNOWN_VISIT),
    "too short": ({"code": "abc"}, 400, ErrorCode.INVALID_REQUEST),
    "too long": ({"code": "a" * 33}, 400, ErrorCode.INVALID_REQUEST),
    "path characters": ({"code": "../../etc/passwd"}, 400, ErrorCode.INVALID_REQUEST),
    "a number": ({"code": 12345678}, 400, ErrorCode.INVALID_REQUEST),
    "missing": ({}, 400, ErrorCode.INVALID_REQUEST),
}


@pytest.mark.parametrize("case", VISITOR_CODES)
def test_a_wrong_or_malformed_visitor_code_is_refused(central, case):
    body, status, code = VISITOR_CODES[case]
    with store_unchanged(central):
        response = central.client.post(f"{API_PREFIX}/visitor/join", json=body)
    assert_error(response, status, code)


# -- ending -------------------------------------------------------------------------------------------


def test_the_terminal_ends_its_visit_the_room_closes_and_lost_media_is_recorded(central):
    session = central.identify()
    room = central.open(session, central.ready_visit).json()["room"]
    response = central.end(session, central.ready_visit, reason="ended_by_resident", lost=3.5)
    assert response.status_code == 204, response.text
    visit = central.store.visit(central.ready_visit)
    assert visit is not None
    assert (visit.status, visit.end_reason) == (VisitStatus.ENDED, EndReason.ENDED_BY_RESIDENT)
    assert central.store.media_lost(central.ready_visit) == pytest.approx(3.5)
    assert not room_exists(central.janus_url, room)
    # The visit is over: nobody can open it again.
    assert_error(central.open(session, central.ready_visit), 409, ErrorCode.VISIT_OVER)


def test_ending_a_visit_again_is_harmless(central):
    session = central.identify()
    central.open(session, central.ready_visit)
    assert central.end(session, central.ready_visit, reason="hung_up", lost=2.0).status_code == 204
    # The same report again (a retry after a lost answer) and a different one.
    with store_unchanged(central):
        assert central.end(session, central.ready_visit, reason="hung_up", lost=2.0).status_code == 204
        assert central.end(session, central.ready_visit, reason="ended_by_resident").status_code == 204
    visit = central.store.visit(central.ready_visit)
    assert visit is not None and visit.end_reason is EndReason.HUNG_UP
    assert central.store.media_lost(central.ready_visit) == pytest.approx(2.0)


def test_the_end_report_needs_no_resident_session_which_may_have_expired_mid_visit(central):
    session = central.identify()
    central.open(session, central.ready_visit)
    central.client.post(f"{TERMINAL}/logout", headers=central.headers(session=session))
    response = central.client.post(
        f"{TERMINAL}/visits/{central.ready_visit}/end",
        json={"reason": "hung_up", "media_lost_s": 1.5},
        headers=central.headers(),
    )
    assert response.status_code == 204, response.text
    visit = central.store.visit(central.ready_visit)
    assert visit is not None and visit.end_reason is EndReason.HUNG_UP
    assert central.store.media_lost(central.ready_visit) == pytest.approx(1.5)


def test_the_terminals_report_after_central_ended_the_visit_still_records_lost_media(central):
    session = central.identify()
    central.open(session, central.ready_visit)
    visit = central.store.visit(central.ready_visit)
    assert visit is not None
    central.visits.end_due(visit.ends_at)  # time is up: central ends the visit, then the terminal reports
    assert central.end(session, central.ready_visit, reason="time_up", lost=4.0).status_code == 204
    assert central.store.media_lost(central.ready_visit) == pytest.approx(4.0)
    ended = central.store.visit(central.ready_visit)
    assert ended is not None and ended.end_reason is EndReason.TIME_UP


def test_a_terminal_cannot_end_a_visit_it_did_not_open(central):
    session = central.identify()
    with store_unchanged(central):
        response = central.end(session, central.ready_visit)
    assert_error(response, 404, ErrorCode.UNKNOWN_VISIT)


# -- what each participant's link carries ---------------------------------------------------------------


def _reception(central, video_kbps: float, lost: float, visitor: bool = False):
    body = {"video_kbps": video_kbps, "feeds": 1, "lost": lost}
    if visitor:
        return central.client.post(f"{API_PREFIX}/visitor/reception", json={**body, "code": central.visitor_code})
    path = f"{TERMINAL}/visits/{central.ready_visit}/reception"
    return central.client.post(path, json=body, headers=central.headers())


def test_a_visitor_whose_link_fills_caps_the_terminals_video_and_lets_it_rise_once_it_clears(central):
    central.open(central.identify(), central.ready_visit)
    assert _reception(central, 780, 0.0).json() == {"video_kbps": None}, "a clean link caps nobody"
    for _ in range(3):  # the visitor's link carries 300 kbps and loses the rest
        answer = _reception(central, 300, 0.6, visitor=True)
    assert answer.status_code == 200, answer.text
    capped = _reception(central, 780, 0.0).json()["video_kbps"]
    assert 200 <= capped <= 300, f"the terminal's cap {capped} kbps does not fit the visitor's 300 kbps link"
    for _ in range(10):  # the link clears (its cap lifts once clear for long: tests/test_video_caps.py)
        _reception(central, 250, 0.0, visitor=True)
    assert _reception(central, 780, 0.0).json()["video_kbps"] > capped


def test_a_reception_report_for_a_visit_not_on_this_terminal_or_out_of_range_is_refused(central):
    with store_unchanged(central):
        assert_error(_reception(central, 500, 0.0), 404, ErrorCode.UNKNOWN_VISIT)
    central.open(central.identify(), central.ready_visit)
    for video_kbps, lost in ((-1, 0.0), (500, 1.5), ("500", 0.0)):
        assert_error(_reception(central, video_kbps, lost), 400, ErrorCode.INVALID_REQUEST)


@pytest.mark.parametrize("token", [None, "wrong-staff-token", "{terminal_token}"])
def test_staff_end_needs_the_staff_token(central, token):
    central.open(central.identify(), central.ready_visit)
    with store_unchanged(central):
        response = central.staff_end(
            central.ready_visit, "Count time", token and token.format(terminal_token=central.terminal_token)
        )
    assert_error(response, 401, ErrorCode.TERMINAL_NOT_AUTHORISED)


def test_staff_end_closes_the_room_and_tells_the_terminal_why(central):
    room = central.open(central.identify(), central.ready_visit).json()["room"]
    response = central.staff_end(central.ready_visit, "Lockdown: all visits end now.", central.staff_token)
    assert response.status_code == 204, response.text
    visit = central.store.visit(central.ready_visit)
    assert visit is not None
    assert (visit.status, visit.end_reason) == (VisitStatus.ENDED_BY_STAFF, EndReason.ENDED_BY_STAFF)
    assert not room_exists(central.janus_url, room)

    batch = central.events(after=0).json()
    assert [(e["type"], e["visit_id"], e["reason"], e["message"]) for e in batch["events"]] == [
        ("visit_ended", central.ready_visit, "ended_by_staff", "Lockdown: all visits end now.")
    ]
    assert batch["next_after"] == batch["events"][0]["seq"]

    with store_unchanged(central):
        again = central.staff_end(central.ready_visit, "Lockdown again.", central.staff_token)
    assert_error(again, 404, ErrorCode.UNKNOWN_VISIT)


def test_the_visitor_page_learns_the_visits_state_and_staffs_reason(central):
    status = central.client.get(f"{API_PREFIX}/visitor/status", params={"code": central.visitor_code})
    assert status.status_code == 200, status.text
    body = status.json()
    assert (body["display"], body["visit"]["status"], body["end_reason"]) == ("Maria", "ready", None)
    assert body["seconds_left"] > 0
    central.open(central.identify(), central.ready_visit)
    central.staff_end(central.ready_visit, "Lockdown: all visits end now.", central.staff_token)
    body = central.client.get(f"{API_PREFIX}/visitor/status", params={"code": central.visitor_code}).json()
    assert (body["visit"]["status"], body["end_reason"], body["message"]) == (
        "ended_by_staff",
        "ended_by_staff",
        "Lockdown: all visits end now.",
    )
    unknown = central.client.get(f"{API_PREFIX}/visitor/status", params={"code": "nosuchcode1"})
    assert_error(unknown, 404, ErrorCode.UNKNOWN_VISIT)
    assert_error(
        central.client.get(f"{API_PREFIX}/visitor/status", params={"code": "x"}), 400, ErrorCode.INVALID_REQUEST
    )


# -- the events long poll -----------------------------------------------------------------------------


def test_events_after_minus_one_is_the_current_position_at_once(central):
    central.open(central.identify(), central.ready_visit)
    central.staff_end(central.ready_visit, "Count time", central.staff_token)
    seq = central.events(after=0).json()["events"][0]["seq"]
    started = time.monotonic()
    batch = central.events(after=-1, wait=10).json()
    assert time.monotonic() - started < 1.0
    assert batch == {"events": [], "next_after": seq}


def test_a_poll_with_nothing_to_say_returns_after_its_wait(central):
    started = time.monotonic()
    response = central.events(after=0, wait=2)
    elapsed = time.monotonic() - started
    assert response.status_code == 200
    assert response.json() == {"events": [], "next_after": 0}
    assert 1.9 <= elapsed < 3.0


def test_a_waiting_poll_returns_as_soon_as_staff_end_the_visit(central):
    central.open(central.identify(), central.ready_visit)
    after = central.events(after=-1).json()["next_after"]
    staff = threading.Timer(0.5, central.staff_end, (central.ready_visit, "Count time", central.staff_token))
    started = time.monotonic()
    staff.start()
    try:
        response = central.events(after=after, wait=10)
    finally:
        staff.join()
    elapsed = time.monotonic() - started
    assert response.status_code == 200
    assert [(e["visit_id"], e["reason"]) for e in response.json()["events"]] == [
        (central.ready_visit, "ended_by_staff")
    ]
    assert elapsed < 2.0, f"the poll waited {elapsed:.1f} s after the visit ended"


def test_another_terminals_poll_does_not_see_the_event(central, second_terminal_token):
    central.open(central.identify(), central.ready_visit)
    central.staff_end(central.ready_visit, "Count time", central.staff_token)
    assert central.events(after=0, token=second_terminal_token).json()["events"] == []


# -- the visit clock ----------------------------------------------------------------------------------


def test_the_clock_ends_a_visit_at_its_end_and_closes_its_room(make_central):
    central = make_central(visit_seconds=2)
    clock = VisitClock(central.visits, central.store)
    clock.start()
    try:
        room = central.open(central.identify(), central.ready_visit).json()["room"]
        visit = central.store.visit(central.ready_visit)
        assert visit is not None and visit.status is VisitStatus.LIVE
        ended: list[float] = []

        def is_ended() -> bool:
            found = central.store.visit(central.ready_visit)
            if found is not None and not found.is_open:
                ended.append(time.time())
            return bool(ended)

        wait_for(is_ended, 5, "the clock to end the visit")
        assert -0.05 <= ended[0] - visit.ends_at < 1.0, f"ended {ended[0] - visit.ends_at:+.2f} s from its end"
        final = central.store.visit(central.ready_visit)
        assert final is not None and final.end_reason is EndReason.TIME_UP
        # The room is closed just after the visit is marked ended, still within a second of its end.
        wait_for(
            lambda: not room_exists(central.janus_url, room), max(0.0, visit.ends_at + 1.0 - time.time()), "the room"
        )
        assert [e["reason"] for e in central.events(after=0).json()["events"]] == ["time_up"]
        later = central.store.visit(central.later_visit)
        assert later is not None and later.is_open, "the clock must only end visits that are due"
    finally:
        clock.stop()


def test_the_clock_survives_a_database_failure_at_the_end_and_still_ends_the_visit_on_time(make_central):
    central = make_central(visit_seconds=2)
    central.open(central.identify(), central.ready_visit)
    visit = central.store.visit(central.ready_visit)
    assert visit is not None
    due_visits = central.store.open_visits_ending_by
    failed: list[float] = []

    def fails_once_when_due(at: float) -> list[Visit]:
        if at >= visit.ends_at and not failed:
            failed.append(at)
            raise OperationalError("SELECT", {}, Exception("the database is restarting"))
        return due_visits(at)

    central.store.open_visits_ending_by = fails_once_when_due  # type: ignore[method-assign]
    clock = VisitClock(central.visits, central.store)
    clock.start()
    try:
        wait_for(lambda: not central.store.visit(central.ready_visit).is_open, 5, "the clock to end the visit")
        ended_at = time.time()
        assert failed, "the database failure was not met"
        assert ended_at - visit.ends_at < 1.0, f"ended {ended_at - visit.ends_at:.2f} s after its end"
        assert clock._thread.is_alive()
    finally:
        clock.stop()


def test_a_terminal_ahead_of_centrals_events_is_brought_back_to_where_central_is(central):
    """Central's database was restored from a backup: the terminal's position is past its last event."""
    central.open(central.identify(), central.ready_visit)
    central.staff_end(central.ready_visit, "Count time", central.staff_token)
    last = central.events(after=-1).json()["next_after"]
    started = time.monotonic()
    assert central.events(after=last + 500, wait=10).json() == {"events": [], "next_after": last}
    assert time.monotonic() - started < 1.0, "the terminal is told at once, not after the long poll"


def test_a_field_a_newer_terminal_sends_is_skipped_not_refused(central):
    body = {"resident_id": DEMO_RESIDENT_ID, "pin": DEMO_RESIDENT_PIN, "language_hint": "es"}
    response = central.client.post(f"{TERMINAL}/identify", json=body, headers=central.headers())
    assert response.status_code == 200
    beat = {"version": "9.0", "health": {"camera": "ok"}, "uptime_s": 40}
    assert central.client.post(f"{TERMINAL}/heartbeat", json=beat, headers=central.headers()).status_code == 204


# -- the published protocol ---------------------------------------------------------------------------


def test_openapi_lists_the_terminal_endpoints(central):
    response = central.client.get("/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path, method in [
        ("/identify", "post"),
        ("/visits", "get"),
        ("/visits/{visit_id}/open", "post"),
        ("/visits/{visit_id}/end", "post"),
        ("/visits/{visit_id}/reception", "post"),
        ("/logout", "post"),
        ("/events", "get"),
        ("/idle", "get"),
    ]:
        assert method in paths.get(TERMINAL + path, {}), f"{method.upper()} {path} is not published"
    schemas = response.json()["components"]["schemas"]
    for model in ("ErrorBody", "IdleInfo", "VisitCallout", "Notice", "CalloutPrivacy", "FacilitySettings", "VideoCap"):
        assert model in schemas, f"{model} is not published"
