"""Measures sound: level in dBFS and the dominant frequency of a block of samples.

Used by the simulated earpiece (what the person would hear) and by the technician's level meter.
"""

from __future__ import annotations

import math
import threading
from collections import deque

import numpy as np


def level_dbfs(samples: np.ndarray) -> float:
    if samples.size == 0:
        return -math.inf
    rms = float(np.sqrt(np.mean((samples.astype(np.float64) / 32768.0) ** 2)))
    return 20 * math.log10(rms) if rms > 0 else -math.inf


def dominant_frequency(samples: np.ndarray, sample_rate: int) -> float:
    if samples.size < 2:
        return 0.0
    windowed = samples.astype(np.float64) * np.hanning(samples.size)
    spectrum = np.abs(np.fft.rfft(windowed))
    spectrum[0] = 0.0
    return float(np.argmax(spectrum) * sample_rate / samples.size)


class LevelMeter:
    """The level of the most recent sound (about 100 ms), for the technician's meter and the pre-visit check."""

    def __init__(self, keep_blocks: int = 5) -> None:
        self._blocks: deque[np.ndarray] = deque(maxlen=keep_blocks)
        self._lock = threading.Lock()

    def add(self, samples: np.ndarray) -> None:
        with self._lock:
            self._blocks.append(samples.copy())

    def level_dbfs(self) -> float:
        with self._lock:
            recent = np.concatenate(list(self._blocks)) if self._blocks else np.zeros(0, np.int16)
        return level_dbfs(recent)
