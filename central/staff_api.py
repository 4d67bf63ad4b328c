"""Staff's API: officer sign-in, today's visits, silent watching, messages to a resident's screen,
ending and cancelling visits, the facility's settings. Every action lands in the audit log under the
officer's name.

Officers sign in with a password (an HttpOnly cookie for the pages); automation uses the staff token.
"""

import hmac
import math
import time
import uuid
from datetime import UTC, datetime, timedelta
from datetime import time as day_time
from typing import Annotated, Any

from fastapi import APIRouter, Cookie, Depends, Header, Request, Response

from central.api_types import OptionalIdQuery, VisitPath
from central.store import Store, Visit
from central.terminal_attention import attention
from central.visits import VisitError, Visits
from kiosk.protocol import (
    API_PREFIX,
    CancelRequest,
    EndReason,
    EnrollmentCode,
    EnrollmentCodeRequest,
    ErrorCode,
    FacilitySettings,
    OfficerLogin,
    OfficerSession,
    StaffEndRequest,
    StaffMessageRequest,
    StaffVisit,
    VisitStatus,
    WatchGrant,
)

OFFICER_COOKIE = "officer_session"
OFFICER_SESSION_S = 8 * 3600.0


def _today_bounds(now: float) -> tuple[float, float]:
    local = datetime.fromtimestamp(now).astimezone()
    midnight = datetime.combine(local.date(), day_time(0), tzinfo=local.tzinfo)
    return midnight.timestamp(), (midnight + timedelta(days=1)).timestamp()


