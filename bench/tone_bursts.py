"""Tone bursts for the call bench's mouth-to-ear audio latency.

A burst of BURST_HZ starts every PERIOD_S and lasts BURST_S. Whoever speaks notes when each burst began
(wall clock); whoever listens finds where each burst begins in what it hears (`OnsetDetector`); `mouth_to_ear`
pairs the two. The visitor's side of the call speaks with `BurstMicrophone` and listens with `BurstEar`.
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Hashable

import numpy as np

from drivers.handset import BLOCK_SAMPLES, SAMPLE_RATE

BURST_HZ = 1000.0
BURST_S = 0.1
PERIOD_S = 1.0
PEAK = 0.25  # -12 dBFS, a voice's level
ONSET_LEVEL = 0.03 * 32768  # about -30 dBFS: well above a codec's noise, well below the burst
QUIET_BEFORE_S = 0.3  # a burst begins only after this much quiet; the burst's own dips are not onsets


def _burst() -> np.ndarray:
    t = np.arange(int(BURST_S * SAMPLE_RATE)) / SAMPLE_RATE
    return (32767 * PEAK * np.sin(2 * np.pi * BURST_HZ * t)).astype(np.int16)


def burst_train(seconds: float) -> np.ndarray:
    """`seconds` of sound with a burst at the start of every period."""
    period = int(PERIOD_S * SAMPLE_RATE)
    one = np.zeros(period, np.int16)
    one[: int(BURST_S * SAMPLE_RATE)] = _burst()
    return np.tile(one, max(1, round(seconds / PERIOD_S)))


class OnsetDetector:
    """Finds where each burst begins in a stream of samples that arrive in pieces, each with the wall-clock
    time just after its last sample."""

    def __init__(self) -> None:
        self._quiet = 0  # quiet samples since the last loud one
        self.onsets_s: list[float] = []

    def feed(self, samples: np.ndarray, end_s: float) -> None:
        loud = np.flatnonzero(np.abs(samples.astype(np.int32)) > ONSET_LEVEL)
        if loud.size == 0:
            self._quiet += samples.size
            return
        quiet_before = np.diff(loud, prepend=-1) - 1
        quiet_before[0] += self._quiet
        for index in loud[quiet_before >= QUIET_BEFORE_S * SAMPLE_RATE]:
            self.onsets_s.append(end_s - (samples.size - index) / SAMPLE_RATE)
        self._quiet = samples.size - 1 - int(loud[-1])


def mouth_to_ear(spoken_s: list[float], heard_s: list[float], start: float, end: float) -> list[int]:
    """For each burst heard between `start` and `end`: ms since the latest burst spoken before it (within half
    a period); bursts heard with none spoken that recently are left out."""
    latencies = []
    for heard in heard_s:
        if not start <= heard <= end:
            continue
        before = bisect.bisect_right(spoken_s, heard) - 1
        if before >= 0 and heard - spoken_s[before] < PERIOD_S / 2:
            latencies.append(round(1000 * (heard - spoken_s[before])))
    return latencies


class BurstMicrophone:
    """A microphone that speaks a burst every period, and notes when each began."""

    def __init__(self) -> None:
        self._blocks = 0
        self._burst = _burst()
        self.spoken_s: list[float] = []

    def read_block(self) -> np.ndarray:
        per_period = round(PERIOD_S * SAMPLE_RATE / BLOCK_SAMPLES)
        offset = (self._blocks % per_period) * BLOCK_SAMPLES
        self._blocks += 1
        if offset == 0:
            # A real microphone's block holds the sound of the 20 ms before it is read.
            self.spoken_s.append(time.time() - BLOCK_SAMPLES / SAMPLE_RATE)
        block = np.zeros(BLOCK_SAMPLES, np.int16)
        piece = self._burst[offset : offset + BLOCK_SAMPLES]
        block[: piece.size] = piece
        return block


class BurstEar:
    """An earpiece that listens for bursts as the call's audio arrives."""

    def __init__(self) -> None:
        self.detector = OnsetDetector()

    def play(self, source: Hashable, samples: np.ndarray) -> None:
        # As an earpiece that plays each block the moment it arrives: its last sample is heard a block later.
        self.detector.feed(samples, time.time() + samples.size / SAMPLE_RATE)

    def set_volume(self, gain: float) -> None:
        pass  # a measuring ear: what arrives is what it measures

    @property
    def onsets_s(self) -> list[float]:
        return self.detector.onsets_s
