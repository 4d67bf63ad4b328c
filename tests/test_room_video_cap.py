"""A facility's cap on each participant's video (`kiosk-central --video-cap-kbps`): Janus tells every publisher in
the room (REMB), and the terminal's encoder keeps under it, on a real Janus and central."""

from __future__ import annotations

import time

import pytest
from aiortc import RTCPeerConnection
from aiortc.stats import RTCOutboundRtpStreamStats

from central.simulated_visitor import SimulatedVisitor
from kiosk.call_codecs import encoders_of
from kiosk.video_encoder import SteppedVp8Encoder
from tests.conftest import kiosk_config
from tests.terminal_harness import HarnessTerminal
from tests.test_e2e_visit import enter_visit
from tests.waiting import wait_for

pytestmark = pytest.mark.e2e


def _publisher(visitor: SimulatedVisitor) -> RTCPeerConnection:
    engine = visitor._engine
    assert engine is not None and engine._publisher_pc is not None
    return engine._publisher_pc


def _video_bytes_sent(visitor: SimulatedVisitor) -> int:
    report = visitor._core.submit(_publisher(visitor).getStats()).result(timeout=5)
    return next(s.bytesSent for s in report.values() if isinstance(s, RTCOutboundRtpStreamStats) and s.kind == "video")


def _coding_under_the_cap(visitor: SimulatedVisitor) -> bool:
    """Janus's cap has reached the encoder, and its codec has been made anew for it (aiortc keeps both private)."""
    encoders = encoders_of(_publisher(visitor).getSenders(), SteppedVp8Encoder)
    return bool(encoders) and encoders[0]._codec_bps <= 150_000


def test_a_rooms_video_cap_holds_each_publisher_under_it(start_central):
    central = start_central(extra_args=("--video-cap-kbps", "150"))
    visitor = SimulatedVisitor(central.url, central.secret("visitor-code"))
    visitor.start()
    kiosk = HarnessTerminal.for_central(kiosk_config(central.url, central.state / "terminal-token"), central)
    try:
        enter_visit(kiosk)
        wait_for(lambda: visitor.connected.is_set(), 20, "the visitor's call")
        wait_for(lambda: _coding_under_the_cap(visitor), 10, "Janus's cap in the visitor's encoder")
        before, started = _video_bytes_sent(visitor), time.monotonic()
        time.sleep(5)  # the stretch measured
        kbps = 8 * (_video_bytes_sent(visitor) - before) / (time.monotonic() - started) / 1000
        assert 60 < kbps < 175, f"the visitor sent {kbps:.0f} kbps of video for a cap of 150"
    finally:
        kiosk.stop()
        visitor.stop()
