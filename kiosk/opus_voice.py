"""The call's voice codec: Opus through libopus itself, for what aiortc's Opus (through FFmpeg) cannot do — code a
lost packet's sound from the next one (in-band FEC), conceal a loss with Opus's own concealment, and send the
voice at a voice's bitrate, mono, instead of 96 kbps of stereo.

aiortc's receivers decode what the jitter buffer (`kiosk.jitter_buffers`) hands on: `VoicePackets`, every packet
that can be decoded now and how many were lost before them. The decoder here fills the last lost packet's time
first, from the next packet's FEC (or by Opus's concealment when it carries none). The time of any lost before
that has already passed in the earpiece, which carried the voice on meanwhile (`drivers.playout_mixer`): filling
it again would only add its length to the delay, as the bench's burst link showed (157 ms mouth to ear).

The encoder carries FEC sized by the loss the far end reports (`set_expected_loss`), as browsers do.
`kiosk.call_codecs` puts both into aiortc's factories, rather than forking aiortc.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import fractions
import logging
from collections.abc import Callable
from typing import Any

import numpy as np
from aiortc.jitterbuffer import JitterFrame
from av import AudioFrame
from av.frame import Frame

from kiosk.jitter_buffers import HandedOn

log = logging.getLogger(__name__)

SAMPLE_RATE = 48_000
FRAME_SAMPLES = 960  # 20 ms, as every sender in a room packs it
MAX_PACKET_BYTES = 1500
VOICE_BITRATE = 32_000  # a browser's default for a mono voice
LOSS_FOR_FEC_PERCENT = 5  # FEC once a loss was reported: the next burst's first losses come before its report
_TIME_BASE = fractions.Fraction(1, SAMPLE_RATE)
_APPLICATION_VOIP = 2048
_SIGNAL_VOICE = 3001
_SET_BITRATE, _SET_INBAND_FEC, _SET_PACKET_LOSS_PERC, _SET_SIGNAL = 4002, 4012, 4014, 4024


class OpusError(RuntimeError):
    """libopus refused; the message has its error number."""


def _load() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("opus")
    if name is None:
        return None
    library = ctypes.CDLL(name)
    library.opus_encoder_create.restype = ctypes.c_void_p
    library.opus_encoder_create.argtypes = [ctypes.c_int32, ctypes.c_int, ctypes.c_int, ctypes.POINTER(ctypes.c_int)]
    library.opus_encode.restype = ctypes.c_int32
    library.opus_encode.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p, ctypes.c_int32]
    library.opus_encoder_destroy.argtypes = [ctypes.c_void_p]
    library.opus_decoder_create.restype = ctypes.c_void_p
    library.opus_decoder_create.argtypes = [ctypes.c_int32, ctypes.c_int, ctypes.POINTER(ctypes.c_int)]
    library.opus_decode.restype = ctypes.c_int
    library.opus_decode.argtypes = [
        ctypes.c_void_p,
        ctypes.c_char_p,
        ctypes.c_int32,
        ctypes.c_void_p,
        ctypes.c_int,
        ctypes.c_int,
    ]
    library.opus_decoder_destroy.argtypes = [ctypes.c_void_p]
    library.opus_encoder_ctl.restype = ctypes.c_int
    return library


_OPUS = _load()
HAVE_LIBOPUS = _OPUS is not None


def _created(create: Callable[..., Any], *args: object) -> int:
    error = ctypes.c_int(0)
    state = create(*args, ctypes.byref(error))
    if not state or error.value != 0:
        raise OpusError(f"libopus could not make a codec: error {error.value}")
    return int(state)


class VoiceDecoder:
    """aiortc's decoder interface: each packet to mono 20 ms frames, with lost time filled in first."""

    def __init__(self) -> None:
        assert _OPUS is not None
        self._state = _created(_OPUS.opus_decoder_create, SAMPLE_RATE, 1)
        self._pcm = np.zeros(FRAME_SAMPLES * 6, np.int16)  # Opus packets last up to 120 ms
        self.recovered = 0  # lost packets' time coded again from the next one's FEC

    def __del__(self) -> None:
        if _OPUS is not None and getattr(self, "_state", None):
            _OPUS.opus_decoder_destroy(self._state)

    def _decode(self, data: bytes | None, fec: bool, timestamp: int) -> AudioFrame | None:
        assert _OPUS is not None
        pointer = self._pcm.ctypes.data
        size = FRAME_SAMPLES if data is None or fec else self._pcm.size
        count = _OPUS.opus_decode(self._state, data, len(data or b""), pointer, size, int(fec))
        if count <= 0:
            log.debug("libopus could not decode a packet: error %d", count)
            return None
        frame = AudioFrame.from_ndarray(self._pcm[:count].reshape(1, -1).copy(), format="s16", layout="mono")
        frame.sample_rate = SAMPLE_RATE
        frame.pts = timestamp
        frame.time_base = _TIME_BASE
        return frame

    def decode(self, encoded_frame: JitterFrame) -> list[Frame]:
        frames: list[AudioFrame | None] = []
        first, timestamp = encoded_frame.data, encoded_frame.timestamp
        if getattr(encoded_frame, "lost", 0):  # the one just before: its sound may be in this packet, at a lower rate
            frames.append(self._decode(first, True, timestamp - FRAME_SAMPLES))
            self.recovered += 1
        for data, at in encoded_frame.each() if isinstance(encoded_frame, HandedOn) else [(first, timestamp)]:
            frames.append(self._decode(data, False, at))
        return [frame for frame in frames if frame is not None]


