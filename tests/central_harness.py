"""Central's app in this test process, on each storage backend (a SQLite file and a real PostgreSQL
database), with the checks the API tests share. Registered as a plugin in conftest.
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select

from central import schema
from central.app import create_app
from central.demo_data import DEMO_RESIDENT_ID, DEMO_RESIDENT_PIN, FACILITY, seed
from central.rooms import RoomAdmin
from central.store import Store, database_url
from central.visits import VisitRules, Visits
from kiosk.janus_client import JanusSession
from kiosk.protocol import API_PREFIX, ErrorCode

TERMINAL = f"{API_PREFIX}/terminal"
VISIT_SECONDS = 1800.0


# -- a central in this process ------------------------------------------------------------------------


@dataclass
class Central:
    client: TestClient
    store: Store
    visits: Visits
    database: str
    janus_url: str
    terminal_token: str
    staff_token: str
    visitor_code: str
    folder: Path
    ready_visit: int
    later_visit: int

    def headers(self, token: str | None = None, session: str | None = None) -> dict[str, str]:
        found = {"Authorization": f"Bearer {token or self.terminal_token}"}
        if session is not None:
            found["X-Resident-Session"] = session
        return found

    def identify(self, token: str | None = None) -> str:
        response = self.client.post(
            f"{TERMINAL}/identify",
            json={"resident_id": DEMO_RESIDENT_ID, "pin": DEMO_RESIDENT_PIN},
            headers=self.headers(token),
        )
        assert response.status_code == 200, response.text
        return str(response.json()["session_token"])

    def open(self, session: str, visit_id: int, token: str | None = None) -> httpx.Response:
        return self.client.post(f"{TERMINAL}/visits/{visit_id}/open", headers=self.headers(token, session))

    def end(self, session: str, visit_id: int, reason: str = "ended_by_resident", lost: float = 0.0) -> httpx.Response:
        return self.client.post(
            f"{TERMINAL}/visits/{visit_id}/end",
            json={"reason": reason, "media_lost_s": lost},
            headers=self.headers(session=session),
        )

    def staff_end(self, visit_id: int, reason: str, token: str | None = None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return self.client.post(f"{API_PREFIX}/staff/visits/{visit_id}/end", json={"reason": reason}, headers=headers)

    def events(self, after: int, wait: float = 0.0, token: str | None = None) -> httpx.Response:
        return self.client.get(f"{TERMINAL}/events", params={"after": after, "wait": wait}, headers=self.headers(token))


@pytest.fixture(params=["sqlite", "postgresql"])
def make_central(request, janus, tmp_path: Path) -> Iterator[Callable[..., Central]]:
    """Central on each storage backend: a SQLite file, and a database on a real PostgreSQL server."""
    made: list[Central] = []

    def make(
        visit_seconds: float = VISIT_SECONDS, janus_url: str | None = None, rules: VisitRules | None = None
    ) -> Central:
        folder = tmp_path / f"central-{len(made)}"
        folder.mkdir()
        if request.param == "sqlite":
            database = str(folder / "c.sqlite3")
        else:
            database = request.getfixturevalue("postgres").create_database(f"central_{secrets.token_hex(6)}")
        store = Store(database)
        demo = seed(store, folder, visit_seconds=visit_seconds)
        rooms = RoomAdmin(janus_url or janus.url, janus.settings.admin_key, folder / "rec")
        visits = Visits(store, rooms, janus.url, rules or VisitRules())
        staff_token = demo.staff_token_file.read_text().strip()
        central = Central(
            client=TestClient(create_app(store, visits, staff_token, FACILITY), raise_server_exceptions=False),
            store=store,
            visits=visits,
            database=database,
            janus_url=janus.url,
            terminal_token=demo.terminal_token_file.read_text().strip(),
            staff_token=staff_token,
            visitor_code=(folder / "visitor-code").read_text().strip(),
            folder=folder,
            ready_visit=demo.ready_visit_id,
            later_visit=demo.later_visit_id,
        )
        made.append(central)
        return central

    yield make
    # The Janus server is shared by the whole session: leave no room of these tests behind in it.
    for central in made:
        for visit_id in (central.ready_visit, central.later_visit):
            visit = central.store.visit(visit_id)
            if visit and visit.is_open and visit.room is not None and visit.room_secret is not None:
                RoomAdmin(janus.url, janus.settings.admin_key, Path()).destroy(visit.room, visit.room_secret)
        central.store.dispose()


@pytest.fixture
def central(make_central: Callable[..., Central]) -> Central:
    return make_central()


# -- checks -------------------------------------------------------------------------------------------


def store_rows(database: str) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table, read through a separate connection (a terminal's last_seen aside)."""
    engine = create_engine(database_url(database))
    try:
        with engine.connect() as db:
            return {
                table.name: [
                    {k: v for k, v in row.items() if k != "last_seen"}
                    for row in db.execute(select(table).order_by(*table.primary_key.columns)).mappings()
                ]
                for table in schema.metadata.sorted_tables
            }
    finally:
        engine.dispose()


@contextmanager
def store_unchanged(central: Central, but: tuple[str, ...] = ()) -> Iterator[None]:
    """Asserts that the block changes no table (except those named in `but`)."""
    before = store_rows(central.database)
    yield
    after = store_rows(central.database)
    changes = [
        f"{table}: {old} -> {new}"
        for table in before
        if table not in but
        for old, new in itertools.zip_longest(before[table], after[table])
        if old != new
    ]
    assert not changes, "central's store changed:\n" + "\n".join(changes)


def assert_error(response: httpx.Response, status: int, code: ErrorCode) -> None:
    assert (response.status_code, response.headers.get("content-type")) == (status, "application/json"), response.text
    assert response.json().get("code") == code.value, f"not an ErrorBody with code {code.value}: {response.text}"


def room_exists(janus_url: str, room: int) -> bool:
    session = JanusSession(janus_url)
    session.create()
    try:
        return bool(session.request(session.attach(), {"request": "exists", "room": room})["exists"])
    finally:
        session.destroy()
