"""Writes a frame counter and a send time into a frame's pixels, and reads them back after a codec.

That is how end-to-end latency and stuck video are measured: the stamp survives VP8 because each bit
is a large black or white block. The blocks' size follows the picture's width, so a stamp still reads after the
sender scaled its picture down for a thin link.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

BITS = 32
ROWS = 3  # counter, send time, check word
_CHECK_KEY = 0x5A3C96E1


@dataclass(frozen=True)
class FrameStamp:
    counter: int
    sent_ms: int  # wall clock in milliseconds, modulo 2**32


def now_ms() -> int:
    return (time.time_ns() // 1_000_000) % (1 << 32)


def age_ms(sent_ms: int, at_ms: int | None = None) -> int:
    """Milliseconds from `sent_ms` to `at_ms` (default: now), across the 2**32 wrap."""
    return ((now_ms() if at_ms is None else at_ms) - sent_ms) % (1 << 32)


def row_height(width: int) -> int:
    """Each of the stamp's rows, in pixels, for a picture this wide (16 at 640)."""
    return max(8, width // 40)


def _words(stamp: FrameStamp) -> tuple[int, int, int]:
    counter = stamp.counter % (1 << 32)
    return counter, stamp.sent_ms, counter ^ stamp.sent_ms ^ _CHECK_KEY


def write_stamp(image: np.ndarray, stamp: FrameStamp) -> None:
    """Paints the stamp into the top rows of an RGB or BGR image (height x width x 3, uint8), in place."""
    block, tall = image.shape[1] // BITS, row_height(image.shape[1])
    for row, word in enumerate(_words(stamp)):
        top = row * tall
        for bit in range(BITS):
            value = 255 if (word >> (BITS - 1 - bit)) & 1 else 0
            image[top : top + tall, bit * block : (bit + 1) * block] = value


def read_stamp(image: np.ndarray) -> FrameStamp | None:
    """Reads the stamp back from an image (3-channel or grey); None when it is absent or damaged."""
    height, width = image.shape[:2]
    block, tall = width // BITS, row_height(width)
    if height < ROWS * tall or block < 4:
        return None
    # The middle of each bit's block (away from the codec's blur at its edges), averaged.
    margin = tall // 4
    rows = image[: ROWS * tall].reshape(ROWS, tall, width, -1)[:, margin : tall - margin]
    cells = rows[:, :, : BITS * block].reshape(ROWS, tall - 2 * margin, BITS, block, -1)
    bits = cells[:, :, :, block // 4 : block - block // 4].mean(axis=(1, 3, 4)) > 127
    counter, sent_ms, check = (int("".join("1" if bit else "0" for bit in row), 2) for row in bits)
    if counter ^ sent_ms ^ _CHECK_KEY != check:
        return None
    return FrameStamp(counter, sent_ms)


class StampLog:
    """What a receiver saw: each decoded stamp's counter and age, and when every frame came, stamped or not (a
    codec can blur a stamp beyond reading). Thread-safe enough for one writer."""

    def __init__(self) -> None:
        self.counters: list[int] = []
        self.latencies_ms: list[int] = []
        self.arrivals_s: list[float] = []  # wall clock, as the stamps' send times
        self.decoded_s: list[float] = []  # every frame's arrival, including those without a readable stamp
        self.unreadable = 0

    def record(self, image: np.ndarray) -> None:
        arrived = time.time()
        self.decoded_s.append(arrived)
        stamp = read_stamp(image)
        if stamp is None:
            self.unreadable += 1
            return
        self.counters.append(stamp.counter)
        self.latencies_ms.append(age_ms(stamp.sent_ms, int(arrived * 1000) % (1 << 32)))
        self.arrivals_s.append(arrived)

    def frames_since(self, start: int) -> list[int]:
        return self.counters[start:]
