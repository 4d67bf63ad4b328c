"""Janus answering badly: every malformed answer is a JanusError, and a call engine facing one keeps
retrying with backoff instead of dying, so the visit can go on when Janus comes back."""

from __future__ import annotations

import asyncio
import json

import numpy as np
import pytest

from drivers.simulated_camera import SimulatedCamera
from drivers.simulated_handset import SimulatedHandset
from kiosk.call_engine import CallEngine, RemoteFeed, RoomAccess
from kiosk.call_quality import Quality
from kiosk.call_status import CallStatus
from kiosk.core_loop import CoreLoop
from kiosk.janus_client import JanusError, JanusEvent, JanusSession
from tests.canned_http import Answer, canned_server
from tests.waiting import wait_for

BAD_ANSWERS = {
    "not JSON": Answer(body=b"<html>502 Bad Gateway</html>", content_type="text/html"),
    "a list": Answer(body=b"[1, 2]"),
    "no id": Answer(body=json.dumps({"janus": "success", "data": {}}).encode()),
    "an id that is not a number": Answer(body=json.dumps({"janus": "success", "data": {"id": "x"}}).encode()),
    "HTTP 500": Answer(status=500, body=b"{}"),
}


@pytest.mark.parametrize("case", BAD_ANSWERS)
def test_a_malformed_answer_to_create_is_a_janus_error(case):
    with canned_server(BAD_ANSWERS[case]) as server, pytest.raises(JanusError):
        JanusSession(server.url, timeout=2).create()


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b'"a string"',
        b'[{"janus": "event", "plugindata": {"data": [1]}}]',
        b'[{"janus": "event", "jsep": 3}]',
        b"[42]",
    ],
)
def test_a_malformed_event_is_a_janus_error(body):
    with canned_server(Answer(body=body)) as server:
        janus = JanusSession(server.url, timeout=2)
        janus.session_id = 1
        with pytest.raises(JanusError):
            janus.poll(wait_s=0.1)


class _Statuses:
    def __init__(self) -> None:
        self.seen: list[CallStatus] = []

    def on_call_status(self, status: CallStatus) -> None:
        self.seen.append(status)

    def on_remote_video(self, feed: RemoteFeed, i420: np.ndarray) -> None:
        pass

    def on_remote_left(self, feed: RemoteFeed) -> None:
        pass

    def on_room_closed(self) -> None:
        pass

    def on_call_quality(self, quality: Quality) -> None:
        pass


def test_a_call_engine_facing_a_broken_janus_keeps_retrying_and_stops_cleanly():
    core = CoreLoop("test-core")
    core.start()
    camera, handset, listener = SimulatedCamera(), SimulatedHandset(), _Statuses()
    with canned_server(BAD_ANSWERS["not JSON"]) as server:
        access = RoomAccess(server.url, room=1, pin="pin", display="Resident")
        engine = CallEngine(access, camera, handset.microphone, handset.earpiece, listener, max_backoff_s=0.2)
        core.call_soon(engine.start)
        wait_for(lambda: engine.reconnects >= 3, 10, "three retries")
        assert listener.seen[0] is CallStatus.RECONNECTING
        core.submit(engine.stop()).result(timeout=10)
    assert listener.seen[-1] is CallStatus.CLOSED
    assert engine.media_lost_seconds > 0
    core.stop()


def test_a_visitor_announced_with_a_malformed_id_before_our_connection_is_up_breaks_nothing():
    """Janus's event, as hostile as it may be: an id that is a list cannot even be a key."""

    async def scenario() -> None:
        camera, handset = SimulatedCamera(), SimulatedHandset()
        access = RoomAccess("https://127.0.0.1:1/janus", room=1, pin="pin", display="Resident")
        engine = CallEngine(access, camera, handset.microphone, handset.earpiece, _Statuses())
        for publisher in ({"id": [1, 2], "display": "x"}, {"id": 7, "display": "Maria"}):
            engine._dispatch(JanusEvent("event", 5, {"videoroom": "event", "publishers": [publisher]}))
        engine._dispatch(JanusEvent("event", 5, {"videoroom": "event", "unpublished": 7}))
        assert list(engine._early_publishers or {}) == ["[1, 2]"], "held until our connection is up; 7 left"

    asyncio.run(scenario())