class VoiceEncoder:
    """aiortc's encoder interface: 20 ms of the microphone (sent as stereo frames) to one mono Opus packet."""

    def __init__(self, bitrate: int = VOICE_BITRATE) -> None:
        assert _OPUS is not None
        self._state = _created(_OPUS.opus_encoder_create, SAMPLE_RATE, 1, _APPLICATION_VOIP)
        self._ctl(_SET_BITRATE, bitrate)
        self._ctl(_SET_SIGNAL, _SIGNAL_VOICE)
        self._ctl(_SET_INBAND_FEC, 1)
        self._lossy = False
        self.set_expected_loss(0.0)
        self._pending = np.zeros(0, np.int16)
        self._samples = 0  # the RTP timestamp: samples sent so far
        self._packet = ctypes.create_string_buffer(MAX_PACKET_BYTES)

    def __del__(self) -> None:
        if _OPUS is not None and getattr(self, "_state", None):
            _OPUS.opus_encoder_destroy(self._state)

    def _ctl(self, request: int, value: int) -> None:
        assert _OPUS is not None
        if (error := _OPUS.opus_encoder_ctl(ctypes.c_void_p(self._state), request, ctypes.c_int(value))) != 0:
            raise OpusError(f"libopus refused setting {request}: error {error}")

    def set_expected_loss(self, fraction: float) -> None:
        """The share of packets the far end reports lost: Opus spends that much on coding each packet's sound
        again inside the next one. Nothing while the link has lost nothing (FEC's bits come out of the voice's);
        from its first loss on, never less than LOSS_FOR_FEC_PERCENT (a link that lost once will again, and the
        first losses of a burst come before any report of it)."""
        self._lossy = self._lossy or fraction > 0
        floor = LOSS_FOR_FEC_PERCENT if self._lossy else 0
        self._ctl(_SET_PACKET_LOSS_PERC, max(floor, min(50, round(100 * fraction))))

    def encode(self, frame: Frame, force_keyframe: bool = False) -> tuple[list[bytes], int | None]:
        assert isinstance(frame, AudioFrame) and _OPUS is not None
        interleaved = frame.to_ndarray().reshape(-1, len(frame.layout.channels))
        self._pending = np.concatenate((self._pending, interleaved[:, 0].astype(np.int16)))
        payloads, timestamp = [], None
        while self._pending.size >= FRAME_SAMPLES:
            block = np.ascontiguousarray(self._pending[:FRAME_SAMPLES])
            self._pending = self._pending[FRAME_SAMPLES:]
            size = _OPUS.opus_encode(self._state, block.ctypes.data, FRAME_SAMPLES, self._packet, MAX_PACKET_BYTES)
            if size < 0:
                log.warning("libopus could not code 20 ms of the microphone: error %d", size)
                continue
            if timestamp is None:
                timestamp = self._samples
            payloads.append(self._packet.raw[:size])
            self._samples += FRAME_SAMPLES
        return payloads, timestamp

    def pack(self, packet: Any) -> tuple[list[bytes], int]:
        raise NotImplementedError("the call sends the microphone, never packets coded elsewhere")