def staff_router(store: Store, visits: Visits, staff_token: str, errors: dict[int | str, dict[str, Any]]) -> APIRouter:
    router = APIRouter(prefix=f"{API_PREFIX}/staff", responses=errors)

    def actor(
        authorization: Annotated[str, Header()] = "",
        officer_session: Annotated[str, Cookie()] = "",
        x_officer_session: Annotated[str, Header()] = "",
    ) -> str:
        """Who is acting: an officer's session (cookie or header), or the staff token."""
        session = officer_session or x_officer_session
        officer = store.officer_for_session(session) if session else None
        if officer is not None:
            return f"officer:{officer[0]}"
        if staff_token and hmac.compare_digest(authorization, f"Bearer {staff_token}"):
            return "staff-token"
        raise VisitError(ErrorCode.TERMINAL_NOT_AUTHORISED, "officer sign-in required")

    Actor = Annotated[str, Depends(actor)]

    def audit(who: str, kind: str, visit_id: int | None, **detail: str) -> None:
        store.add_audit_event(str(uuid.uuid4()), None, visit_id, kind, time.time(), detail, actor=who)

    def visit_or_404(visit_id: int) -> Visit:
        visit = store.visit(visit_id)
        if visit is None:
            raise VisitError(ErrorCode.UNKNOWN_VISIT, f"no visit {visit_id}")
        return visit

    @router.post("/login")
    def login(body: OfficerLogin, request: Request, response: Response) -> OfficerSession:
        subject, now = f"officer:{body.username}", time.time()
        visits.refuse_if_locked(subject, None, now)
        name = store.check_officer(body.username, body.password)
        if name is None:
            visits.sign_in_failed(subject, None, now)
            raise VisitError(ErrorCode.BAD_CREDENTIALS, "officer sign-in refused")
        store.clear_sign_in_failures(subject)
        token = store.open_officer_session(body.username, OFFICER_SESSION_S)
        response.set_cookie(
            OFFICER_COOKIE,
            token,
            max_age=int(OFFICER_SESSION_S),
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        audit(f"officer:{body.username}", "officer_signed_in", None)
        return OfficerSession(display_name=name, session_token=token)

    @router.post("/logout", status_code=204)
    def logout(response: Response, officer_session: Annotated[str, Cookie()] = "") -> Response:
        if officer_session:
            store.close_officer_session(officer_session)
        response.delete_cookie(OFFICER_COOKIE)
        response.status_code = 204
        return response

    @router.get("/visits")
    def todays_visits(_: Actor) -> list[StaffVisit]:
        now = time.time()
        start, end = _today_bounds(now)
        names = {t["id"]: t["name"] for t in store.terminals()}
        found = []
        for visit in store.visits_between(start, end):
            resident = store.resident(visit.resident)
            summary = visits.summary(visit, now)
            lost = max(store.media_lost(visit.id), store.visitors_media_lost(visit.id))
            found.append(
                StaffVisit(
                    visit_id=visit.id,
                    resident_id=visit.resident,
                    resident_name=resident.display_name if resident else "",
                    visitors=list(visit.visitors),
                    starts_at=summary.starts_at,
                    ends_at=summary.ends_at,
                    status=summary.status,
                    status_reason=visit.end_message,
                    privileged=visit.privileged,
                    terminal=names.get(visit.terminal_id, "") if visit.terminal_id else "",
                    quality=store.visit_quality(visit.id),
                    media_lost_s=lost,
                    credit_minutes=math.ceil(lost / 60) if lost >= 1 else 0,  # whole minutes, up
                )
            )
        return found

    @router.post("/visits/{visit_id}/watch")
    def watch(visit_id: VisitPath, who: Actor) -> WatchGrant:
        visit = visit_or_404(visit_id)
        if visit.privileged:
            raise VisitError(ErrorCode.NOT_ALLOWED, "privileged visits are never watched")
        if visit.status is not VisitStatus.LIVE or visit.room is None or visit.room_pin is None:
            raise VisitError(ErrorCode.NOT_READY, f"visit {visit_id} is not live")
        audit(who, "watch_started", visit_id)
        return WatchGrant(visit_id=visit_id, janus_url=visits.janus_public_url, room=visit.room, pin=visit.room_pin)

    @router.post("/visits/{visit_id}/message", status_code=204)
    def message(visit_id: VisitPath, body: StaffMessageRequest, who: Actor) -> Response:
        visit = visit_or_404(visit_id)
        if visit.status is not VisitStatus.LIVE or visit.terminal_id is None:
            raise VisitError(ErrorCode.NOT_READY, f"visit {visit_id} is not live")
        visits.send_message(visit, body.text)
        audit(who, "message_sent", visit_id, text=body.text)
        return Response(status_code=204)

    @router.post("/visits/{visit_id}/end", status_code=204)
    def end(visit_id: VisitPath, body: StaffEndRequest, who: Actor) -> Response:
        if not visits.end(visit_id, VisitStatus.ENDED_BY_STAFF, EndReason.ENDED_BY_STAFF, body.reason):
            raise VisitError(ErrorCode.UNKNOWN_VISIT, f"visit {visit_id} is not open")
        audit(who, "visit_ended_by_staff", visit_id, reason=body.reason)
        return Response(status_code=204)

    @router.post("/visits/{visit_id}/cancel", status_code=204)
    def cancel(visit_id: VisitPath, body: CancelRequest, who: Actor) -> Response:
        visits.cancel(visit_id, body.reason)
        audit(who, "visit_cancelled", visit_id, reason=body.reason)
        return Response(status_code=204)

    @router.get("/audit")
    def audit_log(
        _: Actor,
        terminal_id: OptionalIdQuery = None,
        visit_id: OptionalIdQuery = None,
    ) -> list[dict[str, Any]]:
        return store.audit_events(terminal_id=terminal_id, visit_id=visit_id)

    @router.get("/settings")
    def settings(_: Actor) -> FacilitySettings:
        """The idle screens' notices and how much a "visit is ready" call-out may show."""
        return store.facility_settings()

    @router.put("/settings")
    def change_settings(body: FacilitySettings, who: Actor) -> FacilitySettings:
        """Replaces the settings as a whole; a refused body changes nothing."""
        before = store.facility_settings()
        store.save_facility_settings(body)
        audit(
            who,
            "settings_changed",
            None,
            callout_privacy=f"{before.callout_privacy.value} -> {body.callout_privacy.value}",
            notices=" | ".join(n.title for n in body.notices),
        )
        return body

    @router.get("/terminals")
    def terminals(_: Actor) -> list[dict[str, Any]]:
        """Every terminal, with what staff must know about it (`attention`: sentences, none when all is well)."""
        now = time.time()
        return [{**row, "attention": attention(row, now)} for row in store.terminals()]

    @router.post("/enrollment-codes")
    def new_enrollment_code(body: EnrollmentCodeRequest, who: Actor) -> EnrollmentCode:
        """A one-time code for a technician to enroll one terminal (`kiosk-provision setup`)."""
        code, expires_at = store.add_enrollment_code(body.housing_unit, body.valid_minutes * 60.0, who)
        audit(who, "enrollment_code_created", None, housing_unit=body.housing_unit, expires_at=f"{expires_at:.0f}")
        groups = "-".join(code[i : i + 4] for i in range(0, len(code), 4))
        return EnrollmentCode(code=groups, expires_at=datetime.fromtimestamp(expires_at, tz=UTC))

    return router
