"""Central's storage: terminals, residents, visitors, visits, sessions, PIN failures, pushed events, the
facility's settings and the audit log, through SQLAlchemy Core so the same statements run on SQLite and PostgreSQL.

Every statement lives here; the rules that use them live in `central.visits`.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, delete, event, func, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from central import schema as t
from central.secrets_store import hash_pin, hash_token, new_token, verify_pin
from kiosk.protocol import (
    ENROLLMENT_CODE_ALPHABET,
    ENROLLMENT_CODE_LENGTH,
    EndReason,
    ErrorCode,
    FacilitySettings,
    VisitStatus,
    normalise_enrollment_code,
)

MAX_VISITORS = 3
_OPEN_STATUSES = (VisitStatus.SCHEDULED.value, VisitStatus.READY.value, VisitStatus.LIVE.value)
# Checked against when an ID is unknown, so a wrong ID costs the same time as a wrong PIN.
_DECOY_PIN_HASH = hash_pin("00000000")


class EnrollmentRefused(Exception):
    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


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
    privileged: bool
    place_unit: str | None
    place_terminal_id: int | None
    room: int | None
    room_pin: str | None
    room_secret: str | None
    visitors: tuple[str, ...]

    @property
    def is_open(self) -> bool:
        return self.status.value in _OPEN_STATUSES

    @property
    def recorded(self) -> bool:
        """Privileged visits (attorney, clergy) are never recorded or watched."""
        return not self.privileged


@dataclass(frozen=True)
class Resident:
    number: str
    display_name: str
    language: str


def database_url(where: str | Path) -> str:
    """A SQLAlchemy URL: `where` is one already, or the path of a SQLite file."""
    text = str(where)
    return text if "://" in text else f"sqlite:///{Path(text).resolve()}"


def _sqlite_pragmas(dbapi_connection: Any, _: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


class Store:
    def __init__(self, where: str | Path) -> None:
        url = database_url(where)
        sqlite = url.startswith("sqlite")
        self.engine: Engine = create_engine(url, connect_args={"timeout": 15} if sqlite else {}, pool_pre_ping=True)
        if sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)
        t.metadata.create_all(self.engine)

    def dispose(self) -> None:
        self.engine.dispose()

    # -- terminals --------------------------------------------------------------------------------

    def add_terminal(self, name: str, location: str, housing_unit: str = "") -> tuple[int, str]:
        """Registers a terminal without a key (the demo's); returns its id and its token (shown once, stored
        only as a hash)."""
        with self.engine.begin() as db:
            return self._add_terminal(db, name, location, housing_unit, None)

    def _add_terminal(
        self, db: Connection, name: str, location: str, housing_unit: str, public_key: str | None
    ) -> tuple[int, str]:
        token = new_token()
        values = {"name": name, "location": location, "housing_unit": housing_unit, "public_key": public_key}
        result = db.execute(insert(t.terminals).values(**values, token_hash=hash_token(token), health={}))
        return int(result.inserted_primary_key[0]), token

    def terminal_for_token(self, token: str) -> tuple[int, str | None] | None:
        """The terminal holding `token`, and its public key if it enrolled with one."""
        with self.engine.begin() as db:
            terminals = t.terminals.c
            query = select(terminals.id, terminals.public_key).where(
                terminals.token_hash == hash_token(token), terminals.retired_at.is_(None)
            )
            found = db.execute(query).first()
            if found is None:
                return None
            db.execute(update(t.terminals).where(terminals.id == found.id).values(last_seen=time.time()))
            return int(found.id), found.public_key

    # -- enrollment -------------------------------------------------------------------------------

    def add_enrollment_code(self, housing_unit: str, valid_s: float, created_by: str) -> tuple[str, float]:
        """A one-time code and when it expires; only its hash is kept."""
        code = "".join(secrets.choice(ENROLLMENT_CODE_ALPHABET) for _ in range(ENROLLMENT_CODE_LENGTH))
        expires_at = time.time() + valid_s
        with self.engine.begin() as db:
            db.execute(
                insert(t.enrollment_codes).values(
                    code_hash=hash_token(code), housing_unit=housing_unit, created_by=created_by, expires_at=expires_at
                )
            )
        return code, expires_at

    def enroll(self, code: str, name: str, location: str, public_key: str, now: float) -> tuple[int, str, str]:
        """Spends `code` on a new terminal with `public_key`: its id, token and housing unit. Raises
        EnrollmentRefused with the reason when the code is unknown, used or expired."""
        codes = t.enrollment_codes.c
        code_hash = hash_token(normalise_enrollment_code(code))
        with self.engine.begin() as db:
            row = db.execute(select(t.enrollment_codes).where(codes.code_hash == code_hash)).mappings().first()
            if row is None:
                raise EnrollmentRefused(ErrorCode.ENROLLMENT_CODE_UNKNOWN, "no such enrollment code")
            if row["used_at"] is not None:
                raise EnrollmentRefused(ErrorCode.ENROLLMENT_CODE_USED, "this enrollment code was used already")
            if row["expires_at"] <= now:
                raise EnrollmentRefused(ErrorCode.ENROLLMENT_CODE_EXPIRED, "this enrollment code has expired")
            terminal_id, token = self._add_terminal(db, name, location, row["housing_unit"], public_key)
            spent = db.execute(
                update(t.enrollment_codes)
                .where(codes.code_hash == code_hash, codes.used_at.is_(None))
                .values(used_at=now, terminal_id=terminal_id)
            )
            if spent.rowcount != 1:  # another terminal spent it in the meantime: this one is rolled back
                raise EnrollmentRefused(ErrorCode.ENROLLMENT_CODE_USED, "this enrollment code was used already")
            return terminal_id, token, row["housing_unit"]

    def retire_terminal(self, terminal_id: int, now: float) -> None:
        """The terminal left: its token is refused from now on; its row stays for the visits and audit."""
        with self.engine.begin() as db:
            db.execute(update(t.terminals).where(t.terminals.c.id == terminal_id).values(retired_at=now))

    def terminal(self, terminal_id: int) -> dict[str, Any] | None:
        with self.engine.connect() as db:
            row = db.execute(select(t.terminals).where(t.terminals.c.id == terminal_id)).mappings().first()
        return {k: v for k, v in row.items() if k != "token_hash"} if row else None

    def record_heartbeat(self, terminal_id: int, health: dict[str, str], version: str) -> None:
        with self.engine.begin() as db:
            db.execute(
                update(t.terminals)
                .where(t.terminals.c.id == terminal_id)
                .values(health=health, version=version, last_seen=time.time())
            )

    def terminals(self) -> list[dict[str, Any]]:
        with self.engine.connect() as db:
            rows = db.execute(select(t.terminals).order_by(t.terminals.c.id)).mappings().all()
        return [{k: v for k, v in row.items() if k != "token_hash"} for row in rows]

    # -- residents, sessions and PIN failures -----------------------------------------------------

    def add_resident(self, number: str, display_name: str, pin: str, housing_unit: str, language: str = "en") -> None:
        with self.engine.begin() as db:
            db.execute(
                insert(t.residents).values(
                    number=number,
                    display_name=display_name,
                    pin_hash=hash_pin(pin),
                    housing_unit=housing_unit,
                    language=language,
                )
            )

    def check_resident(self, number: str, pin: str) -> Resident | None:
        """The resident when the ID and PIN match, else None (no hint which was wrong)."""
        with self.engine.connect() as db:
            row = db.execute(select(t.residents).where(t.residents.c.number == number)).mappings().first()
        if row is None:
            verify_pin(pin, _DECOY_PIN_HASH)
            return None
        if not verify_pin(pin, row["pin_hash"]):
            return None
        return Resident(row["number"], row["display_name"], row["language"])

    def record_sign_in_failure(self, subject: str, terminal_id: int | None, at: float) -> None:
        with self.engine.begin() as db:
            db.execute(insert(t.sign_in_failures).values(subject=subject, terminal_id=terminal_id, at=at))

    def sign_in_failures_since(
        self, since: float, *, subject: str | None = None, terminal_id: int | None = None
    ) -> list[float]:
        f = t.sign_in_failures.c
        query = select(f.at).where(f.at >= since).order_by(f.at)
        if subject is not None:
            query = query.where(f.subject == subject)
        if terminal_id is not None:
            query = query.where(f.terminal_id == terminal_id)
        with self.engine.connect() as db:
            return list(db.scalars(query))

    def clear_sign_in_failures(self, subject: str) -> None:
        with self.engine.begin() as db:
            db.execute(delete(t.sign_in_failures).where(t.sign_in_failures.c.subject == subject))

    def open_session(self, resident: str, terminal_id: int, ttl_s: float) -> str:
        token = new_token()
        with self.engine.begin() as db:
            db.execute(
                insert(t.resident_sessions).values(
                    token_hash=hash_token(token),
                    resident=resident,
                    terminal_id=terminal_id,
                    expires_at=time.time() + ttl_s,
                )
            )
        return token

    def session_resident(self, token: str, terminal_id: int) -> str | None:
        s = t.resident_sessions.c
        with self.engine.connect() as db:
            return db.scalar(
                select(s.resident).where(
                    s.token_hash == hash_token(token), s.terminal_id == terminal_id, s.expires_at > time.time()
                )
            )

    def close_session(self, token: str) -> None:
        with self.engine.begin() as db:
            db.execute(delete(t.resident_sessions).where(t.resident_sessions.c.token_hash == hash_token(token)))

    def resident(self, number: str) -> Resident | None:
        with self.engine.connect() as db:
            row = db.execute(select(t.residents).where(t.residents.c.number == number)).mappings().first()
        return Resident(row["number"], row["display_name"], row["language"]) if row else None

    # -- officers ---------------------------------------------------------------------------------

    def add_officer(self, username: str, display_name: str, password: str) -> None:
        with self.engine.begin() as db:
            db.execute(
                insert(t.officers).values(
                    username=username, display_name=display_name, password_hash=hash_pin(password)
                )
            )

    def check_officer(self, username: str, password: str) -> str | None:
        """The officer's display name when the password matches, else None."""
        with self.engine.connect() as db:
            row = db.execute(select(t.officers).where(t.officers.c.username == username)).mappings().first()
        if row is None:
            verify_pin(password, _DECOY_PIN_HASH)
            return None
        return str(row["display_name"]) if verify_pin(password, row["password_hash"]) else None

    def open_officer_session(self, username: str, ttl_s: float) -> str:
        token = new_token()
        with self.engine.begin() as db:
            db.execute(
                insert(t.officer_sessions).values(
                    token_hash=hash_token(token), username=username, expires_at=time.time() + ttl_s
                )
            )
        return token

    def officer_for_session(self, token: str) -> tuple[str, str] | None:
        """(username, display name) of a live officer session."""
        o, s = t.officers.c, t.officer_sessions.c
        with self.engine.connect() as db:
            row = db.execute(
                select(o.username, o.display_name)
                .join(t.officer_sessions, s.username == o.username)
                .where(s.token_hash == hash_token(token), s.expires_at > time.time())
            ).first()
        return (row.username, row.display_name) if row else None

    def close_officer_session(self, token: str) -> None:
        with self.engine.begin() as db:
            db.execute(delete(t.officer_sessions).where(t.officer_sessions.c.token_hash == hash_token(token)))

    # -- visits -----------------------------------------------------------------------------------

    def add_visitor(self, display_name: str) -> int:
        with self.engine.begin() as db:
            return int(db.execute(insert(t.visitors).values(display_name=display_name)).inserted_primary_key[0])

    def add_visit(
        self,
        resident: str,
        starts_at: float,
        ends_at: float,
        visitor_codes: dict[int, str],
        privileged: bool = False,
        place_unit: str | None = None,
        place_terminal_id: int | None = None,
    ) -> int:
        """Schedules a visit of 1 to 3 visitors (each with their own join code)."""
        if not 1 <= len(visitor_codes) <= MAX_VISITORS or ends_at <= starts_at:
            raise ValueError("a visit has 1 to 3 visitors and ends after it starts")
        with self.engine.begin() as db:
            visit_id = int(
                db.execute(
                    insert(t.visits).values(
                        resident=resident,
                        starts_at=starts_at,
                        ends_at=ends_at,
                        status=VisitStatus.SCHEDULED.value,
                        privileged=privileged,
                        place_unit=place_unit,
                        place_terminal_id=place_terminal_id,
                        end_message="",
                        media_lost_s=0.0,
                        terminal_reported=False,
                    )
                ).inserted_primary_key[0]
            )
            for visitor_id, code in visitor_codes.items():
                db.execute(
                    insert(t.visit_visitors).values(
                        visit_id=visit_id, visitor_id=visitor_id, code_hash=hash_token(code)
                    )
                )
        return visit_id

    def _visit(self, db: Connection, row: Any) -> Visit:
        names = db.scalars(
            select(t.visitors.c.display_name)
            .join(t.visit_visitors, t.visit_visitors.c.visitor_id == t.visitors.c.id)
            .where(t.visit_visitors.c.visit_id == row["id"])
            .order_by(t.visitors.c.id)
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
            privileged=bool(row["privileged"]),
            place_unit=row["place_unit"],
            place_terminal_id=row["place_terminal_id"],
            room=row["room"],
            room_pin=row["room_pin"],
            room_secret=row["room_secret"],
            visitors=tuple(names),
        )

    def _visits(self, query: Any) -> list[Visit]:
        with self.engine.connect() as db:
            return [self._visit(db, row) for row in db.execute(query).mappings().all()]

    def visit(self, visit_id: int) -> Visit | None:
        found = self._visits(select(t.visits).where(t.visits.c.id == visit_id))
        return found[0] if found else None

    def visits_for_resident(self, resident: str, since: float) -> list[Visit]:
        v = t.visits.c
        return self._visits(select(t.visits).where(v.resident == resident, v.ends_at > since).order_by(v.starts_at))

    def visits_between(self, start: float, end: float) -> list[Visit]:
        v = t.visits.c
        return self._visits(select(t.visits).where(v.ends_at > start, v.starts_at < end).order_by(v.starts_at))

    def visit_for_code(self, code: str) -> tuple[Visit, str] | None:
        vv = t.visit_visitors.c
        with self.engine.connect() as db:
            row = db.execute(
                select(vv.visit_id, t.visitors.c.display_name)
                .join(t.visitors, t.visitors.c.id == vv.visitor_id)
                .where(vv.code_hash == hash_token(code))
            ).first()
        if row is None:
            return None
        visit = self.visit(row.visit_id)
        return (visit, str(row.display_name)) if visit else None

    def set_room(self, visit_id: int, room: int, pin: str, secret: str) -> None:
        with self.engine.begin() as db:
            db.execute(
                update(t.visits).where(t.visits.c.id == visit_id).values(room=room, room_pin=pin, room_secret=secret)
            )

    def mark_live(self, visit_id: int, terminal_id: int) -> None:
        with self.engine.begin() as db:
            db.execute(
                update(t.visits)
                .where(t.visits.c.id == visit_id, t.visits.c.status.in_(_OPEN_STATUSES))
                .values(status=VisitStatus.LIVE.value, terminal_id=terminal_id)
            )

    def mark_ended(self, visit_id: int, status: VisitStatus, reason: EndReason | None, message: str = "") -> bool:
        """Ends an open visit; False when it had already ended (so each end is acted on once)."""
        with self.engine.begin() as db:
            result = db.execute(
                update(t.visits)
                .where(t.visits.c.id == visit_id, t.visits.c.status.in_(_OPEN_STATUSES))
                .values(status=status.value, end_reason=reason.value if reason else None, end_message=message)
            )
            return result.rowcount == 1

    def record_visitor_media_lost(self, code: str, visit_id: int, media_lost_s: float) -> None:
        """Keeps the largest total a visitor's page reported: a late or repeated report never lowers it."""
        c = t.visitor_media_lost.c
        key = hash_token(code)
        with self.engine.begin() as db:
            updated = db.execute(
                update(t.visitor_media_lost)
                .where(c.code_hash == key, c.media_lost_s < media_lost_s)
                .values(media_lost_s=media_lost_s)
            )
            known = updated.rowcount or db.scalar(select(func.count()).where(c.code_hash == key))
            if not known:
                db.execute(
                    insert(t.visitor_media_lost).values(code_hash=key, visit_id=visit_id, media_lost_s=media_lost_s)
                )

    def visitors_media_lost(self, visit_id: int) -> float:
        """The most any one visitor of the visit lost of it, in seconds."""
        c = t.visitor_media_lost.c
        with self.engine.connect() as db:
            return float(db.scalar(select(func.max(c.media_lost_s)).where(c.visit_id == visit_id)) or 0.0)

    def record_visit_quality(self, visit_id: int, quality: dict[str, Any]) -> None:
        """Keeps the first quality report of a visit; a repeated end report changes nothing."""
        with self.engine.begin() as db:
            if not db.scalar(select(func.count()).where(t.visit_quality.c.visit_id == visit_id)):
                db.execute(insert(t.visit_quality).values(visit_id=visit_id, quality=quality))

    def visit_quality(self, visit_id: int) -> dict[str, Any] | None:
        with self.engine.connect() as db:
            found = db.scalar(select(t.visit_quality.c.quality).where(t.visit_quality.c.visit_id == visit_id))
        return dict(found) if found is not None else None

    def record_terminal_report(self, visit_id: int, media_lost_s: float) -> bool:
        """Stores the terminal's lost-media figure once per visit; False when it was already reported."""
        with self.engine.begin() as db:
            result = db.execute(
                update(t.visits)
                .where(t.visits.c.id == visit_id, t.visits.c.terminal_reported.is_(False))
                .values(media_lost_s=media_lost_s, terminal_reported=True)
            )
            return result.rowcount == 1

    def media_lost(self, visit_id: int) -> float:
        with self.engine.connect() as db:
            return float(db.scalar(select(t.visits.c.media_lost_s).where(t.visits.c.id == visit_id)) or 0.0)

    def open_visits_around(self, now: float, starting_by: float) -> list[Visit]:
        """Open visits that start by `starting_by` and have not ended at `now`, earliest start first."""
        v = t.visits.c
        return self._visits(
            select(t.visits)
            .where(v.starts_at <= starting_by, v.ends_at > now, v.status.in_(_OPEN_STATUSES))
            .order_by(v.starts_at, v.id)
        )

    def open_visits_ending_by(self, at: float) -> list[Visit]:
        v = t.visits.c
        return self._visits(select(t.visits).where(v.ends_at <= at, v.status.in_(_OPEN_STATUSES)))

    def next_open_visit_end(self) -> float | None:
        with self.engine.connect() as db:
            return db.scalar(select(func.min(t.visits.c.ends_at)).where(t.visits.c.status.in_(_OPEN_STATUSES)))

    # -- facility settings ------------------------------------------------------------------------

    def facility_settings(self) -> FacilitySettings:
        with self.engine.connect() as db:
            row = db.execute(select(t.facility_settings).where(t.facility_settings.c.id == 1)).mappings().first()
        if row is None:
            return FacilitySettings()
        return FacilitySettings(notices=row["notices"], callout_privacy=row["callout_privacy"])

    def save_facility_settings(self, settings: FacilitySettings) -> None:
        values = settings.model_dump(mode="json")
        change = update(t.facility_settings).where(t.facility_settings.c.id == 1).values(values)
        try:
            with self.engine.begin() as db:
                if db.execute(change).rowcount == 0:
                    db.execute(insert(t.facility_settings).values(id=1, **values))
        except IntegrityError:  # another save inserted the row first: this one replaces it
            with self.engine.begin() as db:
                db.execute(change)

    # -- pushed terminal events -------------------------------------------------------------------

    def add_event(self, terminal_id: int, body: dict[str, Any]) -> int:
        with self.engine.begin() as db:
            return int(
                db.execute(insert(t.terminal_events).values(terminal_id=terminal_id, body=body)).inserted_primary_key[0]
            )

    def events_after(self, terminal_id: int, after: int) -> list[tuple[int, dict[str, Any]]]:
        e = t.terminal_events.c
        with self.engine.connect() as db:
            rows = db.execute(
                select(e.seq, e.body).where(e.terminal_id == terminal_id, e.seq > after).order_by(e.seq).limit(100)
            ).all()
        return [(int(row.seq), dict(row.body)) for row in rows]

    def last_event_seq(self, terminal_id: int) -> int:
        with self.engine.connect() as db:
            return int(
                db.scalar(
                    select(func.max(t.terminal_events.c.seq)).where(t.terminal_events.c.terminal_id == terminal_id)
                )
                or 0
            )

    # -- audit ------------------------------------------------------------------------------------

    def add_audit_event(
        self,
        event_id: str,
        terminal_id: int | None,
        visit_id: int | None,
        kind: str,
        at: float,
        detail: dict[str, Any],
        actor: str | None = None,
    ) -> bool:
        """Stores an audit event once; False when this event id is already stored (a retried upload)."""
        try:
            with self.engine.begin() as db:
                db.execute(
                    insert(t.audit_events).values(
                        event_id=event_id,
                        actor=actor or f"terminal:{terminal_id}",
                        terminal_id=terminal_id,
                        visit_id=visit_id,
                        kind=kind,
                        at=at,
                        received_at=time.time(),
                        detail=detail,
                    )
                )
        except IntegrityError:
            return False
        return True

    def audit_events(self, *, terminal_id: int | None = None, visit_id: int | None = None) -> list[dict[str, Any]]:
        a = t.audit_events.c
        query = select(t.audit_events).order_by(a.at, a.event_id)
        if terminal_id is not None:
            query = query.where(a.terminal_id == terminal_id)
        if visit_id is not None:
            query = query.where(a.visit_id == visit_id)
        with self.engine.connect() as db:
            return [dict(row) for row in db.execute(query).mappings().all()]
