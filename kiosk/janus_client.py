"""A small synchronous client for Janus's HTTP API: sessions, plugin handles, requests and events.

Central uses it for room administration; the call engine runs it in worker threads for signalling.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

import requests

from kiosk.pinned_session import PinnedSession

VIDEOROOM = "janus.plugin.videoroom"


class JanusError(RuntimeError):
    """Janus answered with an error, or could not be reached."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class JanusUnreachable(JanusError):
    """No answer from Janus's HTTP API."""


@dataclass
class JanusEvent:
    """One asynchronous message from Janus: a plugin event (with data and maybe a JSEP) or a state change."""

    kind: str
    handle_id: int | None
    data: dict[str, Any] = field(default_factory=dict)
    jsep: dict[str, Any] | None = None


def _transaction() -> str:
    return secrets.token_hex(8)


def _json_object(response: requests.Response, allow_list: bool = False) -> Any:
    """The answer's JSON, or JanusError: a broken or hostile answer must not become a crash."""
    if response.status_code != 200:
        raise JanusUnreachable(f"Janus answered HTTP {response.status_code}")
    try:
        payload = response.json()
    except ValueError as exc:
        raise JanusError("Janus sent an answer that is not JSON") from exc
    if not isinstance(payload, dict) and not (allow_list and isinstance(payload, list)):
        raise JanusError("Janus sent an answer of the wrong shape")
    return payload


def _new_id(reply: dict[str, Any]) -> int:
    try:
        return int(reply["data"]["id"])
    except (KeyError, TypeError, ValueError) as exc:
        raise JanusError("Janus's answer has no id") from exc


NO_SUCH_SESSION = 458


def janus_answers(base_url: str, timeout: float, verify: bool | str = True) -> bool:
    """Whether Janus's HTTP API answers now (its /info), over a fresh connection."""
    with PinnedSession(verify) as fresh:
        try:
            return fresh.get(f"{base_url.rstrip('/')}/info", timeout=timeout).status_code == 200
        except requests.RequestException:
            return False


class JanusSession:
    """One Janus session over HTTP. Thread-safe enough for one poller thread plus request threads."""

    def __init__(self, base_url: str, timeout: float = 10.0, verify: bool | str = True) -> None:
        self.base_url = base_url.rstrip("/")
        self._timeout = timeout
        self._http = PinnedSession(verify)
        self.session_id: int | None = None

    def _post(
        self, path: str, body: dict[str, Any], http: requests.Session | None = None, timeout: float | None = None
    ) -> dict[str, Any]:
        body = {**body, "transaction": _transaction()}
        try:
            response = (http or self._http).post(f"{self.base_url}{path}", json=body, timeout=timeout or self._timeout)
        except requests.RequestException as exc:
            raise JanusUnreachable(f"Janus did not answer: {type(exc).__name__}") from exc
        reply = _json_object(response)
        if reply.get("janus") == "error":
            error = reply.get("error", {})
            raise JanusError(error.get("reason", "unknown Janus error"), error.get("code"))
        return reply

    def create(self) -> int:
        self.session_id = _new_id(self._post("", {"janus": "create"}))
        return self.session_id

    def attach(self, plugin: str = VIDEOROOM) -> int:
        return _new_id(self._post(f"/{self.session_id}", {"janus": "attach", "plugin": plugin}))

    def detach(self, handle_id: int) -> None:
        self._post(f"/{self.session_id}/{handle_id}", {"janus": "detach"})

    def destroy(self) -> None:
        if self.session_id is not None:
            try:
                self._post(f"/{self.session_id}", {"janus": "destroy"})
            finally:
                self.session_id = None
                self._http.close()

    def request(self, handle_id: int, body: dict[str, Any]) -> dict[str, Any]:
        """A synchronous plugin request (create, destroy, kick, list...): returns the plugin's data."""
        reply = self._post(f"/{self.session_id}/{handle_id}", {"janus": "message", "body": body})
        data: dict[str, Any] = reply.get("plugindata", {}).get("data", {})
        if "error_code" in data:
            raise JanusError(data.get("error", "VideoRoom error"), data["error_code"])
        return data

    def send(self, handle_id: int, body: dict[str, Any], jsep: dict[str, Any] | None = None) -> None:
        """An asynchronous plugin request (join, publish, start): its answer arrives as an event."""
        message: dict[str, Any] = {"janus": "message", "body": body}
        if jsep is not None:
            message["jsep"] = jsep
        self._post(f"/{self.session_id}/{handle_id}", message)

    def keepalive(self, timeout: float) -> None:
        """Keeps the session alive and proves the way to Janus works now: over a connection of its own, so that a
        pooled connection still stuck after a network cut cannot make a working link look dead. JanusError with
        code 458 when Janus no longer knows the session."""
        with PinnedSession(self._http.verify) as fresh:
            self._post(f"/{self.session_id}", {"janus": "keepalive"}, fresh, timeout)

    def poll(self, wait_s: float = 25.0) -> list[JanusEvent]:
        """Long-polls for events; an empty list when none came in time. Also keeps the session alive."""
        try:
            response = self._http.get(
                f"{self.base_url}/{self.session_id}",
                params={"maxev": 10, "rid": _transaction()},
                timeout=wait_s + self._timeout,
            )
        except requests.RequestException as exc:
            raise JanusUnreachable(f"Janus did not answer: {type(exc).__name__}") from exc
        payload = _json_object(response, allow_list=True)
        messages = payload if isinstance(payload, list) else [payload]
        events = []
        for message in messages:
            if not isinstance(message, dict):
                raise JanusError("Janus sent a malformed event")
            kind = message.get("janus", "")
            if kind == "keepalive":
                continue
            if kind == "error" and message.get("error", {}).get("code") == NO_SUCH_SESSION:
                raise JanusError("Janus no longer knows this session", NO_SUCH_SESSION)
            data = (message.get("plugindata") or {}).get("data") or {}
            jsep = message.get("jsep")
            if not isinstance(data, dict) or (jsep is not None and not isinstance(jsep, dict)):
                raise JanusError("Janus sent a malformed event")
            events.append(JanusEvent(kind, message.get("sender"), data, jsep))
        return events
