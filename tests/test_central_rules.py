"""Central's rules beyond the basic flow, on SQLite and PostgreSQL: PIN lockout per resident and per
terminal, privileged visits, missed visits, cancellation with a reason, heartbeats and the audit log."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

import pytest

from central.visits import VisitClock, VisitRules
from kiosk.janus_client import JanusSession
from kiosk.protocol import API_PREFIX, ErrorCode
from tests.central_harness import TERMINAL, Central, assert_error, store_unchanged
from tests.waiting import wait_for

STAFF = f"{API_PREFIX}/staff"


def sign_in(central: Central, resident_id: str, pin: str, token: str | None = None):
    return central.client.post(
        f"{TERMINAL}/identify", json={"resident_id": resident_id, "pin": pin}, headers=central.headers(token)
    )


def staff_headers(central: Central) -> dict[str, str]:
    return {"Authorization": f"Bearer {central.staff_token}"}


# -- PIN lockout ----------------------------------------------------------------------------------------


def test_five_wrong_pins_lock_the_resident_and_even_the_right_pin_waits(central):
    for _ in range(4):
        assert_error(sign_in(central, "1001", "9999"), 401, ErrorCode.BAD_CREDENTIALS)
    fifth = sign_in(central, "1001", "9999")
    assert_error(fifth, 429, ErrorCode.LOCKED)
    assert 890 <= fifth.json()["retry_after_s"] <= 900
    assert fifth.headers["Retry-After"] == str(fifth.json()["retry_after_s"])
    with store_unchanged(central):  # a locked account's attempts are not even checked
        assert_error(sign_in(central, "1001", "2468"), 429, ErrorCode.LOCKED)


def test_a_lockout_ends_after_its_time_and_the_right_pin_clears_the_count(make_central):
    central = make_central(rules=VisitRules(lockout_failures=3, lockout_s=1.5))
    for _ in range(2):
        sign_in(central, "1001", "9999")
    assert_error(sign_in(central, "1001", "9999"), 429, ErrorCode.LOCKED)
    time.sleep(1.6)  # the lockout's own length, set to 1.5 s for this test
    assert sign_in(central, "1001", "2468").status_code == 200
    for _ in range(2):
        assert_error(sign_in(central, "1001", "9999"), 401, ErrorCode.BAD_CREDENTIALS)


def test_guessing_across_ids_locks_the_terminal_but_not_the_resident_elsewhere(central):
    for number in ("5001", "5002", "5003", "5004"):
        assert_error(sign_in(central, number, "1234"), 401, ErrorCode.BAD_CREDENTIALS)
    assert_error(sign_in(central, "5005", "1234"), 429, ErrorCode.LOCKED)
    assert_error(sign_in(central, "1001", "2468"), 429, ErrorCode.LOCKED)
    _, other_token = central.store.add_terminal("B North terminal 2", "Unit B North")
    assert sign_in(central, "1001", "2468", token=other_token).status_code == 200


# -- privileged visits, missed visits, cancellation -------------------------------------------------------


def _room_record_flag(janus_url: str, admin_key: str, room: int) -> bool:
    janus = JanusSession(janus_url)
    janus.create()
    try:
        listed = janus.request(janus.attach(), {"request": "list", "admin_key": admin_key})
    finally:
        janus.destroy()
    return next(bool(r["record"]) for r in listed["list"] if r["room"] == room)


def test_a_privileged_visit_is_not_recorded_and_says_so(central, janus):
    now = time.time()
    visitor = central.store.add_visitor("Ms. Chen (attorney)")
    visit_id = central.store.add_visit("1001", now - 60, now + 600, {visitor: "attorneycode1"}, privileged=True)
    session = central.identify()
    listed = central.client.get(f"{TERMINAL}/visits", headers=central.headers(session=session)).json()["visits"]
    summary = next(v for v in listed if v["visit_id"] == visit_id)
    assert (summary["privileged"], summary["recorded"]) == (True, False)
    grant = central.open(session, visit_id).json()
    assert grant["recorded"] is False
    assert _room_record_flag(janus.url, janus.settings.admin_key, grant["room"]) is False
    recorded = central.open(session, central.ready_visit).json()
    assert _room_record_flag(janus.url, janus.settings.admin_key, recorded["room"]) is True


def test_a_visit_nobody_opened_is_marked_missed_at_its_end(make_central):
    central = make_central(visit_seconds=0.5)
    clock = VisitClock(central.visits, central.store)
    clock.start()
    try:
        wait_for(lambda: central.store.visit(central.ready_visit).status.value == "no_show", 5, "the missed visit")
    finally:
        clock.stop()
    assert central.store.visit(central.ready_visit).end_reason is None
    assert central.store.visit(central.later_visit).status.value == "scheduled"


def test_cancelling_needs_a_reason_and_the_resident_and_visitor_both_see_it(central):
    with store_unchanged(central):
        short = central.client.post(
            f"{STAFF}/visits/{central.later_visit}/cancel", json={"reason": ""}, headers=staff_headers(central)
        )
    assert_error(short, 400, ErrorCode.INVALID_REQUEST)
    reason = "Your visitor asked to move the visit to Friday."
    response = central.client.post(
        f"{STAFF}/visits/{central.ready_visit}/cancel", json={"reason": reason}, headers=staff_headers(central)
    )
    assert response.status_code == 204, response.text
    session = central.identify()
    listed = central.client.get(f"{TERMINAL}/visits", headers=central.headers(session=session)).json()["visits"]
    cancelled = next(v for v in listed if v["visit_id"] == central.ready_visit)
    assert (cancelled["status"], cancelled["status_reason"]) == ("cancelled", reason)
    assert_error(central.open(session, central.ready_visit), 409, ErrorCode.VISIT_OVER)
    seen = central.client.get(f"{API_PREFIX}/visitor/status", params={"code": central.visitor_code}).json()
    assert (seen["visit"]["status"], seen["visit"]["status_reason"]) == ("cancelled", reason)
    again = central.client.post(
        f"{STAFF}/visits/{central.ready_visit}/cancel", json={"reason": reason}, headers=staff_headers(central)
    )
    assert_error(again, 404, ErrorCode.UNKNOWN_VISIT)


def test_cancelling_a_live_visit_ends_it_and_tells_the_terminal_why(central, janus):
    room = central.open(central.identify(), central.ready_visit).json()["room"]
    reason = "Facility lockdown."
    response = central.client.post(
        f"{STAFF}/visits/{central.ready_visit}/cancel", json={"reason": reason}, headers=staff_headers(central)
    )
    assert response.status_code == 204
    events = central.events(after=0).json()["events"]
    assert [(e["reason"], e["message"]) for e in events] == [("ended_by_staff", reason)]
    janus_session = JanusSession(janus.url)
    janus_session.create()
    exists = janus_session.request(janus_session.attach(), {"request": "exists", "room": room})["exists"]
    janus_session.destroy()
    assert exists is False


# -- heartbeats and the audit log -----------------------------------------------------------------------


def test_a_heartbeat_records_the_terminals_health_and_version(central):
    before = time.time()
    response = central.client.post(
        f"{TERMINAL}/heartbeat",
        json={"version": "0.1.0", "health": {"camera": "ok", "handset": "missing"}},
        headers=central.headers(),
    )
    assert response.status_code == 204, response.text
    terminals = central.client.get(f"{STAFF}/terminals", headers=staff_headers(central)).json()
    assert [(t["version"], t["health"]) for t in terminals] == [("0.1.0", {"camera": "ok", "handset": "missing"})]
    assert terminals[0]["last_seen"] >= before
    assert "token_hash" not in terminals[0]
    assert_error(central.client.get(f"{STAFF}/terminals"), 401, ErrorCode.TERMINAL_NOT_AUTHORISED)


def _audit(kind: str, visit_id: int | None = None) -> dict[str, object]:
    return {
        "event_id": str(uuid.uuid4()),
        "kind": kind,
        "at": datetime.now(UTC).isoformat(),
        "visit_id": visit_id,
        "detail": {"screen": "in_visit"},
    }


def test_audit_events_are_stored_once_and_listed_per_terminal_and_per_visit(central):
    events = [
        _audit("visit_started", central.ready_visit),
        _audit("handset_hung_up", central.ready_visit),
        _audit("terminal_started"),
    ]
    first = central.client.post(f"{TERMINAL}/audit", json={"events": events}, headers=central.headers())
    assert first.json() == {"stored": 3, "duplicates": 0}
    with store_unchanged(central):
        again = central.client.post(f"{TERMINAL}/audit", json={"events": events}, headers=central.headers())
    assert again.json() == {"stored": 0, "duplicates": 3}
    per_visit = central.client.get(
        f"{STAFF}/audit", params={"visit_id": central.ready_visit}, headers=staff_headers(central)
    ).json()
    assert sorted(e["kind"] for e in per_visit) == ["handset_hung_up", "visit_started"]
    terminal_id = central.client.get(f"{STAFF}/terminals", headers=staff_headers(central)).json()[0]["id"]
    per_terminal = central.client.get(
        f"{STAFF}/audit", params={"terminal_id": terminal_id}, headers=staff_headers(central)
    ).json()
    assert len(per_terminal) == 3


@pytest.mark.parametrize(
    "body",
    [
        {"events": []},
        {"events": [{**_audit("visit_started"), "event_id": "short"}]},
        {"events": [{**_audit("Visit Started!")}]},
        {"events": [_audit("visit_started") for _ in range(101)]},
        {"events": [{**_audit("visit_started"), "detail": {"nested": {"no": 1}}}]},
    ],
    ids=["empty", "bad id", "bad kind", "too many", "nested detail"],
)
def test_a_malformed_audit_upload_is_refused_whole(central, body):
    with store_unchanged(central):
        response = central.client.post(f"{TERMINAL}/audit", json=body, headers=central.headers())
    assert_error(response, 400, ErrorCode.INVALID_REQUEST)


# -- where a visit takes place, who is in it ----------------------------------------------------------


def test_a_visit_bound_to_a_housing_unit_opens_only_on_that_units_terminals(central):
    _, elsewhere = central.store.add_terminal("C South terminal 1", "Unit C South", "Unit C South")
    session = sign_in(central, "1001", "2468", token=elsewhere).json()["session_token"]
    with store_unchanged(central):
        refused = central.open(session, central.ready_visit, token=elsewhere)
    assert_error(refused, 403, ErrorCode.NOT_ALLOWED)
    listed = central.client.get(f"{TERMINAL}/visits", headers=central.headers(elsewhere, session)).json()["visits"]
    assert next(v for v in listed if v["visit_id"] == central.ready_visit)["place"] == "Unit B North"
    assert central.open(central.identify(), central.ready_visit).status_code == 200


def test_a_visit_bound_to_one_terminal_opens_only_there(central):
    terminal_id, other = central.store.add_terminal("B North terminal 2", "Unit B North", "Unit B North")
    now = time.time()
    visitor = central.store.add_visitor("Rosa")
    visit_id = central.store.add_visit(
        "1001", now - 60, now + 600, {visitor: "rosacode123"}, place_terminal_id=terminal_id
    )
    assert_error(central.open(central.identify(), visit_id), 403, ErrorCode.NOT_ALLOWED)
    session = sign_in(central, "1001", "2468", token=other).json()["session_token"]
    assert central.open(session, visit_id, token=other).status_code == 200


def test_a_visit_has_one_to_three_visitors(central):
    now = time.time()
    ids = [central.store.add_visitor(name) for name in ("Ana", "Ben", "Cai", "Dee")]
    with pytest.raises(ValueError):
        central.store.add_visit("1001", now, now + 600, {i: f"code{i}abcdef" for i in ids})
    with pytest.raises(ValueError):
        central.store.add_visit("1001", now, now + 600, {})
    three = central.store.add_visit("1001", now, now + 600, {i: f"code{i}abcdef" for i in ids[:3]})
    assert central.store.visit(three).visitors == ("Ana", "Ben", "Cai")


def test_the_session_carries_the_residents_preferred_language(central):
    central.store.add_resident("2002", "Lucia", "1357", "Unit B North", language="es")
    assert sign_in(central, "2002", "1357").json()["language"] == "es"
    assert sign_in(central, "1001", "2468").json()["language"] == "en"
