"""The jitter buffers hand media on the moment it can be decoded: video frames at their last packet, not one
frame later; audio packets as they arrive, not four packets later. Both stay correct when packets come late,
out of order, twice, or not at all."""

from __future__ import annotations

import asyncio
import fractions
import random

import numpy as np
import pytest
from aiortc import RTCPeerConnection, RTCRtpCodecParameters
from aiortc.codecs.vpx import Vp8Encoder
from aiortc.jitterbuffer import JitterBuffer, JitterFrame
from aiortc.rtcrtpparameters import RTCRtpDecodingParameters, RTCRtpReceiveParameters, RTCRtpRtxParameters
from aiortc.rtcrtpreceiver import RemoteStreamTrack
from aiortc.rtp import RtpPacket, wrap_rtx
from av import VideoFrame

from kiosk.jitter_buffers import (
    AUDIO_CALM_S,
    GAP_GIVEN_UP_S,
    FrameOnMarkerJitterBuffer,
    HandedOn,
    VoiceJitterBuffer,
    VoicePackets,
    begins_vp8_frame,
    use_for,
)

TICKS_PER_FRAME = 3000  # 90 kHz at 30 fps
VP8_FRAME_START = 0x90  # a VP8 payload descriptor's first octet: extensions follow (X), start of partition 0 (S)
VP8_FRAME_CONTINUED = 0x80


def _frames(count: int, packets_per_frame: int = 3, first_seq: int = 65530) -> list[list[RtpPacket]]:
    """`count` frames of packets; each packet's payload names its frame and place; the sequence wraps."""
    frames = []
    seq = first_seq
    for index in range(count):
        frame = []
        for part in range(packets_per_frame):
            packet = RtpPacket(
                payload_type=96,
                marker=int(part == packets_per_frame - 1),
                sequence_number=seq % 65536,
                timestamp=1000 + index * TICKS_PER_FRAME,
                payload=bytes([VP8_FRAME_START if part == 0 else VP8_FRAME_CONTINUED, 0]),  # descriptor, then data
            )
            packet._data = f"f{index}p{part};".encode()  # type: ignore[attr-defined]  # as aiortc depayloads
            frame.append(packet)
            seq += 1
        frames.append(frame)
    return frames


def _expected(index: int, packets_per_frame: int = 3) -> bytes:
    return b"".join(f"f{index}p{part};".encode() for part in range(packets_per_frame))


def _feed(buffer: JitterBuffer, packets: list[RtpPacket]) -> list[tuple[int, bytes]]:
    """(after how many packets, frame data) for every frame the buffer hands on."""
    out = []
    for fed, packet in enumerate(packets, start=1):
        _, handed = buffer.add(packet)
        if handed is not None:
            out.extend((fed, data) for data, _ in _each(handed))
    return out


def _each(handed: JitterFrame) -> list[tuple[bytes, int]]:
    return handed.each() if isinstance(handed, HandedOn) else [(handed.data, handed.timestamp)]


def test_each_frame_is_handed_on_with_its_last_packet_where_aiortc_waits_for_the_next_frame():
    frames = _frames(4)
    packets = [p for frame in frames for p in frame]
    ours = _feed(FrameOnMarkerJitterBuffer(), packets)
    theirs = _feed(JitterBuffer(capacity=512, is_video=True), packets)
    assert ours == [(3, _expected(0)), (6, _expected(1)), (9, _expected(2)), (12, _expected(3))]
    assert theirs == [(4, _expected(0)), (7, _expected(1)), (10, _expected(2))], "aiortc: one frame later"


def test_a_frame_whose_packets_come_out_of_order_is_handed_on_whole_when_the_last_one_arrives():
    frame0, frame1 = _frames(2)
    order = [frame0[0], frame0[2], frame0[1], frame1[2], frame1[0], frame1[1]]
    assert _feed(FrameOnMarkerJitterBuffer(), order) == [(3, _expected(0)), (6, _expected(1))]


