"""Central's HTTP API: the terminal protocol, visitor joins and staff actions, over FastAPI.

Every error is an `ErrorBody` with a code; invalid requests are 400s that change nothing.
"""

import time
import uuid
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from central.api_types import VisitPath
from central.idle_screen import idle_info
from central.staff_api import staff_router
from central.store import EnrollmentRefused, Store
from central.visits import VisitError, Visits
from central.web import mount_web
from kiosk.protocol import (
    API_PREFIX,
    MAX_ID,
    AuditBatch,
    AuditReceipt,
    EndVisitRequest,
    EnrollmentGrant,
    EnrollmentRequest,
    ErrorBody,
    ErrorCode,
    EventBatch,
    Heartbeat,
    IdentifyRequest,
    IdleInfo,
    Reception,
    ResidentSession,
    RoomGrant,
    TerminalEvent,
    VideoCap,
    VisitList,
    VisitorJoinRequest,
    VisitorMediaLost,
    VisitorReception,
    VisitorStatus,
)
from kiosk.request_proof import HEADER as PROOF_HEADER
from kiosk.request_proof import ProofRefused, check_proof

_HTTP_STATUS = {
    ErrorCode.BAD_CREDENTIALS: 401,
    ErrorCode.TERMINAL_NOT_AUTHORISED: 401,
    ErrorCode.SESSION_EXPIRED: 401,
    ErrorCode.UNKNOWN_VISIT: 404,
    ErrorCode.NOT_READY: 409,
    ErrorCode.VISIT_OVER: 409,
    ErrorCode.MEDIA_UNAVAILABLE: 503,
    ErrorCode.INVALID_REQUEST: 400,
    ErrorCode.LOCKED: 429,
    ErrorCode.NOT_ALLOWED: 403,
    ErrorCode.ENROLLMENT_CODE_UNKNOWN: 404,
    ErrorCode.ENROLLMENT_CODE_USED: 409,
    ErrorCode.ENROLLMENT_CODE_EXPIRED: 410,
}
_MAX_POLL_S = 30.0


def _error(code: ErrorCode, message: str, retry_after_s: int | None = None) -> JSONResponse:
    body = ErrorBody(code=code, message=message, retry_after_s=retry_after_s)
    headers = {"Retry-After": str(retry_after_s)} if retry_after_s is not None else None
    return JSONResponse(body.model_dump(mode="json"), status_code=_HTTP_STATUS[code], headers=headers)


def _problem(error: dict[str, Any]) -> str:
    """What is wrong with one field, in words that never repeat the value sent (it may be a PIN)."""
    if error.get("type") == "string_pattern_mismatch":
        return "characters or spacing not allowed here"
    return str(error.get("msg", "invalid"))


def _target(request: Request) -> str:
    """The request's path and query exactly as the client sent them, which is what a terminal signs."""
    path, query = request.scope["raw_path"].decode("latin-1"), request.scope["query_string"].decode("latin-1")
    return f"{path}?{query}" if query else path


