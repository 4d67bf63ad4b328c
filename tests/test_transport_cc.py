"""The video's packets carry transport-wide numbers as they leave, and Janus's feedback on them is read: which
arrived, and when. The feedback here is built by hand to the draft's layout, as Janus builds it."""

from __future__ import annotations

import asyncio
import struct

import pytest
from aiortc import RTCPeerConnection, RTCRtpHeaderExtensionParameters, RTCRtpParameters
from aiortc.rtp import HeaderExtensionsMap, RtpPacket

from kiosk.transport_cc import (
    TWCC_URI,
    Delivery,
    TransportNumbers,
    feedback_of,
    listen_for_feedback,
    offer_transport_numbers,
)
from tests.manual_clock import ManualClock

REFERENCE = 1000  # in 64 ms ticks


def _feedback(base: int, chunks: list[int], deltas: bytes, count: int, reference: int = REFERENCE) -> bytes:
    body = struct.pack("!LLHH", 1, 2, base, count) + reference.to_bytes(3, "big") + b"\x07"
    body += b"".join(struct.pack("!H", chunk) for chunk in chunks) + deltas
    body += b"\0" * (-len(body) % 4)
    return struct.pack("!BBH", 0x80 | 15, 205, len(body) // 4) + body


def _receiver_report() -> bytes:
    return struct.pack("!BBHL", 0x80, 201, 1, 7)


def test_which_packets_arrived_and_when_is_read_from_the_feedback():
    # Packets 65534 to 65536+3 (the numbers wrap): two arrive (a run of "small delta"), one is lost (a run of
    # "not received"), then a two-bit status vector: large delta (back 1 ms, reordered), small, not received.
    chunks = [0x2000 | 2, 0x0000 | 1, 0xC000 | (2 << 12) | (1 << 10) | (0 << 8)]
    deltas = bytes([4, 8]) + struct.pack("!h", -4) + bytes([12])
    data = _receiver_report() + _feedback(65534, chunks, deltas, count=6)
    (feedback,) = feedback_of(data)
    start = REFERENCE * 64_000
    assert feedback.base == 65534
    assert feedback.arrivals_us == [start + 1000, start + 3000, None, start + 2000, start + 5000, None]


@pytest.mark.parametrize(
    "broken",
    [
        _feedback(0, [0x2000 | 3], b"", count=3),  # three arrivals, no deltas for them
        _feedback(0, [0x6000 | 1], b"\x01", count=1),  # the reserved symbol
        _feedback(0, [], b"", count=5),  # no chunks at all
    ],
)
def test_a_feedback_that_cannot_be_read_is_left_out_and_the_rest_still_is(broken):
    good = _feedback(5, [0x2000 | 1], b"\x04", count=1)
    assert [f.base for f in feedback_of(broken + good)] == [5]


def _numbered_map() -> HeaderExtensionsMap:
    extensions = HeaderExtensionsMap()
    extensions.configure(
        RTCRtpParameters(
            headerExtensions=[
                RTCRtpHeaderExtensionParameters(id=1, uri="urn:ietf:params:rtp-hdrext:sdes:mid"),
                RTCRtpHeaderExtensionParameters(id=5, uri=TWCC_URI),
            ]
        )
    )
    return extensions


def _packet(extensions: HeaderExtensionsMap, sequence_number: int, size: int) -> bytes:
    packet = RtpPacket(payload_type=96, sequence_number=sequence_number, ssrc=42, payload=b"x" * size)
    packet.extensions.mid = "1"
    return packet.serialize(extensions)


def test_each_packet_leaves_with_the_next_number_and_the_feedback_says_what_became_of_it():
    extensions, clock = _numbered_map(), ManualClock(100.0)
    numbers = TransportNumbers(extensions, clock)
    sent = []
    for n in range(3):
        clock.now = 100.0 + n * 0.01
        sent.append(RtpPacket.parse(numbers.number(_packet(extensions, 500 + n, 200)), extensions))
    assert [p.extensions.transport_sequence_number for p in sent] == [0, 1, 2]
    assert [p.sequence_number for p in sent] == [500, 501, 502] and sent[0].extensions.mid == "1"
    assert all(p.payload == b"x" * 200 for p in sent), "the packet is otherwise as it was"

    (feedback,) = feedback_of(_feedback(0, [0xC000 | (1 << 12) | (0 << 10) | (1 << 8)], bytes([40, 80]), count=3))
    size = len(_packet(extensions, 0, 200)) + 4  # and the number's extension element
    start = REFERENCE * 0.064
    deliveries = numbers.acknowledge(feedback)
    assert [d.size for d in deliveries] == [size] * 3
    assert [d.sent_at for d in deliveries] == pytest.approx([100.0, 100.01, 100.02])
    assert [d.arrived_at for d in deliveries] == [pytest.approx(start + 0.010), None, pytest.approx(start + 0.030)]


def test_without_the_extension_negotiated_packets_go_as_they_were():
    plain = HeaderExtensionsMap()
    numbers = TransportNumbers(plain)
    packet = _packet(plain, 7, 100)
    assert numbers.number(packet) is packet
    numbered = TransportNumbers(_numbered_map())
    assert numbered.number(b"\x80\x60") == b"\x80\x60", "not RTP as aiortc writes it: it goes as it came"


def test_janus_is_offered_the_numbers_and_feedback_reaches_the_listener():
    offer_transport_numbers()
    offer_transport_numbers()  # once is enough, however often

    async def scenario() -> None:
        pc = RTCPeerConnection()
        try:
            pc.addTransceiver("video", direction="sendonly")
            await pc.setLocalDescription(await pc.createOffer())
            assert pc.localDescription.sdp.count(TWCC_URI) == 1
            transport = pc.getSenders()[0].transport
            heard: list[list[Delivery]] = []
            numbers = TransportNumbers(_numbered_map())
            assert listen_for_feedback(transport, numbers, heard.append)
            await transport._handle_rtcp_data(_receiver_report() + _feedback(0, [0x2000 | 1], b"\x04", count=1))
            assert heard == [[]], "a feedback on packets this connection never sent: nothing to tell"
        finally:
            await pc.close()

    asyncio.run(scenario())