def test_a_lost_packet_holds_its_frame_until_the_retransmission_fills_the_gap():
    frame0, frame1, frame2, frame3 = _frames(4)
    lost = frame0[1]
    order = [frame0[0], frame0[2], *frame1, *frame2, lost, *frame3]  # NACKed and sent again two frames later
    handed = _feed(FrameOnMarkerJitterBuffer(), order)
    assert handed[0] == (9, _expected(0)), "never a frame with a hole in it, and out as soon as it is whole"
    assert handed[1:3] == [(9, _expected(1)), (9, _expected(2))], "the frames that waited behind it go on with it"
    assert handed[3:] == [(12, _expected(3))]


def test_on_a_thin_link_the_frames_that_waited_behind_a_gap_do_not_keep_the_picture_behind():
    frames = _frames(40, packets_per_frame=1)  # a small frame is one packet
    lost = frames[2][0]
    order = [p for frame in frames[:2] + frames[3:12] for p in frame] + [lost] + [f[0] for f in frames[12:]]
    handed = _feed(FrameOnMarkerJitterBuffer(), order)
    assert [data for _, data in handed] == [_expected(i, 1) for i in range(40)]
    # aiortc's receiver takes one frame per packet: the ten that waited would have gone on ten packets late, and
    # each later frame as many behind its own packet, for the rest of the visit.
    assert [fed for fed, _ in handed[-28:]] == list(range(13, 41)), "each later frame goes on with its packet"


def _asks(buffer: FrameOnMarkerJitterBuffer, now: list[float]) -> list[tuple[float, list[int]]]:
    asked: list[tuple[float, list[int]]] = []
    buffer.ask = lambda ssrc, missing: asked.append((round(now[0], 3), missing))
    return asked


def test_a_packet_still_missing_is_asked_for_at_once_and_again_every_little_while_until_it_comes():
    frames = _frames(12)
    now = [0.0]
    buffer = FrameOnMarkerJitterBuffer(clock=lambda: now[0])
    asked = _asks(buffer, now)
    lost = frames[1][1]
    for index, frame in enumerate(frames):
        now[0] = index * 0.025  # a frame every 25 ms
        for packet in frame:
            if packet is not lost:
                buffer.add(packet)
        if index == 10:
            buffer.add(lost)  # its third request brings it
    assert [missing for _, missing in asked] == [[lost.sequence_number]] * 3, "asked for, twice again, then it came"
    assert [at for at, _ in asked] == [0.025, 0.125, 0.225], "at once, at 25 ms; again 80 ms on, and again"


def test_on_a_link_that_reorders_each_missing_packet_is_asked_for_once_not_at_every_new_gap():
    """aiortc asked for every packet still missing whenever another went missing: on a jittery link each packet on
    its way was asked for several times, and each request brought its resend."""
    frames = _frames(6)
    now = [0.0]
    buffer = FrameOnMarkerJitterBuffer(clock=lambda: now[0])
    asked = _asks(buffer, now)
    order = [p for frame in frames for p in frame]
    for n in range(0, len(order) - 1, 2):
        order[n], order[n + 1] = order[n + 1], order[n]  # every second packet comes before the one before it
    for packet in order:
        now[0] += 0.002
        buffer.add(packet)
    numbers = [number for _, missing in asked for number in missing]
    assert sorted(numbers) == sorted(set(numbers)), "no packet asked for twice"


def test_a_resend_that_takes_a_round_trip_is_not_asked_for_again_before_it_could_come():
    """A visitor on mobile data: a resend takes 300 ms. Asked again every 80 ms, each was sent three times over."""
    frames = _frames(60)
    now = [0.0]
    buffer = FrameOnMarkerJitterBuffer(clock=lambda: now[0])
    asked = _asks(buffer, now)
    late = {frames[5][1]: 15, frames[30][1]: 39}  # each lost packet comes 270-300 ms later
    for index, frame in enumerate(frames):
        now[0] = index * 0.03
        for packet in frame:
            if packet not in late:
                buffer.add(packet)
        for packet, comes_with in late.items():
            if comes_with == index:
                buffer.resent = True  # on Janus's resend stream
                buffer.add(packet)
                buffer.resent = False
    second = frames[30][1].sequence_number
    times = [at for at, missing in asked if second in missing]
    assert times[0] == pytest.approx(0.9), "the second loss is asked for at once"
    assert len(times) == 1, "and not again: the first took 300 ms to come, and so may this one"


