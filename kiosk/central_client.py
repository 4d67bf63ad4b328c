"""The terminal's client for central's API (requests, TLS verified, token from a 0600 file; an enrolled
terminal also signs every request with its key, `kiosk.request_proof`).

Every answer is parsed through `kiosk.protocol`; failures become CentralError with a code the
state machine turns into a screen, and never carry a PIN or a name.
"""

from __future__ import annotations

import logging
import time
from typing import Any, TypeVar

import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import BaseModel, ValidationError

from kiosk.config import CentralSection
from kiosk.pinned_session import PinnedSession
from kiosk.protocol import (
    API_PREFIX,
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
    WireMessage,
)
from kiosk.request_proof import HEADER as PROOF_HEADER
from kiosk.request_proof import proof

T = TypeVar("T", bound=BaseModel)
log = logging.getLogger(__name__)


class _ReceivedEvents(WireMessage):
    """An event batch as it arrives, before each event is read on its own."""

    events: list[dict[str, Any]]
    next_after: int


class CentralError(Exception):
    """A request to central failed. `code` is None when central could not be reached or made no sense."""

    def __init__(self, code: ErrorCode | None, detail: str, retry_after_s: int | None = None) -> None:
        super().__init__(detail)
        self.code = code
        self.retry_after_s = retry_after_s


class SignedByKey(requests.auth.AuthBase):
    """Adds the terminal's proof of its key to each request, over exactly what is sent."""

    def __init__(self, key: Ed25519PrivateKey) -> None:
        self._key = key

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        body = request.body or b""
        body = body.encode() if isinstance(body, str) else body
        assert isinstance(body, bytes), "the client sends JSON bodies only"
        request.headers[PROOF_HEADER] = proof(self._key, int(time.time()), request.method or "", request.path_url, body)
        return request


class CentralClient:
    def __init__(
        self,
        base_url: str,
        token: str | None,
        verify: bool | str = True,
        timeout_s: float = 10.0,
        key: Ed25519PrivateKey | None = None,
    ) -> None:
        """`token` None: a terminal not enrolled yet, which can only enroll. `key`: an enrolled terminal's."""
        self._base = base_url.rstrip("/") + API_PREFIX
        self._timeout = timeout_s
        self._http = PinnedSession(verify)
        if token is not None:
            self._http.headers["Authorization"] = f"Bearer {token}"
        if key is not None:
            self._http.auth = SignedByKey(key)

    @classmethod
    def for_terminal(cls, central: CentralSection, token: str, key: Ed25519PrivateKey | None) -> CentralClient:
        """The client of a terminal set up by its configuration's [central] section (its CA pinned if it names one)."""
        verify: bool | str = str(central.ca_file) if central.ca_file else True
        return cls(central.url, token, verify=verify, timeout_s=central.timeout_s, key=key)

    def _call(
        self,
        method: str,
        path: str,
        model: type[T] | None,
        *,
        body: BaseModel | None = None,
        session: str | None = None,
        params: dict[str, Any] | None = None,
        timeout: float | None = None,
    ) -> T | None:
        headers = {"X-Resident-Session": session} if session else {}
        try:
            response = self._http.request(
                method,
                self._base + path,
                headers=headers,
                params=params,
                timeout=timeout or self._timeout,
                json=body.model_dump(mode="json") if body is not None else None,
            )
        except requests.RequestException as exc:
            raise CentralError(None, f"central unreachable: {type(exc).__name__}") from exc
        if response.status_code >= 400:
            try:
                error = ErrorBody.model_validate_json(response.content)
            except ValidationError:
                raise CentralError(None, f"central answered HTTP {response.status_code}") from None
            raise CentralError(error.code, error.message, error.retry_after_s)
        if model is None:
            return None
        try:
            return model.model_validate_json(response.content)
        except ValidationError as exc:
            raise CentralError(None, f"central sent a malformed {model.__name__}") from exc

    def enroll(self, request: EnrollmentRequest) -> EnrollmentGrant:
        result = self._call("POST", "/terminal/enroll", EnrollmentGrant, body=request)
        assert result is not None
        return result

    def leave(self) -> None:
        """A factory reset: central refuses this terminal's credentials from now on."""
        self._call("POST", "/terminal/leave", None)

    def identify(self, resident_id: str, pin: str) -> ResidentSession:
        body = IdentifyRequest(resident_id=resident_id, pin=pin)
        result = self._call("POST", "/terminal/identify", ResidentSession, body=body)
        assert result is not None
        return result

    def visits(self, session: str) -> VisitList:
        result = self._call("GET", "/terminal/visits", VisitList, session=session)
        assert result is not None
        return result

    def open_visit(self, session: str, visit_id: int) -> RoomGrant:
        result = self._call("POST", f"/terminal/visits/{visit_id}/open", RoomGrant, session=session)
        assert result is not None
        return result

    def resume_visit(self, visit_id: int) -> RoomGrant:
        """The room of a visit live on this terminal, again, after the terminal restarted in it."""
        result = self._call("POST", f"/terminal/visits/{visit_id}/resume", RoomGrant)
        assert result is not None
        return result

    def end_visit(self, visit_id: int, report: EndVisitRequest) -> None:
        """How a visit live on this terminal ended. It needs no resident session (one can expire mid-visit), and
        central takes a repeated report as the same one."""
        self._call("POST", f"/terminal/visits/{visit_id}/end", None, body=report)

    def reception(self, visit_id: int, report: Reception) -> int | None:
        """What the terminal received of the visitors' video lately; returns the cap on its own video, in kbps."""
        result = self._call("POST", f"/terminal/visits/{visit_id}/reception", VideoCap, body=report)
        assert result is not None
        return result.video_kbps

    def logout(self, session: str) -> None:
        self._call("POST", "/terminal/logout", None, session=session)

    def heartbeat(self, beat: Heartbeat) -> None:
        self._call("POST", "/terminal/heartbeat", None, body=beat)

    def upload_audit(self, batch: AuditBatch) -> AuditReceipt:
        result = self._call("POST", "/terminal/audit", AuditReceipt, body=batch)
        assert result is not None
        return result

    def idle_info(self) -> IdleInfo:
        """The idle screen's notices and the call-outs for visits ready at this terminal."""
        result = self._call("GET", "/terminal/idle", IdleInfo)
        assert result is not None
        return result

    def events(self, after: int, wait_s: float) -> EventBatch:
        """Central's events after `after`. One this terminal cannot read (a type from a newer central) is logged
        and skipped: the events after it still arrive."""
        result = self._call(
            "GET",
            "/terminal/events",
            _ReceivedEvents,
            params={"after": after, "wait": wait_s},
            timeout=wait_s + self._timeout,
        )
        assert result is not None
        events = []
        for body in result.events:
            try:
                events.append(TerminalEvent.model_validate(body))
            except ValidationError:
                kind, seq = str(body.get("type"))[:40], body.get("seq")
                log.warning("central sent an event this terminal cannot read (type %r, seq %r): skipped", kind, seq)
        return EventBatch(events=events, next_after=result.next_after)
