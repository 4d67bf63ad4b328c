"""Tone bursts for the call bench's mouth-to-ear audio latency.

A burst of BURST_HZ starts every PERIOD_S and lasts BURST_S. Whoever speaks notes when each burst began
(wall clock); whoever listens finds where each burst begins in what it hears, and whether it was heard whole
(`OnsetDetector`): a cut in the sound (a lost packet played as silence) shows as a gap inside a burst, a good
concealment does not. `mouth_to_ear` pairs the two; `bursts_heard` counts what was heard of what was spoken.
The visitor's side of the call speaks with `BurstMicrophone` and listens with `BurstEar`.
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Hashable
from dataclasses import dataclass

import numpy as np

from drivers.handset import BLOCK_SAMPLES, SAMPLE_RATE

BURST_HZ = 1000.0
BURST_S = 0.1
PERIOD_S = 1.0
PEAK = 0.25  # -12 dBFS, a voice's level
ONSET_LEVEL = 0.03 * 32768  # about -30 dBFS: well above a codec's noise, well below the burst
QUIET_BEFORE_S = 0.3  # a burst begins only after this much quiet; the burst's own dips are not onsets
GAP_S = 0.005  # quiet this long inside a burst is a gap heard (a 1 kHz tone's own dips last 0.03 ms)
WHOLE_S = 0.09  # a burst heard at least this long, with no gap, was heard whole


def _burst() -> np.ndarray:
    t = np.arange(int(BURST_S * SAMPLE_RATE)) / SAMPLE_RATE
    return (32767 * PEAK * np.sin(2 * np.pi * BURST_HZ * t)).astype(np.int16)


def burst_train(seconds: float) -> np.ndarray:
    """`seconds` of sound with a burst at the start of every period."""
    period = int(PERIOD_S * SAMPLE_RATE)
    one = np.zeros(period, np.int16)
    one[: int(BURST_S * SAMPLE_RATE)] = _burst()
    return np.tile(one, max(1, round(seconds / PERIOD_S)))


@dataclass
class HeardBurst:
    onset_s: float  # wall clock
    span_s: float = 0.0  # from its first loud sample to its last
    gaps: int = 0  # stretches of quiet (GAP_S or more) inside it

    @property
    def whole(self) -> bool:
        return self.span_s >= WHOLE_S and not self.gaps


class OnsetDetector:
    """Finds where each burst begins in a stream of samples that arrive in pieces, each with the wall-clock
    time just after its last sample, and how each burst sounded."""

    def __init__(self) -> None:
        self._quiet = 0  # quiet samples since the last loud one
        self._fed = 0  # samples so far
        self._first_loud = 0  # of the burst being heard, counted in samples fed
        self._last_loud = 0
        self.bursts: list[HeardBurst] = []

    @property
    def onsets_s(self) -> list[float]:
        return [burst.onset_s for burst in self.bursts]

    def feed(self, samples: np.ndarray, end_s: float) -> None:
        loud = np.flatnonzero(np.abs(samples.astype(np.int32)) > ONSET_LEVEL)
        if loud.size:
            quiet_before = np.diff(loud, prepend=-1) - 1
            quiet_before[0] += self._quiet
            begins = quiet_before >= QUIET_BEFORE_S * SAMPLE_RATE
            gapped = (quiet_before >= GAP_S * SAMPLE_RATE) & ~begins
            for index in np.flatnonzero(begins | gapped):
                if begins[index]:
                    self._last_loud = self._fed + int(loud[index - 1]) if index else self._last_loud
                    self._close()
                    self._first_loud = self._fed + int(loud[index])
                    self.bursts.append(HeardBurst(end_s - (samples.size - loud[index]) / SAMPLE_RATE))
                elif self.bursts:
                    self.bursts[-1].gaps += 1
            self._last_loud = self._fed + int(loud[-1])
            self._close()
            self._quiet = samples.size - 1 - int(loud[-1])
        else:
            self._quiet += samples.size
        self._fed += samples.size

    def _close(self) -> None:
        if self.bursts:
            self.bursts[-1].span_s = (self._last_loud - self._first_loud + 1) / SAMPLE_RATE


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


def bursts_heard(spoken_s: list[float], heard: list[HeardBurst], start: float, end: float) -> tuple[int, int, int]:
    """Of the bursts spoken between `start` and half a period before `end`: how many, how many were heard (within
    half a period), and how many of those were heard with a gap or cut short."""
    onsets = [burst.onset_s for burst in heard]
    spoken = [at for at in spoken_s if start <= at <= end - PERIOD_S / 2]
    found = [bisect.bisect_right(onsets, at) for at in spoken]
    reached = [
        heard[i] for at, i in zip(spoken, found, strict=True) if i < len(heard) and onsets[i] - at < PERIOD_S / 2
    ]
    return len(spoken), len(reached), sum(not burst.whole for burst in reached)


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

    @property
    def bursts(self) -> list[HeardBurst]:
        return self.detector.bursts