def test_on_a_link_that_reorders_a_packet_merely_late_is_not_asked_for_and_a_lost_one_still_is():
    """A mobile visitor's link delays each packet by 120 ± 30 ms: asked for the moment it was found missing, each
    packet overtaken was sent twice, and a third of what reached the visitor were such resends."""
    frames = _frames(100)
    now = [0.0]
    buffer = FrameOnMarkerJitterBuffer(clock=lambda: now[0])
    asked = _asks(buffer, now)
    packets = [p for frame in frames for p in frame]
    lost = packets[200]
    arrivals = sorted(
        (0.005 * n + (0.02 if n % 3 == 0 else 0.0), n) for n, packet in enumerate(packets) if packet is not lost
    )  # every third packet comes 20 ms late, overtaken by up to three others: 15 ms after it was found missing
    for at, n in arrivals:
        now[0] = at
        buffer.add(packets[n])
    asked_for = [(at, number) for at, missing in asked for number in missing]
    late_asked = [at for at, number in asked_for if number != lost.sequence_number and at > 0.5]
    assert buffer.reorder_wait_s() == pytest.approx(0.015)
    assert late_asked == [], "once the link's reordering is known, packets merely late are left to come"
    lost_asked = [at for at, number in asked_for if number == lost.sequence_number]
    assert lost_asked and 0.005 * 200 + 0.02 <= lost_asked[0] <= 0.005 * 200 + 0.05 + 0.01, asked_for[-5:]


def test_a_resend_is_told_from_a_packet_merely_late_by_the_stream_it_comes_on():
    """aiortc unwraps a resend (RTX) before the buffer sees it: the receiver tells the buffer which it was, and only
    packets that came late by themselves make the buffer wait before it asks."""

    async def wait_after_one_late(resent: bool) -> float:
        pc = RTCPeerConnection()
        try:
            receiver = pc.addTransceiver("video", direction="recvonly").receiver
            receiver._track = RemoteStreamTrack(kind="video")  # as aiortc makes it for a remote description
            assert use_for(receiver, "video")
            vp8 = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=96)
            rtx = RTCRtpCodecParameters(mimeType="video/rtx", clockRate=90000, payloadType=97, parameters={"apt": 96})
            stream = RTCRtpDecodingParameters(ssrc=1, payloadType=96, rtx=RTCRtpRtxParameters(ssrc=2))
            await receiver.receive(RTCRtpReceiveParameters(codecs=[vp8, rtx], encodings=[stream]))
            buffer = receiver._RTCRtpReceiver__jitter_buffer
            now = [0.0]
            buffer._clock = lambda: now[0]
            frame = _frames(1, packets_per_frame=5)[0]  # its last never comes: nothing goes to the decoder
            for packet in frame:
                packet.ssrc, packet.payload_type = 1, 96
            for packet in (frame[0], frame[2], frame[3]):
                await receiver._handle_rtp_packet(packet, arrival_time_ms=0)
            now[0] = 0.04
            late = wrap_rtx(frame[1], payload_type=97, sequence_number=1, ssrc=2) if resent else frame[1]
            await receiver._handle_rtp_packet(late, arrival_time_ms=40)
            now[0] = 1.0
            return buffer.reorder_wait_s()
        finally:
            await pc.close()

    assert asyncio.run(wait_after_one_late(resent=False)) == pytest.approx(0.04)
    assert asyncio.run(wait_after_one_late(resent=True)) == 0.0


def test_a_frame_begun_before_the_subscription_is_dropped_and_a_keyframe_asked_for():
    frames = _frames(3)
    buffer = FrameOnMarkerJitterBuffer()
    asked = [buffer.add(packet)[0] for packet in frames[0][1:]]  # joined in the middle of the first frame
    assert asked == [False, True], "the tail of a frame is not decodable: a keyframe is asked for at its end"
    assert _feed(buffer, frames[1] + frames[2]) == [(3, _expected(1)), (6, _expected(2))]


