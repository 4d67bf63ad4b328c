"""The call's video encoder steps down with the link: the bitrate first, then the frame rate or the picture's size,
as the visit keeps; it obeys Janus's cap, and waits for one change to settle before the next."""

from __future__ import annotations

import fractions

import cv2
import pytest
from av import VideoFrame

from drivers.simulated_camera import SimulatedCamera
from kiosk.video_encoder import START_BPS, Keep, SteppedVp8Encoder
from tests.manual_clock import ManualClock


def _frames(count: int) -> list[VideoFrame]:
    camera, frames = SimulatedCamera(), []
    for index in range(count):
        frame = VideoFrame.from_ndarray(cv2.cvtColor(camera.render(index), cv2.COLOR_RGB2YUV_I420), format="yuv420p")
        frame.pts, frame.time_base = index * 3000, fractions.Fraction(1, 90_000)  # 30 a second
        frames.append(frame)
    return frames


def _sent(encoder: SteppedVp8Encoder, frames: list[VideoFrame], keyframe_at: int = -1) -> list[int]:
    """Bytes sent for each frame (0 for one left out)."""
    return [sum(map(len, encoder.encode(frame, n == keyframe_at)[0])) for n, frame in enumerate(frames)]


@pytest.mark.parametrize(
    ("keep", "target", "sent_of_30"),
    [(Keep.BALANCE, 150_000, 30), (Keep.BALANCE, 80_000, 15), (Keep.FRAME_RATE, 80_000, 30)],
)
def test_on_a_thin_link_the_picture_gets_smaller_and_keeps_its_motion_while_the_visit_wants(keep, target, sent_of_30):
    clock = ManualClock()
    encoder = SteppedVp8Encoder(keep, clock=clock)
    frames = _frames(150)
    _sent(encoder, frames[:30])
    encoder.set_target(target)
    clock.now = 2.0
    sent = _sent(encoder, frames[30:])
    assert sum(1 for size_sent in sent[60:90] if size_sent) == sent_of_30
    assert (encoder._codec.width, encoder._codec.height) == (320, 240)
    kbps = sum(sent[30:]) * 8 / 3 / 1000
    assert kbps < 1.27 * target / 1000, f"{kbps:.0f} kbps for a target of {target // 1000}"


def test_a_cap_from_janus_is_obeyed_and_a_step_down_waits_for_the_last_change_to_settle():
    clock = ManualClock()
    encoder = SteppedVp8Encoder(clock=clock)
    frames = _frames(40)
    _sent(encoder, frames[:10])
    encoder.target_bitrate = 200_000  # Janus's REMB
    assert encoder.target_bitrate == 200_000
    _sent(encoder, frames[10:20])
    assert encoder._codec_bps == START_BPS, "not within a second of the codec's start: each change costs a keyframe"
    clock.now = 1.5
    _sent(encoder, frames[20:])
    assert encoder._codec_bps == 200_000 and (encoder._codec.width, encoder._codec.height) == (480, 360)


def test_the_cap_for_the_thinnest_receiver_is_obeyed_and_lifted():
    clock = ManualClock()
    encoder = SteppedVp8Encoder(clock=clock)
    encoder.set_target(800_000)
    encoder.set_receivers_cap(150_000)  # central's answer: a visitor's link carries no more
    assert encoder.target_bitrate == 150_000
    encoder.set_receivers_cap(None)
    assert encoder.target_bitrate == 800_000


def test_frames_are_left_out_while_the_pacer_holds_more_than_it_should():
    encoder = SteppedVp8Encoder()
    frames = _frames(20)
    congested = [False]
    encoder.congested = lambda: congested[0]
    before = _sent(encoder, frames[:10])
    congested[0] = True
    during = _sent(encoder, frames[10:])
    assert all(before) and not any(during), "nothing more joins a queue the link cannot send"


def test_a_full_links_cut_of_fifteen_per_cent_reaches_the_codec_where_a_rise_that_small_waits():
    clock = ManualClock()
    encoder = SteppedVp8Encoder(start_bps=500_000, clock=clock)
    frames = _frames(30)
    _sent(encoder, frames[:10])
    encoder.set_target(0.85 * 500_000)  # 85 % of what arrives, once the feedback shows a queue
    clock.now = 1.5
    _sent(encoder, frames[10:20])
    assert encoder._codec_bps == 425_000, "libvpx keeps the bitrate it opened with: only a new codec sends less"
    encoder.set_target(1.15 * 425_000)
    clock.now = 10.0
    _sent(encoder, frames[20:])
    assert encoder._codec_bps == 425_000, "a rise costs a keyframe too, and is worth it only from a fifth"
