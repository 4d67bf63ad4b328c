"""The terminal's client for central against small real HTTP servers that answer badly: every failure is a
CentralError the terminal can turn into a screen, and no PIN ever travels outside the request body.
"""

from __future__ import annotations

import json
import time

import pytest

from central.server_process import free_port
from kiosk.central_client import CentralClient, CentralError
from kiosk.protocol import API_PREFIX, ErrorCode
from tests.canned_http import Answer, canned_server

TOKEN = "terminal-token-5c1d7e"
RESIDENT_ID = "1001"
PIN = "739104"
TIMEOUT_S = 0.5


def client_for(url: str) -> CentralClient:
    return CentralClient(url, TOKEN, timeout_s=TIMEOUT_S)


def error_body(code: str, message: str) -> bytes:
    return json.dumps({"code": code, "message": message}).encode()


# -- failures -----------------------------------------------------------------------------------------

BAD_ANSWERS = {
    "200 with invalid JSON": (Answer(200, b'{"session_token": "abc", "display_'), None),
    "200 with JSON of the wrong shape": (
        # An echo of the request: the wrong shape, and it even carries the PIN back.
        Answer(200, json.dumps({"resident_id": RESIDENT_ID, "pin": PIN}).encode()),
        None,
    ),
    "200 with an empty body": (Answer(200, b""), None),
    "500 with an HTML page": (
        Answer(500, f"<html><h1>Internal Server Error</h1><pre>pin={PIN}</pre></html>".encode(), "text/html"),
        None,
    ),
    "502 from a proxy with a JSON body that is no ErrorBody": (Answer(502, b'{"error": "bad gateway"}'), None),
    "401 with an ErrorBody": (
        Answer(401, error_body("bad_credentials", "ID or PIN not recognised")),
        ErrorCode.BAD_CREDENTIALS,
    ),
    "401 with an ErrorBody of an unknown code": (Answer(401, error_body("locked_out", "too many tries")), None),
}


@pytest.mark.parametrize("case", BAD_ANSWERS)
def test_a_bad_answer_to_identify_is_a_central_error_without_the_pin(case):
    answer, code = BAD_ANSWERS[case]
    with canned_server(answer) as central, pytest.raises(CentralError) as raised:
        client_for(central.url).identify(RESIDENT_ID, PIN)
    assert type(raised.value) is CentralError
    assert raised.value.code == code
    assert PIN not in str(raised.value)


def test_a_closed_port_is_a_central_error_without_the_pin():
    with pytest.raises(CentralError) as raised:
        client_for(f"http://127.0.0.1:{free_port()}").identify(RESIDENT_ID, PIN)
    assert type(raised.value) is CentralError
    assert raised.value.code is None
    assert PIN not in str(raised.value)


def test_a_central_that_never_answers_is_a_central_error_after_the_timeout():
    with canned_server(Answer(hang=True)) as central:
        started = time.monotonic()
        with pytest.raises(CentralError) as raised:
            client_for(central.url).identify(RESIDENT_ID, PIN)
        elapsed = time.monotonic() - started
    assert type(raised.value) is CentralError
    assert raised.value.code is None
    assert PIN not in str(raised.value)
    assert TIMEOUT_S * 0.9 <= elapsed < TIMEOUT_S + 2.0, f"gave up after {elapsed:.1f} s"


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.visits("session-1"),
        lambda c: c.open_visit("session-1", 7),
        lambda c: c.events(0, 0.0),
        lambda c: c.idle_info(),
    ],
    ids=["visits", "open_visit", "events", "idle_info"],
)
def test_every_answer_the_terminal_reads_is_checked(call):
    with canned_server(Answer(200, b'{"visits": "none", "events": null}')) as central, pytest.raises(CentralError):
        call(client_for(central.url))


# -- what goes over the wire --------------------------------------------------------------------------

SESSION = {"session_token": "session-1", "display_name": "Daniel", "visits": []}


def test_identify_sends_the_bearer_token_and_the_pin_only_in_the_json_body():
    with canned_server(Answer(200, json.dumps(SESSION).encode())) as central:
        session = client_for(central.url).identify(RESIDENT_ID, PIN)
    assert session.display_name == "Daniel"
    [request] = central.received
    assert (request.method, request.path) == ("POST", f"{API_PREFIX}/terminal/identify")
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert json.loads(request.body) == {"resident_id": RESIDENT_ID, "pin": PIN}
    assert PIN not in request.path
    assert not any(PIN in value for value in request.headers.values())


def test_the_resident_session_travels_in_its_header_not_the_url():
    with canned_server(Answer(200, b'{"visits": []}')) as central:
        assert client_for(central.url).visits("session-1").visits == []
    [request] = central.received
    assert (request.method, request.path) == ("GET", f"{API_PREFIX}/terminal/visits")
    assert request.headers["X-Resident-Session"] == "session-1"
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"


def test_an_event_of_a_type_this_terminal_does_not_know_is_skipped_and_the_next_ones_still_arrive():
    batch = {
        "events": [
            {"seq": 4, "type": "visit_paused", "visit_id": 7, "pause_s": 30},  # from a newer central
            {"seq": 5, "type": "staff_message", "visit_id": 7, "message": "Five more minutes.", "urgent": True},
            {"seq": 6, "type": "visit_ended", "visit_id": 7, "reason": "ended_by_staff", "message": "Count time."},
        ],
        "next_after": 6,
        "server_time": "2026-12-06T12:00:00Z",
    }
    with canned_server(Answer(200, json.dumps(batch).encode())) as central:
        received = client_for(central.url).events(3, 0.0)
    assert [(e.seq, e.type.value, e.message) for e in received.events] == [
        (5, "staff_message", "Five more minutes."),
        (6, "visit_ended", "Count time."),
    ]
    assert received.next_after == 6, "the unknown event is not asked for again"


def test_an_answer_with_a_field_this_terminal_does_not_know_is_still_read():
    with canned_server(Answer(200, json.dumps({**SESSION, "photo_url": "/p/1.jpg"}).encode())) as central:
        assert client_for(central.url).identify(RESIDENT_ID, PIN).display_name == "Daniel"
