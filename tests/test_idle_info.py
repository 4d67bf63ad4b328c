"""The idle screen's information from central, on SQLite and PostgreSQL: the facility's notices in order,
"visit is ready" call-outs for this terminal's place only that never name anyone beyond the privacy level
staff chose, staff's changes audited, and bad settings refused without a trace.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest

from central.demo_data import DEMO_OFFICER, DEMO_SETTINGS, HOUSING_UNIT
from central.idle_screen import id_tail, initials
from kiosk.central_client import CentralClient
from kiosk.protocol import API_PREFIX, ErrorCode, VisitStatus
from tests.central_harness import TERMINAL, Central, assert_error, store_unchanged

pytestmark = pytest.mark.e2e

SETTINGS = f"{API_PREFIX}/staff/settings"
RESIDENT_ID = "48151623"
RESIDENT_NAME = "Juan Carlos Ramirez"
VISITOR_NAMES = ("Ana", "Lopez")
OTHER_UNIT = "Unit C South"


def idle(central: Central, token: str | None = None) -> dict:
    response = central.client.get(f"{TERMINAL}/idle", headers=central.headers(token))
    assert response.status_code == 200, response.text
    return response.json()


def staff(central: Central) -> dict[str, str]:
    return {"Authorization": f"Bearer {central.staff_token}"}


def put_settings(central: Central, body: object) -> object:
    return central.client.put(SETTINGS, json=body, headers=staff(central))


def starts(callouts: list[dict]) -> list[float]:
    return [datetime.fromisoformat(c["starts_at"]).timestamp() for c in callouts]


def without_times(info: dict) -> str:
    """The answer as text without its start times (whose digits could look like any number)."""
    return json.dumps(info | {"callouts": [{k: v for k, v in c.items() if k != "starts_at"} for c in info["callouts"]]})


class Facility:
    """The demo plus a second resident whose visits sit at every kind of place and in every state."""

    def __init__(self, central: Central) -> None:
        store, now = central.store, time.time()
        self.store = store
        other_terminal, self.other_terminal_token = store.add_terminal("B North terminal 2", "B North", HOUSING_UNIT)
        _, self.c_south_token = store.add_terminal("C South terminal 1", "C South", OTHER_UNIT)
        store.add_resident(RESIDENT_ID, RESIDENT_NAME, "1357", HOUSING_UNIT)
        visitor = store.add_visitor(" ".join(VISITOR_NAMES))
        codes = iter(range(1, 100))

        def visit(offset_s: float, **place: object) -> int:
            code = f"code{next(codes):08d}"
            return store.add_visit(RESIDENT_ID, now + offset_s, now + offset_s + 900, {visitor: code}, **place)

        self.demo = central.ready_visit
        # Ready now (within the 5 minutes before the start, or started), at different places:
        self.here_unit = visit(-30, place_unit=HOUSING_UNIT)
        self.this_terminal = visit(60, place_terminal_id=1)
        self.anywhere = visit(120)
        self.other_unit = visit(90, place_unit=OTHER_UNIT)
        self.other_terminal_only = visit(150, place_terminal_id=other_terminal)
        # Not ready: later today, already over, cancelled.
        visit(3600, place_unit=HOUSING_UNIT)
        visit(-1200, place_unit=HOUSING_UNIT)
        assert store.mark_ended(visit(30, place_unit=HOUSING_UNIT), VisitStatus.CANCELLED, None, "Lockdown")

    def starts(self, *visit_ids: int) -> list[float]:
        return sorted(self.store.visit(i).starts_at for i in visit_ids)  # type: ignore[union-attr]


@pytest.fixture
def facility(central: Central) -> Facility:
    return Facility(central)


# -- notices ------------------------------------------------------------------------------------------


def test_the_idle_screen_gets_the_facilitys_notices_in_order(central):
    info = idle(central)
    assert info["notices"] == DEMO_SETTINGS.model_dump(mode="json")["notices"]
    assert info["notices"][0] == {
        "title": "Report sexual abuse or harassment",
        "body": "Call the hotline: dial 7233 from any unit phone. Calls are free and confidential.",
    }
    reordered = [*reversed(info["notices"]), {"title": "Hotline", "body": "Dial 7233.\nIt is free."}]
    assert put_settings(central, {"notices": reordered, "callout_privacy": "initials"}).status_code == 200
    assert idle(central)["notices"] == reordered


def test_a_facility_without_settings_shows_no_notices_and_initials(central):
    with central.store.engine.begin() as db:
        db.exec_driver_sql("DELETE FROM facility_settings")
    info = idle(central)
    assert (info["notices"], info["callout_privacy"]) == ([], "initials")
    assert [c["initials"] for c in info["callouts"]] == ["D."]


# -- call-outs ----------------------------------------------------------------------------------------


def test_callouts_are_for_ready_and_live_visits_at_this_terminals_place_only(central, facility):
    assert central.open(central.identify(), central.ready_visit).status_code == 200  # the demo's visit is live
    f = facility
    here = f.starts(f.demo, f.here_unit, f.this_terminal, f.anywhere)
    assert starts(idle(central)["callouts"]) == pytest.approx(here)
    # Another terminal of the same unit: the unit's and the unbound visits, not those bound to terminal 1.
    same_unit = f.starts(f.demo, f.here_unit, f.anywhere, f.other_terminal_only)
    assert starts(idle(central, f.other_terminal_token)["callouts"]) == pytest.approx(same_unit)
    # A terminal of another unit.
    assert starts(idle(central, f.c_south_token)["callouts"]) == pytest.approx(f.starts(f.anywhere, f.other_unit))


def test_an_ended_visit_is_no_longer_called_out(central):
    session = central.identify()
    central.open(session, central.ready_visit)
    assert len(idle(central)["callouts"]) == 1
    assert central.end(session, central.ready_visit).status_code == 204
    assert idle(central)["callouts"] == []


PRIVACY_LEVELS = {
    "none": lambda c: False,
    "initials": lambda c: c["initials"] in ("J. R.", "D.") and c["booking_number_tail"] == "",
    "booking_number_tail": lambda c: c["booking_number_tail"] in ("623", "001") and c["initials"] == "",
}


@pytest.mark.parametrize("level", PRIVACY_LEVELS)
def test_a_callout_shows_no_more_than_the_privacy_level_allows(central, facility, level):
    assert put_settings(central, {"notices": [], "callout_privacy": level}).status_code == 200
    for token in (None, facility.other_terminal_token, facility.c_south_token):
        info = idle(central, token)
        assert info["callout_privacy"] == level
        if level == "none":
            assert info["callouts"] == []
        else:
            assert info["callouts"] and all(PRIVACY_LEVELS[level](c) for c in info["callouts"]), info
            assert all(set(c) == {"starts_at", "initials", "booking_number_tail"} for c in info["callouts"])
        for never in (*RESIDENT_NAME.split(), *VISITOR_NAMES, "Daniel", "Maria", "Rosa"):
            assert never not in json.dumps(info), f"{never!r} is on the idle screen at privacy level {level}"
        for never in (RESIDENT_ID, "1623", "1001"):
            assert never not in without_times(info), f"{never!r} is on the idle screen at privacy level {level}"


def test_callout_names_keep_two_initials_and_ids_keep_fewer_digits_than_the_whole():
    assert initials("Juan Carlos Ramirez") == "J. R."
    assert initials("Daniel") == "D."
    assert initials("  ") == ""
    assert initials("Mary-Jane O'Neil") == "M. O."
    assert [id_tail(n) for n in ("48151623", "1001", "123", "7")] == ["623", "001", "23", ""]


# -- staff change the settings ------------------------------------------------------------------------


def test_an_officer_changes_the_settings_and_it_is_audited(central):
    password = (central.folder / "officer-password").read_text().strip()
    central.client.post(f"{API_PREFIX}/staff/login", json={"username": DEMO_OFFICER, "password": password})
    assert central.client.get(SETTINGS).json() == DEMO_SETTINGS.model_dump(mode="json")
    new = {"notices": [{"title": "PREA hotline", "body": "Dial 7233."}], "callout_privacy": "booking_number_tail"}
    changed = central.client.put(SETTINGS, json=new)
    assert (changed.status_code, changed.json()) == (200, new)
    assert central.client.get(SETTINGS).json() == new
    assert idle(central)["notices"] == new["notices"]
    audit = [e for e in central.client.get(f"{API_PREFIX}/staff/audit").json() if e["kind"] == "settings_changed"]
    assert [(e["actor"], e["detail"]) for e in audit] == [
        (f"officer:{DEMO_OFFICER}", {"callout_privacy": "initials -> booking_number_tail", "notices": "PREA hotline"})
    ]


def notice(title: str = "Hotline", body: str = "Dial 7233.") -> dict[str, str]:
    return {"title": title, "body": body}


BAD_SETTINGS = {
    "six notices": {"notices": [notice(f"Notice {i}") for i in range(6)]},
    "a title of 81 characters": {"notices": [notice("T" * 81)]},
    "a body of 501 characters": {"notices": [notice(body="b" * 501)]},
    "an empty title": {"notices": [notice("")]},
    "a blank body": {"notices": [notice(body="   ")]},
    "a title with a line break": {"notices": [notice("Hot\nline")]},
    "a title with a space at its end": {"notices": [notice("Hotline ")]},
    "a control character in a body": {"notices": [notice(body="Dial\x07 7233")]},
    "a missing body": {"notices": [{"title": "Hotline"}]},
    "a null title": {"notices": [notice(None)]},  # type: ignore[arg-type]
    "an extra field in a notice": {"notices": [notice() | {"color": "red"}]},
    "an unknown privacy level": {"callout_privacy": "full_name"},
    "a null privacy level": {"callout_privacy": None},
    "notices as a string": {"notices": "Dial 7233"},
    "an extra field": {"show_names": True},
    "a list": [notice()],
}


@pytest.mark.parametrize("case", BAD_SETTINGS)
def test_bad_settings_are_refused_and_change_nothing(central, case):
    body = BAD_SETTINGS[case]
    if isinstance(body, dict):
        body = {"notices": [], "callout_privacy": "none"} | body
    with store_unchanged(central):
        response = put_settings(central, body)
    assert_error(response, 400, ErrorCode.INVALID_REQUEST)
    assert response.json()["message"].startswith("invalid fields: body")
    assert idle(central)["notices"] == DEMO_SETTINGS.model_dump(mode="json")["notices"]


@pytest.mark.parametrize("method", ["GET", "PUT"])
@pytest.mark.parametrize("authorization", [None, "Bearer not-a-token", "terminal token"])
def test_the_settings_need_an_officer_or_the_staff_token(central, method, authorization):
    headers = {}
    if authorization:
        token = central.terminal_token if authorization == "terminal token" else authorization.split()[1]
        headers["Authorization"] = f"Bearer {token}"
    with store_unchanged(central):
        response = central.client.request(
            method, SETTINGS, json={"notices": [], "callout_privacy": "none"}, headers=headers
        )
    assert_error(response, 401, ErrorCode.TERMINAL_NOT_AUTHORISED)


# -- the terminal's client ----------------------------------------------------------------------------


def test_the_terminals_client_reads_the_idle_screen_from_a_running_central(start_central):
    central = start_central()
    client = CentralClient(central.url, central.secret("terminal-token"), timeout_s=5)
    info = client.idle_info()
    assert info.notices == DEMO_SETTINGS.notices
    [callout] = info.callouts
    assert (callout.initials, callout.booking_number_tail) == ("D.", "")
    assert callout.starts_at <= datetime.now(UTC)
