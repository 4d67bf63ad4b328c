"""A video jitter buffer that hands a frame to the decoder as soon as it is complete.

aiortc's own buffer finds the end of a frame only when the first packet of the next frame arrives, so every
received frame waited one frame interval (33 ms at 30 fps) for nothing. The sender marks the last packet of
each frame (the RTP marker bit): once every packet from the buffer's start up to a marked one is there, the
frame is complete. Anything else (a gap, a frame whose mark was lost) is left to aiortc's own logic, which
still hands such a frame on when the next one starts, and to its NACKs, which fill gaps.

The buffer is swapped into aiortc's receiver (`use_for`) rather than forking aiortc; its interface is the one
aiortc calls, `add`, and only the search for a finished frame changes.
"""

from __future__ import annotations

import logging

from aiortc import RTCRtpReceiver
from aiortc.jitterbuffer import JitterBuffer, JitterFrame
from aiortc.rtp import RtpPacket

log = logging.getLogger(__name__)

VIDEO_CAPACITY = 512  # packets, as aiortc's receiver sizes its own video buffer
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


def use_for(receiver: RTCRtpReceiver) -> bool:
    """Puts the buffer into a video receiver before media flows; False (and a log line) if aiortc changed."""
    if not isinstance(getattr(receiver, _RECEIVERS_BUFFER, None), JitterBuffer):
        log.warning("aiortc's receiver has no video jitter buffer where expected: frames keep its one-frame hold")
        return False
    setattr(receiver, _RECEIVERS_BUFFER, FrameOnMarkerJitterBuffer())
    return True
