"""Spreads the video's packets over time, as a browser's pacer does: aiortc sends each frame's packets the moment
the encoder has made them, and a large frame (a keyframe, the refresh after one) reaches a thin link's queue all
at once and overflows it. Each video packet here waits for its turn at PACING_FACTOR times the video's bitrate;
audio never waits (audio first, always), and a packet resent because it was lost (RTX) goes ahead of the frames
waiting, as in WebRTC's pacer: the receiver's picture is stopped until it comes.

The pacer sits in the publisher's DTLS transport, which every sender of the connection sends through, and tells
video from audio by the packet's SSRC (RTP header bytes 8 to 12). A resend still counts against the pace (the
frames behind it wait the longer), and when the frames already waiting would hold the link for more than
RESEND_LATE_S it is not sent: the link is congested, and aiortc's resending every packet asked for would feed
the congestion that lost them.

Once the link has been full (`BitrateControl.link_bps`), packets go no faster than LINK_BURST times what it
carries: at 2.5 times the bitrate, the keyframe of a new codec on a full link filled its 100 ms queue to the brim
and past; at what the link carries, every frame a little larger than the rest held the frames behind it, and the
encoder left out a quarter of them (`congested`).

Each video packet is numbered as it leaves (`kiosk.transport_cc`), so that Janus's feedback tells when it
arrived: the pacer is where a packet's real departure is known.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from aiortc import RTCPeerConnection

from kiosk.transport_cc import TransportNumbers

log = logging.getLogger(__name__)

PACING_FACTOR = 2.5  # WebRTC's: a frame goes out in well under a frame's time, and a burst is 2.5x the rate at most
BURST_S = 0.005  # packets within this much of their turn go at once (the event loop's timers are that coarse)
RESEND_LATE_S = 0.15
LINK_BURST = 1.5  # of what the link carries: a keyframe of 10 kB fills half of a 500 kbps link's 100 ms queue
BACKLOG_S = 0.2  # more than this waiting, and the encoder leaves out frames until it is sent (`congested`)


class VideoPacer:
    def __init__(
        self, send: Callable[[bytes], Awaitable[None]], video_ssrcs: set[int], resend_ssrcs: set[int], rate_bps: float
    ) -> None:
        self._send = send
        self._video = video_ssrcs
        self._resend = resend_ssrcs
        self.rate_bps = rate_bps  # the video's bitrate; packets go at PACING_FACTOR times it
        self.link_bps: float | None = None  # what the link carries of video, once known: LINK_BURST times it at most
        self._free_at = 0.0
        self.resends_dropped = 0
        self.numbers: TransportNumbers | None = None

    def congested(self) -> bool:
        """Whether more video waits than the link can send in BACKLOG_S: a new frame now would only wait longer
        (the encoder overshot its target, or the target fell), and the picture's delay would grow by it."""
        return self._free_at - time.monotonic() > BACKLOG_S  # asked from the encoder's thread: the loop's clock

    def _pace_bps(self) -> float:
        pace = PACING_FACTOR * self.rate_bps
        return pace if self.link_bps is None else max(self.rate_bps, min(pace, LINK_BURST * self.link_bps))

    async def send_rtp(self, data: bytes) -> None:
        ssrc = int.from_bytes(data[8:12], "big") if len(data) >= 12 else None
        if ssrc in self._video or ssrc in self._resend:
            now = time.monotonic()  # the event loop's clock
            turn = max(self._free_at, now)  # taken before waiting: a packet from another task queues behind it
            if ssrc in self._resend:
                if turn - now > RESEND_LATE_S:
                    self.resends_dropped += 1
                    return
                turn = now  # ahead of the frames waiting
            self._free_at = max(self._free_at, now) + len(data) * 8 / self._pace_bps()
            if turn - now > BURST_S:
                await asyncio.sleep(turn - now)
            if self.numbers is not None:
                data = self.numbers.number(data)
        await self._send(data)


def pace_video(pc: RTCPeerConnection, rate_bps: float) -> VideoPacer | None:
    """Puts a pacer into the connection's transport once its senders are set up (after the local description);
    None (and a log line) when aiortc's transport is not as expected, and video goes unpaced."""
    senders = [sender for sender in pc.getSenders() if sender.track is not None and sender.track.kind == "video"]
    if not senders or not hasattr(senders[0].transport, "_send_rtp"):
        log.warning("no video sender or transport to pace: video goes as aiortc sends it")
        return None
    transport = senders[0].transport
    video = {sender._ssrc for sender in senders}
    resend = {sender._rtx_ssrc for sender in senders if getattr(sender, "_rtx_ssrc", None)}
    pacer = VideoPacer(transport._send_rtp, video, resend, rate_bps)
    extensions = getattr(senders[0], "_RTCRtpSender__rtp_header_extensions_map", None)
    if extensions is not None:
        pacer.numbers = TransportNumbers(extensions)
    transport._send_rtp = pacer.send_rtp  # type: ignore[method-assign]
    return pacer
