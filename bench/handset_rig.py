"""The handset's end of the call bench's mouth-to-ear audio, on PulseAudio's null devices: tone bursts played
into the fake microphone (which the subject hears as its microphone), and the bursts the subject plays to its
speaker. Both are timed where the subject meets them, on the sinks' monitors.
"""

from __future__ import annotations

import math
import os
import threading
import time

import numpy as np

from bench.tone_bursts import HeardBurst, OnsetDetector, burst_train
from drivers.handset import SAMPLE_RATE
from tests.pulse_server import PulseServer

RECORD_LATENCY_MS = 5
STRETCH_GAP_S = 0.05
MARGIN_S = 1.0  # bursts go on a little past the measured seconds, so the last ones are heard


class MonitorOnsets:
    """Records a sink's monitor and finds where each burst begins.

    A null sink plays on the system clock, so sample n of a stretch of recording was played at the stretch's
    start + n / rate. The start is the earliest that any read allows: a read that came late, because this
    process was busy, only makes its own estimate later, so the times do not carry this process's scheduling
    delays. When nothing plays, the monitor may send nothing; a read much later than its samples account for
    begins a new stretch.
    """

    def __init__(self, pulse: PulseServer, sink: str) -> None:
        self._process = pulse.recorder(sink, RECORD_LATENCY_MS)
        self._stretches: list[tuple[OnsetDetector, float]] = []  # each on its own clock, and its start
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._read, name=f"record-{sink}", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        assert self._process.stdout is not None
        fd = self._process.stdout.fileno()
        samples, pending = 0, b""
        while chunk := os.read(fd, 8192):
            now = time.time()
            data, pending = pending + chunk, b""
            if len(data) % 2:
                data, pending = data[:-1], data[-1:]
            block = np.frombuffer(data, np.int16)
            with self._lock:
                start = self._stretches[-1][1] if self._stretches else -math.inf
                if now - (samples + block.size) / SAMPLE_RATE - start > STRETCH_GAP_S:  # nothing came meanwhile
                    self._stretches.append((OnsetDetector(), math.inf))
                    samples = 0
                samples += block.size
                detector, start = self._stretches[-1]
                self._stretches[-1] = (detector, min(start, now - samples / SAMPLE_RATE))
                detector.feed(block, samples / SAMPLE_RATE)

    @property
    def onsets_s(self) -> list[float]:
        """When each burst began, wall clock."""
        return [burst.onset_s for burst in self.bursts]

    @property
    def bursts(self) -> list[HeardBurst]:
        """Each burst heard, its onset on the wall clock."""
        with self._lock:
            return [
                HeardBurst(start + burst.onset_s, burst.span_s, burst.gaps)
                for detector, start in self._stretches
                for burst in detector.bursts
            ]

    def stop(self) -> None:
        self._process.kill()
        self._process.wait()
        self._thread.join(timeout=5)


class HandsetRig:
    """Speaks bursts into the subject's microphone for `seconds` and listens to its speaker meanwhile."""

    def __init__(self, pulse: PulseServer, seconds: float) -> None:
        self._pulse = pulse
        self.mouth = MonitorOnsets(pulse, "fake_mic")
        self.ear = MonitorOnsets(pulse, "speaker")
        pulse.play_into_microphone(burst_train(seconds + MARGIN_S))

    def stop(self) -> None:
        self._pulse.stop_players()
        self.mouth.stop()
        self.ear.stop()
