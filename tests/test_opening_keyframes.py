"""Whoever subscribes just after the terminal starts publishing gets a picture at once: the terminal sends
keyframes through its first moments of publishing, instead of only the one a new stream starts with.

Keyframes are counted as they arrive, from the VP8 frame header (RFC 6386: the low bit of the first byte is 0
for a keyframe), in the receiver's jitter buffer.
"""

from __future__ import annotations

import asyncio

from aiortc import RTCPeerConnection
from aiortc.jitterbuffer import JitterFrame
from aiortc.rtp import RtpPacket

from drivers.simulated_camera import SimulatedCamera
from kiosk.call_engine import OPENING_KEYFRAME_INTERVAL_S, OPENING_KEYFRAMES, send_opening_keyframes
from kiosk.media_tracks import CameraTrack
from kiosk.video_jitter_buffer import FrameOnMarkerJitterBuffer


class KeyframeCountingBuffer(FrameOnMarkerJitterBuffer):
    def __init__(self) -> None:
        super().__init__()
        self.frames = 0
        self.keyframes = 0

    def add(self, packet: RtpPacket) -> tuple[bool, JitterFrame | None]:
        pli, frame = super().add(packet)
        if frame is not None:
            self.frames += 1
            self.keyframes += int(not frame.data[0] & 1)
        return pli, frame


async def _keyframes_in_first_moments(with_opening_keyframes: bool) -> tuple[int, int]:
    """(keyframes, frames) received over the opening keyframes' span, from the moment media flows."""
    camera = SimulatedCamera()
    camera.start()
    sender, receiver = RTCPeerConnection(), RTCPeerConnection()
    counted = KeyframeCountingBuffer()
    try:
        sender.addTransceiver(CameraTrack(camera), direction="sendonly")
        await sender.setLocalDescription(await sender.createOffer())
        await receiver.setRemoteDescription(sender.localDescription)
        receiver.getReceivers()[0]._RTCRtpReceiver__jitter_buffer = counted  # type: ignore[attr-defined]
        await receiver.setLocalDescription(await receiver.createAnswer())
        await sender.setRemoteDescription(receiver.localDescription)
        while counted.frames == 0:  # the stream's own first keyframe
            await asyncio.sleep(0.01)
        if with_opening_keyframes:
            await send_opening_keyframes(sender)
        else:
            await asyncio.sleep(OPENING_KEYFRAMES * OPENING_KEYFRAME_INTERVAL_S)
        return counted.keyframes, counted.frames
    finally:
        await sender.close()
        await receiver.close()
        camera.stop()


def test_the_first_moments_of_publishing_carry_a_keyframe_every_quarter_second():
    keyframes, frames = asyncio.run(_keyframes_in_first_moments(with_opening_keyframes=False))
    assert keyframes == 1 and frames > 20, "aiortc alone: the stream's first frame only"
    keyframes, frames = asyncio.run(_keyframes_in_first_moments(with_opening_keyframes=True))
    assert keyframes >= OPENING_KEYFRAMES and frames > 20
