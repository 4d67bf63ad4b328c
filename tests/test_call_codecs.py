"""The call's video decoder decodes every frame the jitter buffer hands on at once, each with its own time."""

from __future__ import annotations

import fractions

import av
import numpy as np
from aiortc.codecs.vpx import Vp8Decoder
from aiortc.rtcrtpreceiver import TimestampMapper
from aiortc.rtp import RtpPacket

from kiosk.call_codecs import FramesDecoder
from kiosk.jitter_buffers import FrameOnMarkerJitterBuffer

TICKS_PER_FRAME = 3000


def _vp8_frames(count: int) -> list[bytes]:
    """Flat pictures, each brighter than the one before."""
    encoder = av.CodecContext.create("libvpx", "w")
    encoder.width, encoder.height, encoder.pix_fmt = 160, 120, "yuv420p"
    encoder.time_base = fractions.Fraction(1, 30)
    coded = []
    for index in range(count):
        frame = av.VideoFrame.from_ndarray(np.full((120, 160), 40 + 30 * index, np.uint8), format="gray")
        frame = frame.reformat(format="yuv420p")
        frame.pts = index
        coded.append(b"".join(bytes(packet) for packet in encoder.encode(frame)))
    return coded


def test_the_frames_that_waited_behind_a_gap_are_all_decoded_with_their_own_times():
    coded = _vp8_frames(6)
    first_stamp = (1 << 32) - 3 * TICKS_PER_FRAME  # the RTP timestamp wraps within the batch
    buffer, mapper, decoder = FrameOnMarkerJitterBuffer(), TimestampMapper(), FramesDecoder(Vp8Decoder())
    decoded = []
    for index in [0, 2, 3, 4, 5, 1]:  # frame 1's packet came last, resent: the others waited behind it
        packet = RtpPacket(
            payload_type=96,
            marker=1,
            sequence_number=index,
            timestamp=(first_stamp + index * TICKS_PER_FRAME) % (1 << 32),
            payload=b"\x10",  # a VP8 payload descriptor: a frame's first packet
        )
        packet._data = coded[index]  # type: ignore[attr-defined]  # as aiortc depayloads
        handed = buffer.add(packet)[1]
        if handed is not None:
            handed.timestamp = mapper.map(handed.timestamp)  # as aiortc's receiver does, to the first only
            decoded.append(decoder.decode(handed))
    assert [len(frames) for frames in decoded] == [1, 5], "the five that waited, at once"
    frames = [frame for batch in decoded for frame in batch]
    assert [frame.pts for frame in frames] == [n * TICKS_PER_FRAME for n in range(6)]
    brightness = [int(frame.to_ndarray(format="gray").mean()) for frame in frames]
    assert brightness == sorted(brightness) and brightness[-1] - brightness[0] > 100, "each picture, in order"
