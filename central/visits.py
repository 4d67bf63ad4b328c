"""Central's visit rules: who may join which visit and when, rooms opened and closed, exact ends.

The HTTP layer calls this; it decides, the terminal only enforces what it is told.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from central.rooms import Room, RoomAdmin
from central.store import Store, Visit
from central.video_caps import VideoCaps
from kiosk.janus_client import JanusError
from kiosk.protocol import (
    EndReason,
    ErrorCode,
    Reception,
    ResidentSession,
    RoomGrant,
    TerminalEventType,
    VideoCap,
    VisitorStatus,
    VisitQuality,
    VisitStatus,
    VisitSummary,
)

log = logging.getLogger(__name__)
RESIDENT_DISPLAY = "Resident"  # the resident's name in the room, which the visitor page looks for
RETRY_S = 0.5  # how soon the visit clock looks again after the database failed it


@dataclass(frozen=True)
class VisitRules:
    join_early_s: float = 300.0
    warnings_s: tuple[int, ...] = (300, 60)
    session_ttl_s: float = 900.0
    lockout_failures: int = 5
    lockout_s: float = 900.0


class VisitError(Exception):
    def __init__(self, code: ErrorCode, message: str, retry_after_s: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retry_after_s = retry_after_s


def _utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)


class Visits:
    def __init__(self, store: Store, rooms: RoomAdmin, janus_public_url: str, rules: VisitRules) -> None:
        self._store = store
        self._rooms = rooms
        self.janus_public_url = janus_public_url
        self._rules = rules
        self._room_lock = threading.Lock()
        self._video_caps = VideoCaps()
        self.changed = threading.Condition()
        self._generation = 0

    # -- reading ----------------------------------------------------------------------------------

    def status_now(self, visit: Visit, now: float) -> VisitStatus:
        if visit.status is VisitStatus.SCHEDULED and visit.starts_at - self._rules.join_early_s <= now < visit.ends_at:
            return VisitStatus.READY
        return visit.status

    def summary(self, visit: Visit, now: float) -> VisitSummary:
        return VisitSummary(
            visit_id=visit.id,
            visitors=list(visit.visitors),
            starts_at=_utc(visit.starts_at),
            ends_at=_utc(visit.ends_at),
            status=self.status_now(visit, now),
            status_reason=visit.end_message,
            joinable_from=_utc(visit.starts_at - self._rules.join_early_s),
            recorded=visit.recorded,
            privileged=visit.privileged,
            place=self._place(visit),
        )

    def _place(self, visit: Visit) -> str:
        if visit.place_terminal_id is not None:
            terminal = self._store.terminal(visit.place_terminal_id)
            return str(terminal["name"]) if terminal else ""
        return visit.place_unit or ""

    def _unit_of(self, terminal_id: int) -> str:
        terminal = self._store.terminal(terminal_id)
        return str(terminal["housing_unit"]) if terminal else ""

    @staticmethod
    def _takes_place_at(visit: Visit, terminal_id: int, unit: str) -> bool:
        """A visit bound to a terminal or a housing unit opens there only; an unbound one anywhere."""
        return (visit.place_terminal_id is None or visit.place_terminal_id == terminal_id) and (
            visit.place_unit is None or visit.place_unit == unit
        )

    def _check_place(self, visit: Visit, terminal_id: int) -> None:
        if not self._takes_place_at(visit, terminal_id, self._unit_of(terminal_id)):
            raise VisitError(ErrorCode.NOT_ALLOWED, f"visit {visit.id} takes place at another terminal")

    def ready_at(self, terminal_id: int, now: float) -> list[Visit]:
        """Visits that are ready or live now and may be opened at this terminal, earliest start first."""
        unit = self._unit_of(terminal_id)
        return [
            visit
            for visit in self._store.open_visits_around(now, starting_by=now + self._rules.join_early_s)
            if self.status_now(visit, now) in (VisitStatus.READY, VisitStatus.LIVE)
            and self._takes_place_at(visit, terminal_id, unit)
        ]

    def _locked_until(self, subject: str, terminal_id: int | None, now: float) -> float | None:
        """When sign-in opens again if this person (or this terminal) had too many failures, else None."""
        since = now - self._rules.lockout_s
        counts = [self._store.sign_in_failures_since(since, subject=subject)]
        if terminal_id is not None:
            counts.append(self._store.sign_in_failures_since(since, terminal_id=terminal_id))
        until = None
        for failures in counts:
            if len(failures) >= self._rules.lockout_failures:
                until = max(until or 0.0, failures[-1] + self._rules.lockout_s)
        return until

    def refuse_if_locked(self, subject: str, terminal_id: int | None, now: float) -> None:
        until = self._locked_until(subject, terminal_id, now)
        if until is not None:
            raise VisitError(ErrorCode.LOCKED, "sign-in locked after repeated failures", math.ceil(until - now))

    def sign_in_failed(self, subject: str, terminal_id: int | None, now: float) -> None:
        """Counts a failure; refuses at once (locked) when this one reached the limit."""
        self._store.record_sign_in_failure(subject, terminal_id, now)
        self.refuse_if_locked(subject, terminal_id, now)

    def identify(self, terminal_id: int, number: str, pin: str) -> ResidentSession:
        now = time.time()
        subject = f"resident:{number}"
        # A locked account is refused before the PIN is even checked, so guessing stops counting.
        self.refuse_if_locked(subject, terminal_id, now)
        resident = self._store.check_resident(number, pin)
        if resident is None:
            self.sign_in_failed(subject, terminal_id, now)
            raise VisitError(ErrorCode.BAD_CREDENTIALS, "ID or PIN not recognised")
        self._store.clear_sign_in_failures(subject)
        token = self._store.open_session(number, terminal_id, self._rules.session_ttl_s)
        return ResidentSession(
            session_token=token,
            display_name=resident.display_name,
            language=resident.language,
            visits=self.list_for(number),
        )

    def list_for(self, resident: str) -> list[VisitSummary]:
        now = time.time()
        return [self.summary(v, now) for v in self._store.visits_for_resident(resident, since=now - 3600)]

    # -- joining ----------------------------------------------------------------------------------

    def _joinable(self, visit: Visit, now: float) -> None:
        if not visit.is_open or now >= visit.ends_at:
            raise VisitError(ErrorCode.VISIT_OVER, f"visit {visit.id} is over")
        if now < visit.starts_at - self._rules.join_early_s:
            raise VisitError(ErrorCode.NOT_READY, f"visit {visit.id} is not open yet")

    def _ensure_room(self, visit: Visit) -> Visit:
        with self._room_lock:
            fresh = self._store.visit(visit.id)
            assert fresh is not None
            if fresh.room is not None:
                return fresh
            try:
                room = self._rooms.create(visit.id, recorded=visit.recorded)
            except JanusError as exc:
                log.error("room for visit %s not created: %s", visit.id, exc)
                raise VisitError(ErrorCode.MEDIA_UNAVAILABLE, "the media server is unavailable") from exc
            self._store.set_room(visit.id, room.room, room.pin, room.secret)
            created = self._store.visit(visit.id)
            assert created is not None
            return created

    def _grant(self, visit: Visit, display: str, now: float) -> RoomGrant:
        assert visit.room is not None and visit.room_pin is not None
        return RoomGrant(
            visit_id=visit.id,
            janus_url=self.janus_public_url,
            room=visit.room,
            pin=visit.room_pin,
            display=display,
            ends_at=_utc(visit.ends_at),
            seconds_left=max(0.0, visit.ends_at - now),
            warnings_s=sorted(self._rules.warnings_s, reverse=True),
            recorded=visit.recorded,
            visitors=list(visit.visitors),
        )

    def open_for_resident(self, terminal_id: int, resident: str, visit_id: int) -> RoomGrant:
        visit = self._store.visit(visit_id)
        if visit is None or visit.resident != resident:
            raise VisitError(ErrorCode.UNKNOWN_VISIT, f"visit {visit_id} is not this resident's")
        now = time.time()
        self._joinable(visit, now)
        self._check_place(visit, terminal_id)
        visit = self._ensure_room(visit)
        self._store.mark_live(visit.id, terminal_id)
        self._poke()
        return self._grant(visit, RESIDENT_DISPLAY, now)

    def resume_for_terminal(self, terminal_id: int, visit_id: int) -> RoomGrant:
        """The room again for the terminal a visit is live on, after that terminal restarted in it. The resident's
        old place in the room is freed first: a dead session must not hold the room full until Janus drops it."""
        visit = self._store.visit(visit_id)
        if visit is None or visit.terminal_id != terminal_id or visit.status is not VisitStatus.LIVE:
            raise VisitError(ErrorCode.UNKNOWN_VISIT, f"visit {visit_id} is not live on this terminal")
        now = time.time()
        self._joinable(visit, now)
        visit = self._ensure_room(visit)
        assert visit.room is not None and visit.room_secret is not None
        try:
            self._rooms.kick_everyone(visit.room, visit.room_secret, display=RESIDENT_DISPLAY)
        except JanusError as exc:
            log.warning("the resident's old place in the room of visit %s was not freed: %s", visit_id, exc)
        return self._grant(visit, RESIDENT_DISPLAY, now)

    def _visitor(self, code: str) -> tuple[Visit, str]:
        found = self._store.visit_for_code(code)
        if found is None:
            raise VisitError(ErrorCode.UNKNOWN_VISIT, "unknown visit code")
        return found

    def join_for_visitor(self, code: str) -> RoomGrant:
        visit, name = self._visitor(code)
        now = time.time()
        self._joinable(visit, now)
        visit = self._ensure_room(visit)
        self._poke()
        return self._grant(visit, name, now)

    def visitor_media_lost(self, code: str, media_lost_s: float) -> None:
        visit, _name = self._visitor(code)
        if visit.status is VisitStatus.SCHEDULED:
            raise VisitError(ErrorCode.NOT_READY, f"visit {visit.id} has not started")
        # No visitor can lose more than the whole visit.
        self._store.record_visitor_media_lost(code, visit.id, min(media_lost_s, visit.ends_at - visit.starts_at))

    def visitor_status(self, code: str) -> VisitorStatus:
        visit, name = self._visitor(code)
        now = time.time()
        return VisitorStatus(
            visit=self.summary(visit, now),
            display=name,
            seconds_left=max(0.0, visit.ends_at - now),
            end_reason=visit.end_reason,
            message=visit.end_message,
        )

    # -- what each participant's link carries -----------------------------------------------------

    def terminal_reception(self, terminal_id: int, visit_id: int, reception: Reception) -> VideoCap:
        visit = self._store.visit(visit_id)
        if visit is None or visit.terminal_id != terminal_id or not visit.is_open:
            raise VisitError(ErrorCode.UNKNOWN_VISIT, f"visit {visit_id} is not live on this terminal")
        return VideoCap(video_kbps=self._video_caps.report(visit_id, "terminal", reception))

    def visitor_reception(self, code: str, reception: Reception) -> VideoCap:
        visit, _name = self._visitor(code)
        if not visit.is_open:
            raise VisitError(ErrorCode.UNKNOWN_VISIT, f"visit {visit.id} is not open")
        return VideoCap(video_kbps=self._video_caps.report(visit.id, f"visitor {code}", reception))

    # -- ending -----------------------------------------------------------------------------------

    def end(self, visit_id: int, status: VisitStatus, reason: EndReason, message: str = "") -> bool:
        """Ends an open visit once: closes its room and tells its terminal. False if already ended."""
        visit = self._store.visit(visit_id)
        if visit is None or not self._store.mark_ended(visit_id, status, reason, message):
            return False
        log.info("visit %s ended: %s", visit_id, reason.value)
        self._video_caps.forget(visit_id)
        if visit.room is not None and visit.room_secret is not None:
            try:
                if status is VisitStatus.ENDED_BY_STAFF:
                    self._rooms.kick_everyone(visit.room, visit.room_secret)
                self._rooms.destroy(visit.room, visit.room_secret)
            except JanusError as exc:
                log.error("room of visit %s not destroyed: %s", visit_id, exc)
        if visit.terminal_id is not None:
            self._store.add_event(
                visit.terminal_id,
                {
                    "type": TerminalEventType.VISIT_ENDED.value,
                    "visit_id": visit_id,
                    "reason": reason.value,
                    "message": message,
                },
            )
        self._poke()
        return True

    def end_by_terminal(
        self, terminal_id: int, visit_id: int, reason: EndReason, media_lost_s: float, quality: VisitQuality | None
    ) -> None:
        """The terminal's report of how a visit live on it ended; a repeated report changes nothing more."""
        visit = self._store.visit(visit_id)
        if visit is None or visit.terminal_id != terminal_id:
            raise VisitError(ErrorCode.UNKNOWN_VISIT, f"visit {visit_id} is not live on this terminal")
        # A retried report must not count the lost media twice; one report per visit counts.
        self._store.record_terminal_report(visit_id, media_lost_s)
        if quality is not None:
            self._store.record_visit_quality(visit_id, quality.model_dump(mode="json"))
        self.end(visit_id, VisitStatus.ENDED, reason)

    def cancel(self, visit_id: int, reason: str) -> None:
        """Staff cancel a visit with a reason that the resident and the visitors are shown."""
        visit = self._store.visit(visit_id)
        if visit is None or not visit.is_open:
            raise VisitError(ErrorCode.UNKNOWN_VISIT, f"visit {visit_id} is not open")
        if visit.status is VisitStatus.LIVE:
            self.end(visit_id, VisitStatus.ENDED_BY_STAFF, EndReason.ENDED_BY_STAFF, reason)
        elif self._store.mark_ended(visit_id, VisitStatus.CANCELLED, None, reason):
            self._close_unopened(visit)

    def send_message(self, visit: Visit, text: str) -> None:
        """Shows staff's words on the screen of the terminal where the visit is live."""
        assert visit.terminal_id is not None
        body = {"type": TerminalEventType.STAFF_MESSAGE.value, "visit_id": visit.id, "message": text}
        self._store.add_event(visit.terminal_id, body)
        self._poke()

    def end_due(self, now: float) -> None:
        for visit in self._store.open_visits_ending_by(now):
            if visit.status is VisitStatus.LIVE:
                self.end(visit.id, VisitStatus.ENDED, EndReason.TIME_UP)
            elif self._store.mark_ended(visit.id, VisitStatus.NO_SHOW, None):
                # Never opened by the resident: a missed visit, whoever waited in the room.
                self._close_unopened(visit)

    def keep_rooms(self, now: float) -> None:
        """Makes anew the room of every open visit that Janus no longer has (it restarted): the same number, pin
        and secret, so its participants, who keep rejoining, find it again. A visit is never ended for this."""
        for visit in self._store.open_visits_around(now, starting_by=now + self._rules.join_early_s):
            if visit.room is None or visit.room_pin is None or visit.room_secret is None:
                continue
            with self._room_lock:
                if self._rooms.exists(visit.room):
                    continue
                log.warning("the room of visit %s is gone from Janus: made anew", visit.id)
                again = Room(visit.room, visit.room_pin, visit.room_secret)
                self._rooms.create(visit.id, recorded=visit.recorded, again=again)

    def _close_unopened(self, visit: Visit) -> None:
        """Closes the room visitors may be waiting in for a visit the resident never opened."""
        if visit.room is not None and visit.room_secret is not None:
            try:
                self._rooms.destroy(visit.room, visit.room_secret)
            except JanusError as exc:
                log.error("room of visit %s not destroyed: %s", visit.id, exc)
        self._poke()

    @property
    def generation(self) -> int:
        """A counter that moves on every change, so a waiter cannot miss one between look and wait."""
        return self._generation

    def wait_for_change(self, seen: int, timeout: float) -> None:
        with self.changed:
            self.changed.wait_for(lambda: self._generation != seen, timeout)

    def _poke(self) -> None:
        with self.changed:
            self._generation += 1
            self.changed.notify_all()


