"""EarpiecePlayer: plays prepared sounds (test tones, chimes) into an earpiece as one source, in 20 ms blocks
at the pace of real time, one after another on one thread; and `sine`, the faded notes they are made of.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Hashable

import numpy as np

from drivers.handset import BLOCK_SAMPLES, SAMPLE_RATE, Earpiece

log = logging.getLogger(__name__)


def _fade(samples: int) -> np.ndarray:
    """A raised-cosine ramp from 0 towards 1: no click, and softer than a straight line."""
    return 0.5 - 0.5 * np.cos(np.pi * np.arange(samples) / samples) if samples else np.zeros(0)


def sine(frequency_hz: float, peak_dbfs: float, seconds: float, fade_in_s: float, fade_out_s: float) -> np.ndarray:
    """A sine note as int16 samples at SAMPLE_RATE, faded in and out so the earpiece does not click."""
    count = round(seconds * SAMPLE_RATE)
    t = np.arange(count) / SAMPLE_RATE
    wave = 32767 * 10 ** (peak_dbfs / 20) * np.sin(2 * np.pi * frequency_hz * t)
    rise = min(round(fade_in_s * SAMPLE_RATE), count // 2)
    fall = min(round(fade_out_s * SAMPLE_RATE), count // 2)
    wave[:rise] *= _fade(rise)
    wave[count - fall :] *= _fade(fall)[::-1]
    return wave.astype(np.int16)


class EarpiecePlayer:
    """Plays each sound after the one before (with `pause_s` of silence between), never blocking the caller.

    At most `queue_limit` sounds wait; one more drops the oldest waiting (the newest is the news). The thread
    runs only while there is something to play, so an idle player holds no thread and needs no closing.
    """

    def __init__(
        self, earpiece: Earpiece, source: Hashable, name: str, queue_limit: int = 3, pause_s: float = 0.0
    ) -> None:
        self._earpiece = earpiece
        self._source = source
        self._name = name
        self._pause_s = pause_s
        self._queue: deque[np.ndarray] = deque(maxlen=queue_limit)
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._interrupt = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def playing(self) -> bool:
        """True while a sound plays or waits (and for the pause after the last one)."""
        with self._lock:
            return self._thread is not None

    def play(self, samples: np.ndarray) -> None:
        """Queues mono int16 samples at SAMPLE_RATE to play after what plays and waits now."""
        with self._lock:
            if len(self._queue) == self._queue.maxlen:
                log.info("%s: %d sounds waiting already, the oldest is dropped", self._name, len(self._queue))
            self._queue.append(samples)
            if self._thread is None:
                self._interrupt = threading.Event()
                self._thread = threading.Thread(target=self._run, args=(self._interrupt,), name=self._name, daemon=True)
                self._thread.start()

    def stop(self) -> None:
        """Silences the sound playing now and forgets those waiting; returns once nothing more reaches the earpiece."""
        with self._lock:
            self._queue.clear()
            self._interrupt.set()
            thread, self._thread = self._thread, None
            self._idle.notify_all()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=1)

    def wait(self, timeout_s: float) -> bool:
        """True once everything asked for has played (or was stopped)."""
        with self._idle:
            return self._idle.wait_for(lambda: self._thread is None, timeout_s)

    def _next(self, interrupt: threading.Event) -> np.ndarray | None:
        """The next sound to play; None when stopped, or when there is none (the thread then ends, in the same
        locked step, so a sound queued just after starts a new thread rather than waiting for this one)."""
        with self._lock:
            if interrupt.is_set():
                return None
            if self._queue:
                return self._queue.popleft()
            self._thread = None
            self._idle.notify_all()
            return None

    def _run(self, interrupt: threading.Event) -> None:
        try:
            due = time.monotonic()
            while (samples := self._next(interrupt)) is not None:
                due = max(due, time.monotonic())
                for first in range(0, samples.size, BLOCK_SAMPLES):
                    if interrupt.wait(max(0.0, due - time.monotonic())):
                        return
                    block = samples[first : first + BLOCK_SAMPLES]
                    if block.size < BLOCK_SAMPLES:  # every block a whole 20 ms, the last one ended with silence
                        block = np.concatenate((block, np.zeros(BLOCK_SAMPLES - block.size, np.int16)))
                    self._earpiece.play(self._source, block)
                    due += BLOCK_SAMPLES / SAMPLE_RATE
                # Wait out the last block and the pause, so the next sound (even one asked for later) follows
                # at the pace of real time rather than running into this one.
                due += self._pause_s
                if interrupt.wait(max(0.0, due - time.monotonic())):
                    return
        finally:
            with self._lock:
                if self._thread is threading.current_thread():  # ended by a fault: let the next play start anew
                    self._thread = None
                    self._idle.notify_all()
