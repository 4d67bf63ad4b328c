"""A visitor on a thin link, on the real stack: Janus forwards the terminal's video as it comes and hears only the
terminal's own (perfect) link, so only the visitor's reports through central can bring the terminal's video down to
what the visitor's link carries; and once the link is wide again, back up."""

from __future__ import annotations

import time

import pytest
from aiortc.stats import RTCOutboundRtpStreamStats

from kiosk.call_codecs import encoders_of
from kiosk.video_encoder import SteppedVp8Encoder
from tests.faults.drills import end_visit, start_visit
from tests.faults.link_shaper import Shape
from tests.faults.stack import FaultStack
from tests.waiting import wait_for

pytestmark = [pytest.mark.faults, pytest.mark.e2e, pytest.mark.slow]

VISITOR_LINK_KBPS = 300


def _video_target(stack: FaultStack) -> int:
    """What the terminal's video encoder aims for now (aiortc keeps the encoder private)."""
    call = stack.kiosk.terminal.call
    assert call is not None and call._publisher_pc is not None
    encoders = encoders_of(call._publisher_pc.getSenders(), SteppedVp8Encoder)
    return encoders[0].target_bitrate if encoders else 0


def _video_bytes_sent(stack: FaultStack) -> int:
    call = stack.kiosk.terminal.call
    assert call is not None and call._publisher_pc is not None
    report = stack.kiosk.core.submit(call._publisher_pc.getStats()).result(timeout=5)
    return next(s.bytesSent for s in report.values() if isinstance(s, RTCOutboundRtpStreamStats) and s.kind == "video")


def test_the_terminal_sends_no_more_video_than_a_thin_visitor_link_carries(fault_stack):
    stack = fault_stack()
    visit_id = start_visit(stack)
    wait_for(lambda: _video_target(stack) > 600_000, 20, "the terminal's video at full rate on a perfect link")

    stack.network.shape("visitor", Shape(rate_kbps=VISITOR_LINK_KBPS, queue_ms=100))
    wait_for(lambda: _video_target(stack) < 0.85 * VISITOR_LINK_KBPS * 1000, 20, "the terminal's video under the link")
    before, started = _video_bytes_sent(stack), time.monotonic()
    time.sleep(5)  # the stretch measured
    kbps = 8 * (_video_bytes_sent(stack) - before) / (time.monotonic() - started) / 1000
    assert kbps < VISITOR_LINK_KBPS, f"the terminal sent {kbps:.0f} kbps of video to a {VISITOR_LINK_KBPS} kbps link"

    stack.network.heal()
    wait_for(lambda: _video_target(stack) > 600_000, 40, "the terminal's video back up once the link is wide")
    end_visit(stack, visit_id)