def test_after_an_outage_the_first_whole_frame_is_handed_on_at_once_and_a_keyframe_asked_for():
    frames = _frames(100)
    now = [0.0]
    buffer = FrameOnMarkerJitterBuffer(clock=lambda: now[0])
    before = [p for frame in frames[:3] for p in frame] + frames[3][:1]  # the cut falls inside frame 3
    assert len(_feed(buffer, before)) == 3
    now[0] += 3.0  # three seconds of nothing: 90 frames lost, frame 3's tail among them
    first_back = frames[94][0]
    asked, frame = buffer.add(first_back)
    assert asked, "the frames after the outage refer to lost ones: a keyframe is asked for at once"
    assert frame is None
    assert _feed(buffer, frames[94][1:] + frames[95]) == [(2, _expected(94)), (5, _expected(95))]
    # aiortc's own buffer waits for the lost packets until it overflows: nothing from the 90 frames after the cut.
    theirs = JitterBuffer(capacity=512, is_video=True)
    _feed(theirs, before)
    assert _feed(theirs, [p for frame in frames[94:] for p in frame]) == []


def test_a_packet_whose_retransmission_never_comes_holds_the_picture_only_for_a_moment():
    frames = _frames(20)
    now = [0.0]
    buffer = FrameOnMarkerJitterBuffer(clock=lambda: now[0])
    lost = frames[1][1]  # lost, and so is its retransmission
    handed = []
    for frame in frames:
        for packet in frame:
            if packet is not lost:
                asked, out = buffer.add(packet)
                for data in [data for data, _ in _each(out)] if out else [None]:
                    handed.append((round(now[0], 3), asked, data))
        now[0] += 1 / 30
    data = [d for _at, _asked, d in handed if d]
    assert data[0] == _expected(0) and _expected(1) not in data, "never a frame with a hole in it"
    resumed_at = next(at for at, _asked, d in handed if d == _expected(2))
    assert resumed_at <= 1 / 30 + 0.3 + 1 / 30, f"the picture went on {resumed_at:.2f} s after the loss"
    assert any(asked for at, asked, _d in handed if at == resumed_at), "and a keyframe was asked for"
    assert _expected(19) in data


def test_on_a_link_that_loses_more_often_than_a_resend_takes_the_picture_never_falls_further_behind():
    frames = _frames(90, packets_per_frame=2)
    now = [0.0]
    buffer = FrameOnMarkerJitterBuffer(clock=lambda: now[0])
    arrived, handed = {}, {}
    for index, frame in enumerate(frames):
        now[0] = index / 30
        arrived[index] = now[0]
        for part, packet in enumerate(frame):
            if index % 3 == 1 and part == 1:
                continue  # every third frame loses its second packet, and no resend comes
            _, out = buffer.add(packet)
            for data, _ in _each(out) if out else []:
                handed[int(data.split(b"p")[0][1:])] = now[0]
    assert not any(index % 3 == 1 for index in handed), "never a frame with a hole in it"
    late = [handed[index] - arrived[index] for index in handed]
    assert len(handed) >= 55, "every whole frame but those behind the last gap"
    # Each gap's wait counts from its own loss: before, each started when the one before it was given up, and the
    # picture fell 0.2 s further behind every 0.1 s.
    assert max(late) <= GAP_GIVEN_UP_S + 2 / 30, f"a frame went on {max(late):.2f} s after it came"


