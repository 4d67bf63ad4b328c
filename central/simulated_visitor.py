"""A simulated family member: joins a visit's room with a visitor code, like the visitor page will,
sending a moving test pattern and a 660 Hz tone and measuring what it receives from the resident.
"""

from __future__ import annotations

import argparse
import logging
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import numpy as np
import requests

from drivers.frame_stamp import StampLog
from drivers.handset import Earpiece, Microphone
from drivers.simulated_camera import SimulatedCamera
from drivers.simulated_handset import SimulatedHandset
from kiosk.call_engine import CallEngine, RemoteFeed, RoomAccess
from kiosk.call_quality import Quality
from kiosk.call_status import CallStatus
from kiosk.core_loop import CoreLoop
from kiosk.logs import configure_logging
from kiosk.pictures import luma_of
from kiosk.protocol import (
    API_PREFIX,
    ErrorBody,
    ErrorCode,
    Reception,
    RoomGrant,
    VideoCap,
    VisitorJoinRequest,
    VisitorReception,
    VisitorStatus,
    VisitStatus,
)

log = logging.getLogger(__name__)
VISITOR_TONE_HZ = 660.0


class VisitorJoinError(RuntimeError):
    pass


def join(central_url: str, code: str, wait_s: float) -> RoomGrant:
    """Asks central for the room, retrying while the visit is not open yet."""
    deadline = time.monotonic() + wait_s
    body = VisitorJoinRequest(code=code).model_dump()
    while True:
        response = requests.post(f"{central_url}{API_PREFIX}/visitor/join", json=body, timeout=10)
        if response.ok:
            return RoomGrant.model_validate_json(response.content)
        error = ErrorBody.model_validate_json(response.content)
        if error.code is not ErrorCode.NOT_READY or time.monotonic() > deadline:
            raise VisitorJoinError(f"central refused the visitor: {error.code.value}")
        time.sleep(1.0)


class SimulatedVisitor:
    def __init__(
        self,
        central_url: str,
        code: str,
        label: str = "Simulated visitor",
        size: tuple[int, int] = (640, 480),
        voice: tuple[Microphone, Earpiece] | None = None,
    ) -> None:
        """`voice`: what the visitor speaks into and listens with, instead of the simulated handset's."""
        self._central_url = central_url
        self._code = code
        self.camera = SimulatedCamera(*size, label=label, tint=(150, 80, 60))
        self.handset = SimulatedHandset(tone_hz=VISITOR_TONE_HZ)
        self._voice = voice or (self.handset.microphone, self.handset.earpiece)
        self.received = StampLog()
        self.frames_from: Counter[str] = Counter()  # frames received, per participant's name
        self.room_closed = threading.Event()
        self.connected = threading.Event()
        self.grant: RoomGrant | None = None
        self._core = CoreLoop("simulated-visitor")
        self._engine: CallEngine | None = None

    def start(self, wait_s: float = 60.0) -> None:
        self.grant = join(self._central_url, self._code, wait_s)
        self.camera.start()
        self._core.start()
        access = RoomAccess(self.grant.janus_url, self.grant.room, self.grant.pin, self.grant.display)
        self._core.call_soon(self._start_engine, access)

    def _start_engine(self, access: RoomAccess) -> None:
        self._engine = CallEngine(
            access, self.camera, *self._voice, self, visit_over=self._visit_over, tell_reception=self._tell_reception
        )
        self._engine.start()

    def _visit_over(self) -> bool:
        """What the visitor page asks central when the room is gone: has the visit ended?"""
        response = requests.get(
            f"{self._central_url}{API_PREFIX}/visitor/status", params={"code": self._code}, timeout=5
        )
        response.raise_for_status()
        status = VisitorStatus.model_validate_json(response.content)
        return status.end_reason is not None or status.visit.status not in (VisitStatus.READY, VisitStatus.LIVE)

    def _tell_reception(self, report: Reception) -> int | None:
        """What the visitor page tells central each second; the answer caps this visitor's own video."""
        body = VisitorReception(code=self._code, **report.model_dump())
        url = f"{self._central_url}{API_PREFIX}/visitor/reception"
        response = requests.post(url, json=body.model_dump(), timeout=5)
        response.raise_for_status()
        return VideoCap.model_validate_json(response.content).video_kbps

    def stop(self) -> None:
        engine, self._engine = self._engine, None
        if engine is not None:
            self._core.submit(engine.stop()).result(timeout=10)
        self._core.stop()
        self.camera.stop()

    # -- CallListener -----------------------------------------------------------------------------

    def on_call_status(self, status: CallStatus) -> None:
        log.info("visitor call: %s", status.value)
        if status is CallStatus.CONNECTED:
            self.connected.set()

    def on_remote_video(self, feed: RemoteFeed, i420: np.ndarray) -> None:
        self.received.record(luma_of(i420))
        self.frames_from[feed.display] += 1

    def on_remote_left(self, feed: RemoteFeed) -> None:
        log.info("visitor: %s left", feed.display)

    def on_room_closed(self) -> None:
        self.room_closed.set()

    def on_call_quality(self, quality: Quality) -> None:
        log.info("visitor call quality: %s", quality.value)


def visitor_command(central_url: str, code_file: Path) -> list[str]:
    """The command line that runs a simulated visitor in a process of its own."""
    return [sys.executable, "-m", "central.simulated_visitor", "--central", central_url, "--code-file", str(code_file)]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Join a visit as a simulated family member.")
    parser.add_argument("--central", required=True, help="central's base URL")
    parser.add_argument("--code-file", type=Path, required=True, help="file holding the visitor's code")
    args = parser.parse_args(argv)
    configure_logging()
    visitor = SimulatedVisitor(args.central, args.code_file.read_text().strip())
    visitor.start(wait_s=600)
    visitor.room_closed.wait()
    visitor.stop()
    log.info("visit over: received %d frames from the resident", len(visitor.received.counters))


if __name__ == "__main__":
    main()
