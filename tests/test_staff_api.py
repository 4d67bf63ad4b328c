"""Officers through central's staff API, on SQLite and PostgreSQL: sign-in, today's visits, silent
watching (never of a privileged visit), messages to the resident's screen, and the audit log of it all."""

from __future__ import annotations

import time

from central.demo_data import DEMO_OFFICER
from kiosk.protocol import API_PREFIX, ErrorCode
from tests.central_harness import Central, assert_error, store_unchanged

STAFF = f"{API_PREFIX}/staff"


def officer_login(central: Central, password: str | None = None):
    if password is None:
        password = (central.folder / "officer-password").read_text().strip()
    return central.client.post(f"{STAFF}/login", json={"username": DEMO_OFFICER, "password": password})


def test_an_officer_signs_in_with_a_password_and_gets_an_httponly_cookie(central):
    response = officer_login(central)
    assert response.status_code == 200, response.text
    assert response.json()["display_name"] == "Officer Reyes"
    cookie = response.headers["set-cookie"]
    assert "officer_session=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    # The test client keeps the cookie, as the officer's browser would.
    assert central.client.get(f"{STAFF}/visits").status_code == 200
    assert central.client.post(f"{STAFF}/logout").status_code == 204
    assert_error(central.client.get(f"{STAFF}/visits"), 401, ErrorCode.TERMINAL_NOT_AUTHORISED)


def test_a_wrong_officer_password_is_refused_and_opens_nothing(central):
    with store_unchanged(central, but=("sign_in_failures",)):
        assert_error(officer_login(central, "not-the-password"), 401, ErrorCode.BAD_CREDENTIALS)
    assert_error(central.client.get(f"{STAFF}/visits"), 401, ErrorCode.TERMINAL_NOT_AUTHORISED)


def test_repeated_wrong_officer_passwords_pause_that_officers_sign_in(central):
    for _ in range(4):
        assert_error(officer_login(central, "guess-guess-guess"), 401, ErrorCode.BAD_CREDENTIALS)
    assert_error(officer_login(central, "guess-guess-guess"), 429, ErrorCode.LOCKED)
    with store_unchanged(central):  # paused: even the right password is not checked
        assert_error(officer_login(central), 429, ErrorCode.LOCKED)


def test_todays_visits_show_who_when_and_where(central):
    officer_login(central)
    central.open(central.identify(), central.ready_visit)
    listed = central.client.get(f"{STAFF}/visits").json()
    ready = next(v for v in listed if v["visit_id"] == central.ready_visit)
    assert (ready["resident_id"], ready["resident_name"], ready["visitors"]) == ("1001", "Daniel", ["Maria"])
    assert (ready["status"], ready["terminal"], ready["privileged"]) == ("live", "B North terminal 1", False)


def test_watching_a_live_visit_grants_a_receive_only_place_and_is_audited(central):
    officer_login(central)
    assert_error(central.client.post(f"{STAFF}/visits/{central.ready_visit}/watch"), 409, ErrorCode.NOT_READY)
    grant = central.open(central.identify(), central.ready_visit).json()
    watch = central.client.post(f"{STAFF}/visits/{central.ready_visit}/watch")
    assert watch.status_code == 200, watch.text
    assert (watch.json()["room"], watch.json()["pin"]) == (grant["room"], grant["pin"])
    audit = central.client.get(f"{STAFF}/audit", params={"visit_id": central.ready_visit}).json()
    assert [(e["actor"], e["kind"]) for e in audit] == [(f"officer:{DEMO_OFFICER}", "watch_started")]


def test_a_privileged_visit_can_never_be_watched(central):
    officer_login(central)
    now = time.time()
    attorney = central.store.add_visitor("Ms. Chen (attorney)")
    visit_id = central.store.add_visit("1001", now - 60, now + 600, {attorney: "attorneycode2"}, privileged=True)
    central.open(central.identify(), visit_id)
    with store_unchanged(central):
        refused = central.client.post(f"{STAFF}/visits/{visit_id}/watch")
    assert_error(refused, 403, ErrorCode.NOT_ALLOWED)


def test_a_message_reaches_the_terminal_of_the_live_visit(central):
    officer_login(central)
    text = "Please keep the handset close."
    assert_error(
        central.client.post(f"{STAFF}/visits/{central.ready_visit}/message", json={"text": text}),
        409,
        ErrorCode.NOT_READY,
    )
    central.open(central.identify(), central.ready_visit)
    sent = central.client.post(f"{STAFF}/visits/{central.ready_visit}/message", json={"text": text})
    assert sent.status_code == 204, sent.text
    events = central.events(after=0).json()["events"]
    assert [(e["type"], e["visit_id"], e["message"]) for e in events] == [("staff_message", central.ready_visit, text)]
    with store_unchanged(central):
        empty = central.client.post(f"{STAFF}/visits/{central.ready_visit}/message", json={"text": ""})
    assert_error(empty, 400, ErrorCode.INVALID_REQUEST)


def test_ending_a_visit_is_audited_under_the_officers_name(central):
    officer_login(central)
    central.open(central.identify(), central.ready_visit)
    ended = central.client.post(f"{STAFF}/visits/{central.ready_visit}/end", json={"reason": "Count time"})
    assert ended.status_code == 204
    audit = central.client.get(f"{STAFF}/audit", params={"visit_id": central.ready_visit}).json()
    assert [(e["actor"], e["kind"], e["detail"]) for e in audit] == [
        (f"officer:{DEMO_OFFICER}", "visit_ended_by_staff", {"reason": "Count time"})
    ]
