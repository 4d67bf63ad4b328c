"""Transport-wide congestion control feedback (draft-holmer-rmcat-transport-wide-cc-extensions-01): Janus tells a
publisher that numbers its packets, every 200 ms, which of them arrived and when. Browsers' congestion control runs
on it; aiortc negotiates the numbers' header extension but never fills it in, nor reads the feedback.

`TransportNumbers` numbers each video packet as it goes out and remembers when it went and its size; `feedback_of`
reads Janus's feedback out of an RTCP compound packet, and `TransportNumbers.acknowledge` pairs the two:
`Delivery`s, from which `kiosk.send_queue` tells how long our packets queue on the way now.
"""

from __future__ import annotations

import contextlib
import logging
import struct
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aiortc.codecs
from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters
from aiortc.rtp import HeaderExtensionsMap, RtpPacket

log = logging.getLogger(__name__)

TWCC_URI = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"
RTPFB, TWCC_FMT = 205, 15
REFERENCE_TICK_US = 64_000
DELTA_TICK_US = 250
REFERENCE_SPAN = 1 << 24
REMEMBERED = 4096  # packets sent: feedback comes within a second, about 100 packets at 800 kbps
EXTENSION_ID = 5  # free among aiortc's video extensions (1 and 3)


@dataclass(frozen=True)
class Feedback:
    base: int  # the transport sequence number of the first packet it speaks of
    arrivals_us: list[int | None]  # each packet's arrival from base on, on Janus's clock (µs); None: not arrived
    reference: int  # its reference time, in REFERENCE_TICK_US, as sent (24 bits)


@dataclass(frozen=True)
class Delivery:
    sent_at: float  # our monotonic clock, s
    arrived_at: float | None  # Janus's clock, s (its origin unknown); None: lost
    size: int  # bytes
    number: int  # its transport sequence number


def _symbols(body: bytes, count: int, offset: int) -> tuple[list[int], int]:
    """The packet status chunks from offset: each packet's symbol (0 not received, 1 small delta, 2 large)."""
    symbols: list[int] = []
    while len(symbols) < count:
        (chunk,) = struct.unpack_from("!H", body, offset)
        offset += 2
        if not chunk & 0x8000:  # run length: one symbol, many packets
            symbols.extend([(chunk >> 13) & 0x3] * (chunk & 0x1FFF))
        elif not chunk & 0x4000:  # status vector of 14 one-bit symbols
            symbols.extend((chunk >> (13 - n)) & 0x1 for n in range(14))
        else:  # status vector of 7 two-bit symbols
            symbols.extend((chunk >> (12 - 2 * n)) & 0x3 for n in range(7))
    return symbols[:count], offset


def _feedback(body: bytes) -> Feedback:
    """One feedback message's body, after the two SSRCs."""
    base, count = struct.unpack_from("!HH", body, 0)
    reference = int.from_bytes(body[4:7], "big")
    symbols, offset = _symbols(body, count, 8)
    at = reference * REFERENCE_TICK_US
    arrivals: list[int | None] = []
    for symbol in symbols:
        if symbol == 0:
            arrivals.append(None)
            continue
        if symbol == 1:
            at += body[offset] * DELTA_TICK_US
            offset += 1
        elif symbol == 2:
            at += struct.unpack_from("!h", body, offset)[0] * DELTA_TICK_US
            offset += 2
        else:
            raise ValueError("a reserved packet status symbol")
        arrivals.append(at)
    return Feedback(base, arrivals, reference)


def feedback_of(data: bytes) -> list[Feedback]:
    """Every transport-wide feedback message in an RTCP compound packet; a malformed one is left out."""
    found = []
    offset = 0
    while offset + 4 <= len(data):
        first, kind, words = struct.unpack_from("!BBH", data, offset)
        end = offset + 4 * (words + 1)
        if end > len(data):
            break
        if kind == RTPFB and first & 0x1F == TWCC_FMT:
            with contextlib.suppress(ValueError, IndexError, struct.error):  # unreadable: the next one will do
                found.append(_feedback(data[offset + 12 : end]))
        offset = end
    return found


def numbers_extension(extensions: HeaderExtensionsMap) -> bool:
    """Whether the connection negotiated the transport sequence number's header extension."""
    ids = getattr(extensions, "_HeaderExtensionsMap__ids", None)
    return bool(getattr(ids, "transport_sequence_number", None))


class TransportNumbers:
    """Numbers packets as they go (through the sender's header extensions: aiortc's, of the connection) and pairs
    Janus's feedback with them."""

    def __init__(self, extensions: HeaderExtensionsMap, clock: Callable[[], float] = time.monotonic) -> None:
        self._extensions = extensions
        self._clock = clock
        self._next = 0
        self._sent: dict[int, tuple[float, int]] = {}  # by number: when it went, its size
        self._reference: int | None = None
        self._reference_wraps = 0

    def number(self, data: bytes) -> bytes:
        """The packet with its number, ready to go now; as it was if the extension was not negotiated."""
        if not numbers_extension(self._extensions):
            return data
        try:
            packet = RtpPacket.parse(data, self._extensions)
        except ValueError:
            return data  # not RTP as aiortc writes it: it goes as it is, unnumbered
        packet.extensions.transport_sequence_number = self._next
        numbered = packet.serialize(self._extensions)
        self._sent[self._next] = (self._clock(), len(numbered))
        self._sent.pop((self._next - REMEMBERED) % 65536, None)
        self._next = (self._next + 1) % 65536
        return numbered

    def acknowledge(self, feedback: Feedback) -> list[Delivery]:
        """What became of each packet the feedback speaks of that we remember sending, in number order."""
        if self._reference is not None and feedback.reference < self._reference - REFERENCE_SPAN // 2:
            self._reference_wraps += 1  # every 12 days of Janus's clock
        self._reference = feedback.reference
        shift = self._reference_wraps * REFERENCE_SPAN * REFERENCE_TICK_US
        deliveries = []
        for index, arrival in enumerate(feedback.arrivals_us):
            sent = self._sent.get((feedback.base + index) % 65536)
            if sent is not None:
                arrived = None if arrival is None else (arrival + shift) / 1e6
                deliveries.append(Delivery(sent[0], arrived, sent[1], (feedback.base + index) % 65536))
        return deliveries


def offer_transport_numbers() -> None:
    """Makes aiortc offer (and accept) the transport sequence number's header extension for video, from now on
    in this process; Janus answers with it and sends its feedback."""
    offered = aiortc.codecs.HEADER_EXTENSIONS["video"]
    if not any(extension.uri == TWCC_URI for extension in offered):
        offered.append(RTCRtpHeaderExtensionParameters(id=EXTENSION_ID, uri=TWCC_URI))


def listen_for_feedback(
    transport: object, numbers: TransportNumbers, delivered: Callable[[list[Delivery]], None]
) -> bool:
    """Hands `delivered` what each feedback coming in on this DTLS transport (aiortc's) says of our packets;
    False (and a log line) when aiortc's transport is not as expected."""
    handle: Callable[[bytes], Awaitable[None]] | None = getattr(transport, "_handle_rtcp_data", None)
    if handle is None:
        log.warning("no RTCP path to listen on: the video follows Janus's receiver reports alone")
        return False

    async def handle_rtcp(data: bytes) -> None:
        for feedback in feedback_of(data):
            delivered(numbers.acknowledge(feedback))
        await handle(data)

    transport._handle_rtcp_data = handle_rtcp  # type: ignore[attr-defined]
    return True
