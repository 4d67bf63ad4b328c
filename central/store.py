"""Central's storage: terminals, residents, visitors, visits, resident sessions and terminal events.

SQLite through one locked connection; every statement is here, so a second backend is one module.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from central.secrets_store import hash_pin, hash_token, new_token, verify_pin
from kiosk.protocol import EndReason, VisitStatus

_SCHEMA = """
CREATE TABLE IF NOT EXISTS terminals (
  id INTEGER PRIMARY KEY, name TEXT NOT NULL, location TEXT NOT NULL, token_hash TEXT UNIQUE NOT NULL,
  last_seen REAL);
CREATE TABLE IF NOT EXISTS residents (
  number TEXT PRIMARY KEY, display_name TEXT NOT NULL, pin_hash TEXT NOT NULL, housing_unit TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS visitors (id INTEGER PRIMARY KEY, display_name TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS visits (
  id INTEGER PRIMARY KEY, resident TEXT NOT NULL REFERENCES residents(number), terminal_id INTEGER,
  starts_at REAL NOT NULL, ends_at REAL NOT NULL, status TEXT NOT NULL, end_reason TEXT,
  recorded INTEGER NOT NULL, room INTEGER, room_pin TEXT, room_secret TEXT, media_lost_s REAL NOT NULL DEFAULT 0,
  terminal_reported INTEGER NOT NULL DEFAULT 0, end_message TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS visit_visitors (
  visit_id INTEGER NOT NULL REFERENCES visits(id), visitor_id INTEGER NOT NULL REFERENCES visitors(id),
  code_hash TEXT UNIQUE NOT NULL);
CREATE TABLE IF NOT EXISTS resident_sessions (
  token_hash TEXT PRIMARY KEY, resident TEXT NOT NULL, terminal_id INTEGER NOT NULL, expires_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS terminal_events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, terminal_id INTEGER NOT NULL, body TEXT NOT NULL);
"""

_OPEN_STATUSES = (VisitStatus.SCHEDULED.value, VisitStatus.READY.value, VisitStatus.LIVE.value)


@dataclass(frozen=True)
class Visit:
    id: int
    resident: str
    terminal_id: int | None
    starts_at: float
    ends_at: float
    status: VisitStatus
    end_reason: EndReason | None
    end_message: str
    recorded: bool
    room: int | None
    room_pin: str | None
    room_secret: str | None
    visitors: tuple[str, ...]

    @property
    def is_open(self) -> bool:
        return self.status.value in _OPEN_STATUSES


class Store:
    def __init__(self, path: Path | str) -> None:
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(_SCHEMA)

    def _run(self, sql: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    def _insert(self, sql: str, args: tuple[Any, ...]) -> int:
        with self._lock:
            cursor = self._db.execute(sql, args)
            assert cursor.lastrowid is not None
            return cursor.lastrowid

    # -- terminals --------------------------------------------------------------------------------

    def add_terminal(self, name: str, location: str) -> tuple[int, str]:
        """Registers a terminal; returns its id and its token (shown once, stored only as a hash)."""
        token = new_token()
        terminal_id = self._insert(
            "INSERT INTO terminals (name, location, token_hash) VALUES (?, ?, ?)", (name, location, hash_token(token))
        )
        return terminal_id, token

    def terminal_for_token(self, token: str) -> int | None:
        rows = self._run("SELECT id FROM terminals WHERE token_hash = ?", (hash_token(token),))
        if not rows:
            return None
        self._run("UPDATE terminals SET last_seen = ? WHERE id = ?", (time.time(), rows[0]["id"]))
        return int(rows[0]["id"])

    # -- residents and sessions -------------------------------------------------------------------

    def add_resident(self, number: str, display_name: str, pin: str, housing_unit: str) -> None:
        self._insert(
            "INSERT INTO residents (number, display_name, pin_hash, housing_unit) VALUES (?, ?, ?, ?)",
            (number, display_name, hash_pin(pin), housing_unit),
        )

    def check_resident(self, number: str, pin: str) -> str | None:
        """The resident's display name when the ID and PIN match, else None (no hint which was wrong)."""
        rows = self._run("SELECT display_name, pin_hash FROM residents WHERE number = ?", (number,))
        if not rows:
            verify_pin(pin, "scrypt$00$00")  # spend the same time, so timing does not reveal valid IDs
            return None
        return str(rows[0]["display_name"]) if verify_pin(pin, rows[0]["pin_hash"]) else None

    def open_session(self, resident: str, terminal_id: int, ttl_s: float) -> str:
        token = new_token()
        self._insert(
            "INSERT INTO resident_sessions (token_hash, resident, terminal_id, expires_at) VALUES (?, ?, ?, ?)",
            (hash_token(token), resident, terminal_id, time.time() + ttl_s),
        )
        return token

    def session_resident(self, token: str, terminal_id: int) -> str | None:
        rows = self._run(
            "SELECT resident FROM resident_sessions WHERE token_hash = ? AND terminal_id = ? AND expires_at > ?",
            (hash_token(token), terminal_id, time.time()),
        )
        return str(rows[0]["resident"]) if rows else None

    def close_session(self, token: str) -> None:
        self._run("DELETE FROM resident_sessions WHERE token_hash = ?", (hash_token(token),))

    # -- visits -----------------------------------------------------------------------------------

    def add_visitor(self, display_name: str) -> int:
        return self._insert("INSERT INTO visitors (display_name) VALUES (?)", (display_name,))

    def add_visit(
        self, resident: str, starts_at: float, ends_at: float, visitor_codes: dict[int, str], recorded: bool = True
    ) -> int:
        visit_id = self._insert(
            "INSERT INTO visits (resident, starts_at, ends_at, status, recorded) VALUES (?, ?, ?, ?, ?)",
            (resident, starts_at, ends_at, VisitStatus.SCHEDULED.value, int(recorded)),
        )
        for visitor_id, code in visitor_codes.items():
            self._insert(
                "INSERT INTO visit_visitors (visit_id, visitor_id, code_hash) VALUES (?, ?, ?)",
                (visit_id, visitor_id, hash_token(code)),
            )
        return visit_id

    def _visit(self, row: sqlite3.Row) -> Visit:
        names = self._run(
            "SELECT v.display_name FROM visit_visitors vv JOIN visitors v ON v.id = vv.visitor_id "
            "WHERE vv.visit_id = ? ORDER BY v.id",
            (row["id"],),
        )
        return Visit(
            id=row["id"],
            resident=row["resident"],
            terminal_id=row["terminal_id"],
            starts_at=row["starts_at"],
            ends_at=row["ends_at"],
            status=VisitStatus(row["status"]),
            end_reason=EndReason(row["end_reason"]) if row["end_reason"] else None,
            end_message=row["end_message"],
            recorded=bool(row["recorded"]),
            room=row["room"],
            room_pin=row["room_pin"],
            room_secret=row["room_secret"],
            visitors=tuple(n["display_name"] for n in names),
        )

    def visit(self, visit_id: int) -> Visit | None:
        rows = self._run("SELECT * FROM visits WHERE id = ?", (visit_id,))
        return self._visit(rows[0]) if rows else None

    def visits_for_resident(self, resident: str, since: float) -> list[Visit]:
        rows = self._run(
            "SELECT * FROM visits WHERE resident = ? AND ends_at > ? ORDER BY starts_at", (resident, since)
        )
        return [self._visit(r) for r in rows]

    def visit_for_code(self, code: str) -> tuple[Visit, str] | None:
        rows = self._run(
            "SELECT vv.visit_id, v.display_name FROM visit_visitors vv JOIN visitors v ON v.id = vv.visitor_id "
            "WHERE vv.code_hash = ?",
            (hash_token(code),),
        )
        if not rows:
            return None
        visit = self.visit(rows[0]["visit_id"])
        return (visit, str(rows[0]["display_name"])) if visit else None

    def set_room(self, visit_id: int, room: int, pin: str, secret: str) -> None:
        self._run(
            "UPDATE visits SET room = ?, room_pin = ?, room_secret = ? WHERE id = ?", (room, pin, secret, visit_id)
        )

    def mark_live(self, visit_id: int, terminal_id: int) -> None:
        self._run(
            "UPDATE visits SET status = ?, terminal_id = ? WHERE id = ?",
            (VisitStatus.LIVE.value, terminal_id, visit_id),
        )

    def mark_ended(self, visit_id: int, status: VisitStatus, reason: EndReason, message: str = "") -> bool:
        """Ends an open visit; False when it had already ended (so each end is acted on once)."""
        with self._lock:
            cursor = self._db.execute(
                f"UPDATE visits SET status = ?, end_reason = ?, end_message = ? "
                f"WHERE id = ? AND status IN ({','.join('?' * len(_OPEN_STATUSES))})",
                (status.value, reason.value, message, visit_id, *_OPEN_STATUSES),
            )
            return cursor.rowcount == 1

    def record_terminal_report(self, visit_id: int, media_lost_s: float) -> bool:
        """Stores the terminal's lost-media figure once per visit; False when it was already reported."""
        with self._lock:
            cursor = self._db.execute(
                "UPDATE visits SET media_lost_s = ?, terminal_reported = 1 WHERE id = ? AND terminal_reported = 0",
                (media_lost_s, visit_id),
            )
            return cursor.rowcount == 1

    def media_lost(self, visit_id: int) -> float:
        rows = self._run("SELECT media_lost_s FROM visits WHERE id = ?", (visit_id,))
        return float(rows[0]["media_lost_s"]) if rows else 0.0

    def open_visits_ending_by(self, at: float) -> list[Visit]:
        rows = self._run(
            f"SELECT * FROM visits WHERE ends_at <= ? AND status IN ({','.join('?' * len(_OPEN_STATUSES))})",
            (at, *_OPEN_STATUSES),
        )
        return [self._visit(r) for r in rows]

    def next_open_visit_end(self) -> float | None:
        rows = self._run(
            f"SELECT MIN(ends_at) AS t FROM visits WHERE status IN ({','.join('?' * len(_OPEN_STATUSES))})",
            _OPEN_STATUSES,
        )
        return float(rows[0]["t"]) if rows and rows[0]["t"] is not None else None

    # -- terminal events --------------------------------------------------------------------------

    def add_event(self, terminal_id: int, body: dict[str, Any]) -> int:
        return self._insert(
            "INSERT INTO terminal_events (terminal_id, body) VALUES (?, ?)", (terminal_id, json.dumps(body))
        )

    def events_after(self, terminal_id: int, after: int) -> list[tuple[int, dict[str, Any]]]:
        rows = self._run(
            "SELECT seq, body FROM terminal_events WHERE terminal_id = ? AND seq > ? ORDER BY seq LIMIT 100",
            (terminal_id, after),
        )
        return [(int(r["seq"]), json.loads(r["body"])) for r in rows]

    def last_event_seq(self, terminal_id: int) -> int:
        rows = self._run("SELECT MAX(seq) AS s FROM terminal_events WHERE terminal_id = ?", (terminal_id,))
        return int(rows[0]["s"] or 0)
