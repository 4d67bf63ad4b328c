"""Jitter buffers for aiortc's receivers that hand media to the decoder as soon as it can be decoded.

Video: aiortc's own buffer finds the end of a frame only when the first packet of the next frame arrives, so
every received frame waited one frame interval (33 ms at 30 fps) for nothing. The sender marks the last packet
of each frame (the RTP marker bit): once every packet from the buffer's start up to a marked one is there, the
frame is complete. Anything else (a gap, a frame whose mark was lost) is left to aiortc's own logic, which
still hands such a frame on when the next one starts, and to its NACKs, which fill gaps.

Audio: aiortc holds four packets (80 ms) before it hands one on, and waits for a lost one until its buffer
overflows (320 ms of silence). The earpiece's playout buffer already smooths jitter, so each packet goes on as
it arrives; a gap is waited on for one packet only, because no retransmission will fill it.

The buffers are swapped into aiortc's receivers (`use_for`) rather than forking aiortc; their interface is the
one aiortc calls, `add`, and only the search for what can be handed on changes.
"""

from __future__ import annotations

import logging

from aiortc import RTCRtpReceiver
from aiortc.jitterbuffer import JitterBuffer, JitterFrame
from aiortc.rtp import RtpPacket

log = logging.getLogger(__name__)

VIDEO_CAPACITY = 512  # packets, as aiortc's receiver sizes its own buffers
AUDIO_CAPACITY = 16
AUDIO_WAIT_PACKETS = 2  # a gap is given up once this many packets wait behind it (one 20 ms packet late)
_RECEIVERS_BUFFER = "_RTCRtpReceiver__jitter_buffer"


class FrameOnMarkerJitterBuffer(JitterBuffer):
    def __init__(self, capacity: int = VIDEO_CAPACITY) -> None:
        super().__init__(capacity=capacity, is_video=True)

    def _remove_frame(self, sequence_number: int) -> JitterFrame | None:
        return self._marked_frame() or super()._remove_frame(sequence_number)

    def _marked_frame(self) -> JitterFrame | None:
        """The oldest frame, if all its packets are here up to the one that marks its end."""
        if self._origin is None:
            return None
        packets: list[RtpPacket] = []
        for count in range(self._capacity):
            packet = self._packets[(self._origin + count) % self._capacity]
            if packet is None:
                return None  # a gap: wait for the packet (or for aiortc to give up on the frame)
            if packets and packet.timestamp != packets[0].timestamp:
                return None  # its mark was lost: aiortc's logic ends this frame when the next one starts
            packets.append(packet)
            if packet.marker:
                self.remove(len(packets))
                data = b"".join(p._data for p in packets)  # type: ignore[attr-defined]  # depayloaded by aiortc
                return JitterFrame(data=data, timestamp=packets[0].timestamp)
        return None


class PacketOnArrivalJitterBuffer(JitterBuffer):
    """For audio, where every packet is a frame of its own."""

    def __init__(self, capacity: int = AUDIO_CAPACITY) -> None:
        super().__init__(capacity=capacity)

    def _remove_frame(self, sequence_number: int) -> JitterFrame | None:
        if self._origin is None:
            return None
        waiting = [n for n in range(self._capacity) if self._packets[(self._origin + n) % self._capacity]]
        if not waiting or (waiting[0] > 0 and len(waiting) < AUDIO_WAIT_PACKETS):
            return None  # nothing, or a gap that the next packet may still fill
        self.remove(waiting[0])  # the lost ones
        packet = self._packets[self._origin % self._capacity]
        assert packet is not None
        self.remove(1)
        return JitterFrame(data=packet._data, timestamp=packet.timestamp)  # type: ignore[attr-defined]


def use_for(receiver: RTCRtpReceiver, kind: str) -> bool:
    """Puts the buffer for `kind` ("audio" or "video") into a receiver before media flows; False (and a log
    line) if aiortc changed."""
    if not isinstance(getattr(receiver, _RECEIVERS_BUFFER, None), JitterBuffer):
        log.warning("aiortc's receiver has no jitter buffer where expected: %s keeps aiortc's delays", kind)
        return False
    buffer = FrameOnMarkerJitterBuffer() if kind == "video" else PacketOnArrivalJitterBuffer()
    setattr(receiver, _RECEIVERS_BUFFER, buffer)
    return True