class RoomKeeper:
    """A thread that looks every second for open visits whose room Janus lost, and makes those rooms anew."""

    def __init__(self, visits: Visits, every_s: float = 1.0) -> None:
        self._visits = visits
        self._every_s = every_s
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="room-keeper", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        janus_away = False
        while not self._stopping.wait(self._every_s):
            try:
                self._visits.keep_rooms(time.time())
                janus_away = False
            except JanusError as exc:
                if not janus_away:  # once per outage, not every second
                    log.error("room keeper: Janus unavailable: %s", exc)
                janus_away = True
            except Exception:
                log.exception("room keeper: the rooms could not be checked; trying again")


class VisitClock:
    """A thread that ends every open visit at its scheduled end, to the second, whoever is in it."""

    def __init__(self, visits: Visits, store: Store) -> None:
        self._visits = visits
        self._store = store
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="visit-clock", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        with self._visits.changed:
            self._stopping = True
            self._visits.changed.notify_all()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while True:
            try:
                self._visits.end_due(time.time())
                next_end = self._store.next_open_visit_end()
                wait = 60.0 if next_end is None else max(0.0, min(60.0, next_end - time.time()))
            except Exception:
                # The database is restarting, locked or gone for a moment: visits must still end once it is
                # back, so the clock never dies; it looks again shortly.
                log.exception("visit clock: the visits due could not be ended; trying again")
                wait = RETRY_S
            with self._visits.changed:
                if self._stopping:
                    return
                self._visits.changed.wait(wait)
