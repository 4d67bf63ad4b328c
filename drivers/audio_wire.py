"""The messages between the terminal and its handset audio process: a kind byte, a length, a payload.

Terminal to process: PLAY (a visitor's samples), VOLUME (the earpiece's gain, JSON).
Process to terminal: READY (the devices, JSON), ERROR (a sentence), MIC (one block from the microphone),
STATS (the playout's figures, and how the microphone's sound is treated, JSON).
"""

from __future__ import annotations

import json
import struct
from enum import StrEnum
from typing import Any, BinaryIO

import numpy as np

READY, ERROR, MIC, STATS, PLAY, VOLUME = b"R", b"E", b"M", b"S", b"P", b"V"
MAX_GAIN = 4.0
RAW_MICROPHONE = "--raw-microphone"  # the process's option: send the microphone's sound as it comes


class Treatment(StrEnum):
    """What the process does to the microphone's sound before sending it (drivers.voice_cleaner)."""

    AS_SPOKEN = "as spoken"  # a quiet room and a voice at a handset's usual level
    SUPPRESSED = "noise suppressed"  # a noisy room
    RAISED = "raised"  # a soft voice: noise suppression and gain


_HEADER = struct.Struct("<cI")
_SOURCE = struct.Struct("<I")
MAX_PAYLOAD = 1 << 20  # far above any real message: a longer one means the stream is corrupt


class WireError(Exception):
    """The other side sent something that is not a message."""


class AudioDeviceMissing(RuntimeError):
    """No PortAudio device matches the configured name (or more than one does), or it would not open."""


def write_message(stream: BinaryIO, kind: bytes, payload: bytes) -> None:
    stream.write(_HEADER.pack(kind, len(payload)) + payload)
    stream.flush()


def read_message(stream: BinaryIO) -> tuple[bytes, bytes] | None:
    """The next message, or None when the other side has closed the pipe."""
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        return None
    kind, length = _HEADER.unpack(header)
    if length > MAX_PAYLOAD:
        raise WireError(f"a {length}-byte message")
    payload = stream.read(length)
    if len(payload) < length:
        return None
    return kind, payload


def json_payload(value: Any) -> bytes:
    return json.dumps(value).encode()


def play_payload(source: int, samples: np.ndarray) -> bytes:
    return _SOURCE.pack(source) + samples.astype("<i2").tobytes()


def parse_volume(payload: bytes) -> float:
    try:
        gain = float(json.loads(payload))
    except (ValueError, TypeError) as exc:
        raise WireError("a malformed VOLUME message") from exc
    if not 0.0 <= gain <= MAX_GAIN:
        raise WireError("a VOLUME out of range")
    return gain


def parse_play(payload: bytes) -> tuple[int, np.ndarray]:
    if len(payload) < _SOURCE.size or (len(payload) - _SOURCE.size) % 2:
        raise WireError("a malformed PLAY message")
    (source,) = _SOURCE.unpack_from(payload)
    return source, np.frombuffer(payload, "<i2", offset=_SOURCE.size).astype(np.int16)