def test_where_resends_take_longer_than_the_usual_wait_the_buffer_learns_to_wait_for_them():
    """A visitor on a mobile link: a packet lost on its way to Janus is resent 0.4 s later. The first such gap is
    given up at 0.3 s (a keyframe asked for, a frame lost); its resend's lateness is learnt, and the gaps after it
    are waited for: every frame goes on whole, with no keyframe asked of that thin link."""
    frames = _frames(150)
    now = [0.0]
    buffer = FrameOnMarkerJitterBuffer(clock=lambda: now[0])
    arrivals = []
    for index, frame in enumerate(frames):
        for part, packet in enumerate(frame):
            late = 0.4 if index % 30 == 5 and part == 1 else 0.0
            arrivals.append((index / 30 + late, packet.sequence_number, packet))
    handed, asked_at = [], []
    for now[0], _, packet in sorted(arrivals, key=lambda a: a[:2]):
        asked, out = buffer.add(packet)
        if asked:
            asked_at.append(now[0])
        handed += [data for data, _ in _each(out)] if out else []
    assert asked_at and max(asked_at) < 1.0, f"keyframes asked for at {asked_at}: only for the first gap"
    assert _expected(5) not in handed, "the first gap was given up"
    assert [_expected(index) for index in range(35, 150)] == handed[-115:], "then every frame goes on, whole"
    assert buffer.gap_wait_s() == pytest.approx(0.5)


def test_aiortcs_vp8_packets_begin_their_frame_where_the_buffer_looks():
    encoder = Vp8Encoder()
    noise = np.random.default_rng(7).integers(0, 256, (480, 640, 3), np.uint8)  # a keyframe of many packets
    frame = VideoFrame.from_ndarray(noise, format="rgb24")
    frame.pts, frame.time_base = 0, fractions.Fraction(1, 90000)
    payloads, _ = encoder.encode(frame)
    packets = [RtpPacket(payload=payload) for payload in payloads]
    assert len(packets) > 1
    assert [begins_vp8_frame(packet) for packet in packets] == [True] + [False] * (len(packets) - 1)


def test_a_frame_whose_marked_packet_is_lost_is_ended_by_the_next_frame_as_aiortc_does():
    frame0, frame1 = _frames(2, packets_per_frame=2)
    frame0[1].marker = 0  # the packet that marks the end arrives without its mark (a sender's bug)
    assert _feed(FrameOnMarkerJitterBuffer(), [*frame0, *frame1]) == [(3, _expected(0, 2)), (4, _expected(1, 2))]


def test_late_duplicates_of_a_handed_on_frame_are_dropped():
    frame0, frame1 = _frames(2)
    order = [*frame0, frame0[1], frame0[2], *frame1]
    assert [data for _, data in _feed(FrameOnMarkerJitterBuffer(), order)] == [_expected(0), _expected(1)]


@pytest.mark.parametrize("seed", range(5))
def test_under_random_reordering_every_frame_arrives_once_whole_and_in_order(seed):
    rng = random.Random(seed)
    packets = [p for frame in _frames(60, packets_per_frame=4) for p in frame]
    for i in range(1, len(packets) - 1):  # neighbours swap now and then (the very first stays first)
        if rng.random() < 0.2:
            packets[i], packets[i + 1] = packets[i + 1], packets[i]
    handed = [data for _, data in _feed(FrameOnMarkerJitterBuffer(), packets)]
    assert handed == [_expected(i, 4) for i in range(60)]


def test_they_go_into_aiortcs_receivers():
    async def scenario() -> None:
        pc = RTCPeerConnection()
        try:
            transceiver = pc.addTransceiver("video", direction="recvonly")
            assert use_for(transceiver.receiver, "video")
            assert isinstance(transceiver.receiver._RTCRtpReceiver__jitter_buffer, FrameOnMarkerJitterBuffer)
            assert transceiver.receiver._RTCRtpReceiver__nack_generator is None, "the buffer asks in its place"
            audio = pc.addTransceiver("audio", direction="recvonly")
            assert use_for(audio.receiver, "audio")
            assert isinstance(audio.receiver._RTCRtpReceiver__jitter_buffer, VoiceJitterBuffer)
        finally:
            await pc.close()

    asyncio.run(scenario())


def _audio(sequence_numbers: list[int]) -> list[RtpPacket]:
    packets = []
    for seq in sequence_numbers:
        packet = RtpPacket(payload_type=111, sequence_number=seq % 65536, timestamp=(seq * 960) % (1 << 32))
        packet._data = f"a{seq};".encode()  # type: ignore[attr-defined]
        packets.append(packet)
    return packets


