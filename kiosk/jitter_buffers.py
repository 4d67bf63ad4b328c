"""Jitter buffers for aiortc's receivers that hand media to the decoder as soon as it can be decoded.

Video: aiortc's own buffer finds the end of a frame only when the first packet of the next frame arrives, so
every received frame waited one frame interval (33 ms at 30 fps) for nothing. And aiortc takes one frame from the
buffer per packet that arrives: frames that had waited behind a gap went on one per packet after it was filled,
which on a thin link (a frame a packet) kept the picture that far behind for good, seconds by the end of a visit.
Every whole frame there is goes on at once, as `VideoFrames`. The sender marks the last packet
of each frame (the RTP marker bit): once every packet from the buffer's start up to a marked one is there, the
frame is complete. Anything else (a gap, a frame whose mark was lost) is left to aiortc's own logic, which
still hands such a frame on when the next one starts, and to its NACKs, which fill gaps. The rooms' video is VP8
(central/rooms.py): a run of packets whose first does not begin a VP8 frame is the tail of a frame whose head
came before the subscription did. The decoder would refuse it ("Invalid data") and every frame after it until
the next keyframe, so it is dropped and a keyframe asked for at once.

The buffer asks for lost packets (NACK) itself, in aiortc's receiver's place: each missing packet once it has been
missing for as long as nine in ten packets that came late by themselves lately (`reorder_wait_s`: none on a link
that does not reorder, REORDER_WAIT_MOST_S at most), and again every NACK_AGAIN_S while it is open, or every
resend's round trip where that is longer (the slowest gap filled lately), as browsers space them; never once it
was given up. aiortc asked for every packet missing in its last 128 whenever a new one went missing, given up or
not, and not again otherwise: on the visitor's mobile link, whose jitter reorders packets every few, each packet
still on its way was asked for at every reordering, Janus sent each several times, the resends filled the link past
what it carries (a fifth of its packets overflowed its queue, the video arrived at 880 kbps for 700 sent), and the
gaps they made were asked for in turn. Asked for once at once, a third of what reached that visitor were still
resends of packets already on their way (counted on Janus's resend stream, RTX); of the packets that came late by
themselves, 95 % came within 40 ms. Resends are told from packets merely late by the stream they come on
(`resent`, set for each packet by the receiver, `use_for`), as WebRTC tells them.

A gap is given up after GAP_GIVEN_UP_S, or a quarter longer than the slowest gap filled in the last
RESENDS_WINDOW_S, where that was slower (most gaps a jittery link fills are only reordering, a few milliseconds,
so only the slowest tells how long a resend takes): a visitor on a mobile link is a quarter of a second's round
trip from Janus, and a packet lost on its way to Janus comes that much later however near the terminal is. Given
up at 0.3 s, such a loss ended in a keyframe (asked of that same thin link, and larger than the resend already on
its way), and the picture stood still for the keyframe's round trip on top.

After an outage (no video packet for a quarter of a second), the packets lost in it will not come: the buffer
starts afresh from the first packet after it and asks for a keyframe at once, instead of waiting for them until
it overflows, which took seconds.

Audio: aiortc holds four packets (80 ms) before it hands one on, and waits for a lost one until its buffer
overflows (320 ms of silence). The earpiece's playout buffer already smooths jitter, so each packet goes on as
it arrives, with every packet behind it that is there too. A gap is waited on only until a few packets wait
behind it (no retransmission will fill it, but a link that reorders brings it late): none at first — the next
packet's FEC fills the lost one's time at once — one more each time a packet comes after its gap was given up,
and one fewer after a calm spell. The packets after a gap go on
as `VoicePackets` that say how many were lost before them, for the decoder to fill that time
(`kiosk.opus_voice`). Both kinds of hand-over need the call's decoders (`kiosk.call_codecs`), which read them
whole.

The buffers are swapped into aiortc's receivers (`use_for`) rather than forking aiortc; their interface is the
one aiortc calls, `add`, and only the search for what can be handed on changes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable

from aiortc import RTCRtpReceiver
from aiortc.jitterbuffer import JitterBuffer, JitterFrame
from aiortc.rtp import RtpPacket
from aiortc.utils import uint16_add

from kiosk.call_quality import ArrivalLoss

log = logging.getLogger(__name__)

GAP_GIVEN_UP_S = 0.3  # a lost packet's retransmission comes within a round trip; after this it will not
GAP_WAIT_MOST_S = 0.6  # on a mobile link no gap waited 0.74-0.85 s was filled: their resends were lost too
RESENDS_WINDOW_S = 10.0  # the gaps filled in this long set how long the next are waited for
RESEND_MARGIN = 1.25  # of the slowest gap filled: a resend's time varies with the link's jitter
GIVEN_UP_KEPT = 32  # the latest gaps given up on, for a resend that comes after all
NACK_AGAIN_S = 0.08  # a packet still missing this long after it was asked for is asked for again, at the least
REORDER_SHARE = 0.9  # of the packets that came late by themselves lately: a missing one is waited for as long
REORDER_WAIT_MOST_S = 0.05  # before it is asked for; never longer, as a lost packet's resend waits on it
REORDER_EVERY_S = 0.25  # the wait is worked out afresh this often (from up to RESENDS_WINDOW_S of packets)
RESUMED_AFTER_S = 0.25  # no video packet for this long (8 frames at 30 fps) and then one: the stream resumes
VIDEO_CAPACITY = 512  # packets, as aiortc's receiver sizes its own buffers
AUDIO_CAPACITY = 16
AUDIO_WAIT_PACKETS = 1  # a gap is given up once this many packets wait behind it, on a link that does not reorder
AUDIO_MOST_WAIT_PACKETS = 6  # 120 ms: a packet later than that is as good as lost, for a conversation
AUDIO_CALM_S = 10.0  # this long with no packet coming too late, the wait steps back down
_RECEIVERS_BUFFER = "_RTCRtpReceiver__jitter_buffer"
_RECEIVERS_NACKS = "_RTCRtpReceiver__nack_generator"
_VP8_START = 0x10  # the S bit of a VP8 payload descriptor's first octet
_VP8_PARTITION = 0x07  # its partition index


def begins_vp8_frame(packet: RtpPacket) -> bool:
    """Whether the packet's VP8 payload descriptor (RFC 7741) marks the start of partition 0: a frame's first."""
    return bool(packet.payload) and packet.payload[0] & (_VP8_START | _VP8_PARTITION) == _VP8_START


class FrameOnMarkerJitterBuffer(JitterBuffer):
    def __init__(self, capacity: int = VIDEO_CAPACITY, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(capacity=capacity, is_video=True)
        self._dropped_a_tail = False
        self._clock = clock
        self._last_arrival: float | None = None
        self._newest: int | None = None  # the furthest sequence number come
        self._missing: dict[int, float] = {}  # each sequence number missing behind the newest: since when
        self._given_up: dict[int, float] = {}  # the latest gaps given up on: since when they were missing
        self._filled: deque[tuple[float, float]] = deque()  # (when, after how long) each gap was filled, lately
        self._asked: dict[int, float] = {}  # each missing sequence number asked for: when last
        self._late: deque[tuple[float, float]] = deque()  # (when, how late) each packet came late by itself, lately
        self._reorder_wait: tuple[float, float] = (-REORDER_EVERY_S, 0.0)  # (worked out when, seconds)
        self.resent = False  # whether the packet being added is a resend (the receiver tells: `use_for`)
        self.arrivals: ArrivalLoss | None = None  # counts what the link lost, for the call's quality
        self.ask: Callable[[int, list[int]], None] | None = None  # (SSRC, sequence numbers): a NACK
        self.gaps_given_up = 0

    def add(self, packet: RtpPacket) -> tuple[bool, JitterFrame | None]:
        if self.arrivals is not None:
            self.arrivals.saw(packet.sequence_number, len(packet.payload), packet.timestamp)
        now = self._clock()
        resumed = self._last_arrival is not None and now - self._last_arrival > RESUMED_AFTER_S
        self._last_arrival = now
        if resumed and self._origin is not None and packet.sequence_number != self._origin:
            # Media comes back after an outage (a network cut): what was lost will not be resent, and aiortc would
            # wait for it until its buffer overflowed, seconds later. Start afresh from this packet and ask for a
            # keyframe, as the frames until then refer to pictures this decoder never had.
            self.remove(self._capacity)
            self._origin, self._newest = None, None
            self._missing.clear()
            self._note(packet.sequence_number, now)
            ask_for_keyframe, frame = super().add(packet)
            return True, frame
        self._note(packet.sequence_number, now)
        ask_for_keyframe, handed = super().add(packet)
        frames = handed.each() if isinstance(handed, HandedOn) else []
        while (since := self._first_gap_since(now)) is not None and now - since >= self.gap_wait_s():
            self._give_up_first_gap()
            ask_for_keyframe = True
            if isinstance(more := self._remove_frame(packet.sequence_number), HandedOn):
                frames.extend(more.each())
        self._ask_for_missing(packet.ssrc, now)
        if self._dropped_a_tail:
            self._dropped_a_tail = False
            ask_for_keyframe = True
        return ask_for_keyframe, VideoFrames(frames) if frames else None

    def _note(self, sequence_number: int, now: float) -> None:
        """Notes the packets this one shows missing (those between the newest and it), or that it filled a gap."""
        if self._newest is None:
            self._newest = sequence_number
            return
        ahead = (sequence_number - self._newest) % 65536
        if ahead >= 32768:  # behind the newest: a resend, or reordered
            # A resend that comes after its gap was given up says as much of how long resends take.
            since = self._missing.pop(sequence_number, None)
            if since is None:
                since = self._given_up.pop(sequence_number, None)
            if since is not None:
                self._filled.append((now, now - since))
                while self._filled[0][0] < now - RESENDS_WINDOW_S:
                    self._filled.popleft()
                if not self.resent:
                    self._late.append((now, now - since))
        elif ahead > 0:
            self._missing.update({(self._newest + n) % 65536: now for n in range(1, min(ahead, self._capacity))})
            self._newest = sequence_number

    def reorder_wait_s(self) -> float:
        """How long a missing packet is waited for before it is asked for: as long as REORDER_SHARE of the packets
        that came late by themselves in the last RESENDS_WINDOW_S, at most REORDER_WAIT_MOST_S."""
        now = self._clock()
        worked_out_at, wait_s = self._reorder_wait
        if now - worked_out_at < REORDER_EVERY_S:
            return wait_s
        while self._late and self._late[0][0] < now - RESENDS_WINDOW_S:
            self._late.popleft()
        late = sorted(after for _, after in self._late)
        wait_s = min(REORDER_WAIT_MOST_S, late[int(REORDER_SHARE * (len(late) - 1))]) if late else 0.0
        self._reorder_wait = (now, wait_s)
        return wait_s

    def _slowest_filled_s(self) -> float:
        return max((after for _, after in self._filled), default=0.0)

    def gap_wait_s(self) -> float:
        """How long a missing packet is waited for before the frames behind it go on without it."""
        return min(GAP_WAIT_MOST_S, max(GAP_GIVEN_UP_S, RESEND_MARGIN * self._slowest_filled_s()))

    def _first_gap_since(self, now: float) -> float | None:
        """Since when the first packet missing behind the newest has been missing; None when none is. Each gap's
        wait counts from when it was found, not from when the gaps before it were given up: on a link that loses
        more often than a retransmission takes, the picture would fall that much further behind at each."""
        if self._origin is None or self._newest is None:
            return None
        span = (self._newest - self._origin) % 65536
        if span >= self._capacity:
            return None
        for n in range(span):
            if self._packets[(self._origin + n) % self._capacity] is None:
                return self._missing.setdefault((self._origin + n) % 65536, now)
        return None

    def _give_up_first_gap(self) -> None:
        """The first packet missing has been missing for longer than a retransmission takes: it will not come. The
        frames behind it go on (from the next that begins a frame) and a keyframe is asked for. aiortc would hold
        them all until its buffer overflowed: seconds of frozen picture on a link that loses one packet in a
        hundred."""
        assert self._origin is not None and self._newest is not None
        self.gaps_given_up += 1
        log.info("video: a packet lost for %.0f ms was given up on; a keyframe is asked for", 1000 * self.gap_wait_s())
        held = (self._newest - self._origin) % 65536 + 1
        self.remove(1)  # the head frame's first packet, then up to the next frame's (or past the newest)
        for _ in range(held - 1):
            head = self._packets[self._origin % self._capacity]
            if head is not None and begins_vp8_frame(head):
                break
            self.remove(1)
        origin = self._origin
        behind = {n: at for n, at in self._missing.items() if (n - origin) % 65536 >= 32768}
        self._missing = {n: at for n, at in self._missing.items() if n not in behind}
        self._given_up = dict(list({**self._given_up, **behind}.items())[-GIVEN_UP_KEPT:])

    def _ask_for_missing(self, ssrc: int, now: float) -> None:
        """Asks for the packets missing between the oldest held and the newest that were not asked for lately, nor
        might still come by themselves."""
        if self._origin is None or self._newest is None or self.ask is None:
            return
        again_s, wait_s = max(NACK_AGAIN_S, self._slowest_filled_s()), self.reorder_wait_s()
        origin, span = self._origin, min((self._newest - self._origin) % 65536, self._capacity)
        open_gaps = [number for number in self._missing if (number - origin) % 65536 < span]
        if len(open_gaps) < len(self._missing):  # those behind the oldest held went with their frames
            self._missing = {number: self._missing[number] for number in open_gaps}
        self._asked = {number: self._asked[number] for number in open_gaps if number in self._asked}
        due = [number for number in open_gaps if self._due(number, now, again_s, wait_s)]
        if due:
            self._asked.update(dict.fromkeys(due, now))
            self.ask(ssrc, sorted(due, key=lambda number: (number - origin) % 65536))

    def _due(self, number: int, now: float, again_s: float, wait_s: float) -> bool:
        asked_at = self._asked.get(number)
        if asked_at is None:
            return now - self._missing[number] >= wait_s  # until then it may still come by itself
        return now - asked_at >= again_s

    def _remove_frame(self, sequence_number: int) -> JitterFrame | None:
        frames: list[JitterFrame] = []
        while (frame := self._marked_frame() or super()._remove_frame(sequence_number)) is not None:
            frames.append(frame)
        return VideoFrames([(frame.data, frame.timestamp) for frame in frames]) if frames else None

    def _marked_frame(self) -> JitterFrame | None:
        """The oldest frame, if all its packets are here, from the one that begins it to the one that marks its
        end."""
        while (packets := self._marked_run()) is not None:
            self.remove(len(packets))
            if begins_vp8_frame(packets[0]):
                data = b"".join(p._data for p in packets)  # type: ignore[attr-defined]  # depayloaded by aiortc
                return JitterFrame(data=data, timestamp=packets[0].timestamp)
            self._dropped_a_tail = True
        return None

    def _marked_run(self) -> list[RtpPacket] | None:
        """The packets from the oldest held to the first marked one, if none is missing between them."""
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
                return packets
        return None


class HandedOn(JitterFrame):
    """Several frames for the decoder at once, in order; to aiortc, the first of them."""

    def __init__(self, frames: list[tuple[bytes, int]]) -> None:
        super().__init__(*frames[0])
        self._frames = frames

    def each(self) -> list[tuple[bytes, int]]:
        """Each frame's data and timestamp, the timestamps on the scale aiortc's receiver put the first one on (it
        counts from the stream's first, and maps only the one frame it knows of)."""
        first = self._frames[0][1]
        return [(data, self.timestamp + (stamp - first) % (1 << 32)) for data, stamp in self._frames]


class VideoFrames(HandedOn):
    """Every whole video frame that can go to the decoder now."""


class VoicePackets(HandedOn):
    """Every packet that can go to the decoder now, and how many were lost just before the first."""

    def __init__(self, packets: list[RtpPacket], lost: int) -> None:
        super().__init__([(packet._data, packet.timestamp) for packet in packets])  # type: ignore[attr-defined]
        self.lost = lost


class VoiceJitterBuffer(JitterBuffer):
    """For audio, where every packet is a frame of its own."""

    def __init__(self, capacity: int = AUDIO_CAPACITY, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(capacity=capacity)
        self._clock = clock
        self.wait_packets = AUDIO_WAIT_PACKETS
        self.too_late = 0  # packets that came after their gap was given up
        self._late_at = clock()
        self._given_up: deque[int] = deque(maxlen=AUDIO_CAPACITY)  # the sequence numbers of the latest lost

    def add(self, packet: RtpPacket) -> tuple[bool, JitterFrame | None]:
        now = self._clock()
        if packet.sequence_number in self._given_up:
            self._given_up.remove(packet.sequence_number)
            self.too_late += 1
            self.wait_packets = min(AUDIO_MOST_WAIT_PACKETS, self.wait_packets + 1)
            self._late_at = now
        elif now - self._late_at > AUDIO_CALM_S and self.wait_packets > AUDIO_WAIT_PACKETS:
            self.wait_packets -= 1
            self._late_at = now
        return super().add(packet)

    def _remove_frame(self, sequence_number: int) -> JitterFrame | None:
        if self._origin is None:
            return None
        held = [n for n in range(self._capacity) if self._packets[(self._origin + n) % self._capacity]]
        if not held or (held[0] > 0 and len(held) < self.wait_packets):
            return None  # nothing, or a gap that a packet coming late may still fill
        lost = held[0]
        self._given_up.extend(uint16_add(self._origin, n) for n in range(lost))
        self.remove(lost)
        ready = []
        while (packet := self._packets[self._origin % self._capacity]) is not None:
            ready.append(packet)
            self.remove(1)
        return VoicePackets(ready, lost)


def _nack_sender(receiver: RTCRtpReceiver) -> Callable[[int, list[int]], None]:
    """Sends a NACK through the receiver (on its event loop, which is the caller's: aiortc adds packets there)."""

    def send(ssrc: int, missing: list[int]) -> None:
        asyncio.get_running_loop().create_task(receiver._send_rtcp_nack(ssrc, missing))

    return send


def _tell_resends(receiver: RTCRtpReceiver, video: FrameOnMarkerJitterBuffer) -> None:
    """Has the receiver tell the buffer, for each packet, whether it came on a resend stream (RTX): aiortc unwraps a
    resend before the buffer sees it. Without it every resend counts as a packet merely late, and the buffer waits
    the longest before it asks for a missing packet."""
    handle = getattr(receiver, "_handle_rtp_packet", None)
    resend_streams = getattr(receiver, "_RTCRtpReceiver__rtx_ssrc", None)
    if handle is None or not isinstance(resend_streams, dict):
        log.warning("aiortc's receiver has no resend streams where expected: video waits longest before a NACK")
        return

    async def handle_telling(packet: RtpPacket, arrival_time_ms: int) -> None:
        video.resent = packet.ssrc in resend_streams  # the map aiortc fills as the call is negotiated
        try:
            await handle(packet, arrival_time_ms)
        finally:
            video.resent = False

    receiver._handle_rtp_packet = handle_telling  # type: ignore[method-assign]


def use_for(receiver: RTCRtpReceiver, kind: str, arrivals: ArrivalLoss | None = None) -> bool:
    """Puts the buffer for `kind` ("audio" or "video") into a receiver before media flows; False (and a log
    line) if aiortc changed. `arrivals`: counts the video packets the link lost. The buffers hand on several
    frames at once, which only the call's decoders (`kiosk.call_codecs`) read whole: use them only with those."""
    if not isinstance(getattr(receiver, _RECEIVERS_BUFFER, None), JitterBuffer):
        log.warning("aiortc's receiver has no jitter buffer where expected: %s keeps aiortc's delays", kind)
        return False
    if kind == "video":
        video = FrameOnMarkerJitterBuffer()
        video.arrivals = arrivals
        video.ask = _nack_sender(receiver)
        _tell_resends(receiver, video)
        setattr(receiver, _RECEIVERS_BUFFER, video)
        setattr(receiver, _RECEIVERS_NACKS, None)  # the buffer asks for lost packets in its place
    else:
        setattr(receiver, _RECEIVERS_BUFFER, VoiceJitterBuffer())
    return True