def create_app(
    store: Store, visits: Visits, staff_token: str, facility: str = "", facility_ca_pem: str | None = None
) -> FastAPI:
    """`facility` (its name) and `facility_ca_pem` are handed to each terminal that enrolls, the CA to pin."""
    app = FastAPI(title="Visitation central", version="1", description="The terminal protocol and visitor joins.")

    @app.exception_handler(VisitError)
    def _visit_error(_: Request, exc: VisitError) -> JSONResponse:
        return _error(exc.code, exc.message, exc.retry_after_s)

    @app.exception_handler(StarletteHTTPException)
    def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        # Unknown paths, wrong methods and bodies that cannot even be decoded: still an ErrorBody.
        body = ErrorBody(code=ErrorCode.INVALID_REQUEST, message=str(exc.detail))
        return JSONResponse(body.model_dump(mode="json"), status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        fields = ", ".join(f"{'.'.join(str(p) for p in e['loc'])} ({_problem(e)})" for e in exc.errors())
        return _error(ErrorCode.INVALID_REQUEST, f"invalid fields: {fields}")

    async def terminal(request: Request, authorization: Annotated[str, Header()] = "") -> int:
        """The terminal making the request. An enrolled one must also sign it with its key."""
        scheme, _, token = authorization.partition(" ")
        found = await run_in_threadpool(store.terminal_for_token, token) if scheme.lower() == "bearer" else None
        if found is None:
            raise VisitError(ErrorCode.TERMINAL_NOT_AUTHORISED, "unknown terminal token")
        terminal_id, public_key = found
        if public_key is not None:
            signed = request.headers.get(PROOF_HEADER, "")
            if not signed:
                raise VisitError(ErrorCode.TERMINAL_NOT_AUTHORISED, "an enrolled terminal signs every request")
            try:
                check_proof(public_key, signed, request.method, _target(request), await request.body(), time.time())
            except ProofRefused as exc:
                raise VisitError(ErrorCode.TERMINAL_NOT_AUTHORISED, str(exc)) from None
        return terminal_id

    def resident(
        terminal_id: Annotated[int, Depends(terminal)], x_resident_session: Annotated[str, Header()] = ""
    ) -> tuple[int, str]:
        number = store.session_resident(x_resident_session, terminal_id) if x_resident_session else None
        if number is None:
            raise VisitError(ErrorCode.SESSION_EXPIRED, "resident session missing or expired")
        return terminal_id, number

    Resident = Annotated[tuple[int, str], Depends(resident)]
    errors: dict[int | str, dict[str, Any]] = {
        429: {"model": ErrorBody},
        400: {"model": ErrorBody},
        401: {"model": ErrorBody},
        404: {"model": ErrorBody},
        403: {"model": ErrorBody},
        409: {"model": ErrorBody},
        410: {"model": ErrorBody},
        503: {"model": ErrorBody},
    }

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post(f"{API_PREFIX}/terminal/enroll", responses=errors)
    def enroll(body: EnrollmentRequest, request: Request) -> EnrollmentGrant:
        """Spends a one-time enrollment code on a new terminal. Unknown codes count as failures from the
        caller's address, so guessing is locked out like guessing a PIN."""
        subject, now = f"enrollment:{request.client.host if request.client else ''}", time.time()
        visits.refuse_if_locked(subject, None, now)
        try:
            terminal_id, token, unit = store.enroll(body.code, body.name, body.location, body.public_key, now)
        except EnrollmentRefused as exc:
            if exc.code is ErrorCode.ENROLLMENT_CODE_UNKNOWN:
                visits.sign_in_failed(subject, None, now)
            raise VisitError(exc.code, exc.message) from None
        detail = {"name": body.name, "location": body.location}
        store.add_audit_event(str(uuid.uuid4()), terminal_id, None, "terminal_enrolled", now, detail)
        return EnrollmentGrant(
            terminal_id=terminal_id,
            token=token,
            facility=facility,
            housing_unit=unit,
            janus_url=visits.janus_public_url,
            facility_ca_pem=facility_ca_pem,
        )

    @app.post(f"{API_PREFIX}/terminal/leave", status_code=204, responses=errors)
    def leave(terminal_id: Annotated[int, Depends(terminal)]) -> Response:
        """A factory reset: the terminal's token (and key) are refused from now on."""
        now = time.time()
        store.retire_terminal(terminal_id, now)
        store.add_audit_event(str(uuid.uuid4()), terminal_id, None, "terminal_left", now, {})
        return Response(status_code=204)

    @app.post(f"{API_PREFIX}/terminal/identify", responses=errors)
    def identify(body: IdentifyRequest, terminal_id: Annotated[int, Depends(terminal)]) -> ResidentSession:
        return visits.identify(terminal_id, body.resident_id, body.pin)

    @app.get(f"{API_PREFIX}/terminal/visits", responses=errors)
    def list_visits(who: Resident) -> VisitList:
        return VisitList(visits=visits.list_for(who[1]))

    @app.post(f"{API_PREFIX}/terminal/visits/{{visit_id}}/open", responses=errors)
    def open_visit(visit_id: VisitPath, who: Resident) -> RoomGrant:
        return visits.open_for_resident(who[0], who[1], visit_id)

    @app.post(f"{API_PREFIX}/terminal/visits/{{visit_id}}/resume", responses=errors)
    def resume_visit(visit_id: VisitPath, terminal_id: Annotated[int, Depends(terminal)]) -> RoomGrant:
        """The room of a visit live on this terminal, again: the terminal restarted in the middle of it (the resident
        session died with it). The resident's old place in the room is freed."""
        return visits.resume_for_terminal(terminal_id, visit_id)

    @app.post(f"{API_PREFIX}/terminal/visits/{{visit_id}}/end", status_code=204, responses=errors)
    def end_visit(
        visit_id: VisitPath, body: EndVisitRequest, terminal_id: Annotated[int, Depends(terminal)]
    ) -> Response:
        """How a visit live on this terminal ended. No resident session is needed (one can expire mid-visit, and
        the report is retried until central has it); a repeated report changes nothing more."""
        visits.end_by_terminal(terminal_id, visit_id, body.reason, body.media_lost_s, body.quality)
        return Response(status_code=204)

    @app.post(f"{API_PREFIX}/terminal/visits/{{visit_id}}/reception", responses=errors)
    def terminal_reception(
        visit_id: VisitPath, body: Reception, terminal_id: Annotated[int, Depends(terminal)]
    ) -> VideoCap:
        """What the terminal received of the visitors' video lately; the answer is the most its own video should
        send, for the participant with the thinnest link."""
        return visits.terminal_reception(terminal_id, visit_id, body)

    @app.post(f"{API_PREFIX}/terminal/logout", status_code=204, responses=errors)
    def logout(_: Annotated[int, Depends(terminal)], x_resident_session: Annotated[str, Header()] = "") -> Response:
        store.close_session(x_resident_session)
        return Response(status_code=204)

    @app.post(f"{API_PREFIX}/terminal/heartbeat", status_code=204, responses=errors)
    def heartbeat(body: Heartbeat, terminal_id: Annotated[int, Depends(terminal)]) -> Response:
        store.record_heartbeat(terminal_id, body.health, body.version)
        return Response(status_code=204)

    @app.post(f"{API_PREFIX}/terminal/audit", responses=errors)
    def audit(body: AuditBatch, terminal_id: Annotated[int, Depends(terminal)]) -> AuditReceipt:
        """Idempotent: an event id already stored is counted as a duplicate and changes nothing."""
        stored = sum(
            store.add_audit_event(e.event_id, terminal_id, e.visit_id, e.kind, e.at.timestamp(), e.detail)
            for e in body.events
        )
        return AuditReceipt(stored=stored, duplicates=len(body.events) - stored)

    @app.get(f"{API_PREFIX}/terminal/events", responses=errors)
    def events(
        terminal_id: Annotated[int, Depends(terminal)],
        after: Annotated[int, Query(ge=-1, le=MAX_ID)] = -1,
        wait: Annotated[float, Query(ge=0, le=_MAX_POLL_S)] = 0.0,
    ) -> EventBatch:
        """Long poll. `after=-1` starts from now (no replay of old events)."""
        last = store.last_event_seq(terminal_id)
        if after < 0 or after > last:
            # From now on; or the terminal is ahead of this database (restored from a backup): it resyncs to here.
            return EventBatch(events=[], next_after=last)
        deadline = time.monotonic() + wait
        while True:
            seen = visits.generation
            found = store.events_after(terminal_id, after)
            left = deadline - time.monotonic()
            if found or left <= 0:
                break
            visits.wait_for_change(seen, left)
        batch = [TerminalEvent(seq=seq, **body) for seq, body in found]
        return EventBatch(events=batch, next_after=batch[-1].seq if batch else after)

    @app.get(f"{API_PREFIX}/terminal/idle", responses=errors)
    def idle(terminal_id: Annotated[int, Depends(terminal)]) -> IdleInfo:
        """The idle screen's notices, and call-outs for visits ready or live at this terminal's place."""
        return idle_info(store, visits, terminal_id)

    @app.post(f"{API_PREFIX}/visitor/join", responses=errors)
    def visitor_join(body: VisitorJoinRequest) -> RoomGrant:
        return visits.join_for_visitor(body.code)

    @app.post(f"{API_PREFIX}/visitor/media-lost", status_code=204, responses=errors)
    def visitor_media_lost(body: VisitorMediaLost) -> Response:
        """How long this visitor's own link was down so far, for the facility to credit; the largest total counts."""
        visits.visitor_media_lost(body.code, body.media_lost_s)
        return Response(status_code=204)

    @app.post(f"{API_PREFIX}/visitor/reception", responses=errors)
    def visitor_reception(body: VisitorReception) -> VideoCap:
        """What this visitor received of the others' video lately; the answer is the most its own video should send."""
        return visits.visitor_reception(body.code, body)

    @app.get(f"{API_PREFIX}/visitor/status", responses=errors)
    def visitor_status(code: Annotated[str, Query(pattern=r"^[A-Za-z0-9]{6,32}$")]) -> VisitorStatus:
        return visits.visitor_status(code)

    app.include_router(staff_router(store, visits, staff_token, errors))
    mount_web(app)
    return app