def _voice(buffer: VoiceJitterBuffer, packets: list[RtpPacket]) -> list[tuple[int, list[bytes], int]]:
    """(after how many packets, the packets' data, how many were lost before them) for each hand-over."""
    out = []
    for fed, packet in enumerate(packets, start=1):
        _, handed = buffer.add(packet)
        if handed is not None:
            assert isinstance(handed, VoicePackets)
            out.append((fed, [data for data, _ in handed.each()], handed.lost))
    return out


def test_each_audio_packet_is_handed_on_as_it_arrives_where_aiortc_holds_four():
    packets = _audio(list(range(65533, 65541)))  # the sequence wraps
    ours = _voice(VoiceJitterBuffer(), packets)
    assert ours == [(n + 1, [f"a{seq};".encode()], 0) for n, seq in enumerate(range(65533, 65541))]
    aiortcs = _feed(JitterBuffer(capacity=16, prefetch=4), _audio(list(range(65533, 65541))))
    assert aiortcs[0] == (5, b"a65533;"), "aiortc's receiver hands the first packet on four packets later"


def test_a_lost_audio_packet_is_told_with_the_next_one_and_nothing_stays_behind():
    handed = _voice(VoiceJitterBuffer(), _audio([1, 2, 4, 5, 6, 7]))
    assert handed[2] == (3, [b"a4;"], 1), "handed on with the next packet, which says one was lost before it"
    assert [packets for _, packets, lost in handed if not lost] == [[b"a1;"], [b"a2;"], [b"a5;"], [b"a6;"], [b"a7;"]]
    aiortcs = _feed(JitterBuffer(capacity=16, prefetch=4), _audio([1, 2, 4, 5, 6, 7, 8, 9, 10]))
    assert [data for _, data in aiortcs] == [], "aiortc's stays silent behind the gap until its buffer overflows"


def test_once_packets_come_out_of_order_one_late_is_still_played_in_its_place():
    buffer = VoiceJitterBuffer()
    first = _voice(buffer, _audio([1, 3, 2, 4]))
    assert first == [(1, [b"a1;"], 0), (2, [b"a3;"], 1), (4, [b"a4;"], 0)], "2 came after its time was filled"
    assert buffer.wait_packets == 2
    handed = _voice(buffer, _audio([5, 7, 6, 8]))
    assert handed == [(1, [b"a5;"], 0), (3, [b"a6;", b"a7;"], 0), (4, [b"a8;"], 0)]


def test_audio_packets_too_late_or_twice_are_dropped_and_the_rest_keep_their_order():
    buffer = VoiceJitterBuffer()
    handed = _voice(buffer, _audio([1, 2, 2, 4, 5, 3, 6, 7, 1]))
    assert [data for _, packets, _ in handed for data in packets] == [b"a1;", b"a2;", b"a4;", b"a5;", b"a6;", b"a7;"]
    assert buffer.too_late == 1, "3, given up before it came; 2 and 1 again are copies, not late"


def test_a_link_that_brings_packets_after_their_gap_was_given_up_makes_the_wait_longer_then_shorter_once_calm():
    now = [0.0]
    buffer = VoiceJitterBuffer(clock=lambda: now[0])
    _voice(buffer, _audio([1, 2, 4, 5, 3]))  # 3 came after 4: too late
    assert buffer.too_late == 1 and buffer.wait_packets == 2
    _voice(buffer, _audio([6, 8, 9, 7, 10]))  # 7 came after 8 and 9: too late again
    assert buffer.too_late == 2 and buffer.wait_packets == 3
    handed = _voice(buffer, _audio([11, 13, 14, 12, 15]))
    assert handed == [(1, [b"a11;"], 0), (4, [b"a12;", b"a13;", b"a14;"], 0), (5, [b"a15;"], 0)], "12 came in time"
    now[0] = AUDIO_CALM_S + 1
    _voice(buffer, _audio([16]))
    assert buffer.wait_packets == 2
