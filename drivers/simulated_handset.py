"""SimulatedHandset: a tone (or silence) for a microphone, an earpiece that measures what it hears,
and a hook switch that a test, the demo or the technician can lift and hang up.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Hashable

import numpy as np

from drivers.audio_analysis import dominant_frequency, level_dbfs
from drivers.handset import BLOCK_SAMPLES, SAMPLE_RATE, HookListener


class SimulatedMicrophone:
    def __init__(self, tone_hz: float | None = 440.0, level_dbfs: float = -12.0) -> None:
        self.tone_hz = tone_hz
        self._amplitude = 32767 * 10 ** (level_dbfs / 20)
        self._sample = 0

    def read_block(self) -> np.ndarray:
        if self.tone_hz is None:
            return np.zeros(BLOCK_SAMPLES, dtype=np.int16)
        t = (self._sample + np.arange(BLOCK_SAMPLES)) / SAMPLE_RATE
        self._sample += BLOCK_SAMPLES
        return (self._amplitude * np.sin(2 * np.pi * self.tone_hz * t)).astype(np.int16)


class SimulatedEarpiece:
    """Keeps the last seconds of what was played, so a test can ask what a person would have heard."""

    def __init__(self, keep_seconds: float = 2.0) -> None:
        self._blocks: deque[np.ndarray] = deque(maxlen=int(keep_seconds * SAMPLE_RATE / BLOCK_SAMPLES))
        self._lock = threading.Lock()
        self.samples_played = 0
        self.gain = 1.0

    def play(self, source: Hashable, samples: np.ndarray) -> None:
        # A measuring device, not a speaker: it keeps what arrives, without a jitter buffer or mixing.
        louder = np.clip(samples.astype(np.float32) * self.gain, -32768, 32767).astype(np.int16)
        with self._lock:
            self._blocks.append(louder)
            self.samples_played += samples.size

    def set_volume(self, gain: float) -> None:
        self.gain = gain

    def heard(self) -> np.ndarray:
        with self._lock:
            return np.concatenate(list(self._blocks)) if self._blocks else np.zeros(0, np.int16)

    def level_dbfs(self) -> float:
        return level_dbfs(self.heard())

    def dominant_frequency(self) -> float:
        return dominant_frequency(self.heard(), SAMPLE_RATE)


class SimulatedHookSwitch:
    def __init__(self) -> None:
        self._lifted = False
        self._listeners: list[HookListener] = []

    @property
    def lifted(self) -> bool:
        return self._lifted

    def add_listener(self, listener: HookListener) -> None:
        self._listeners.append(listener)

    def lift(self) -> None:
        self._set(True)

    def hang_up(self) -> None:
        self._set(False)

    def _set(self, lifted: bool) -> None:
        if lifted != self._lifted:
            self._lifted = lifted
            for listener in list(self._listeners):
                listener(lifted)


class SimulatedHandset:
    def __init__(self, tone_hz: float | None = 440.0) -> None:
        self.microphone = SimulatedMicrophone(tone_hz)
        self.earpiece = SimulatedEarpiece()
        self.hook = SimulatedHookSwitch()
