"""Stretching and shrinking a voice in time without a cut, for the earpiece's playout buffer: a late packet is
covered by carrying the last pitch period on (`Continuation`), fading out if the wait goes on, and delay that
builds up is taken out one pitch period at a time, where the sound repeats itself (`without_one_period`).

It is the time-domain method of WSOLA and of WebRTC's own playout (its "expand" and "accelerate"): a voice and a
tone are nearly periodic over a few milliseconds, so one period can be repeated or left out with a short cross-fade
and nothing is heard; silence can be shortened anywhere. Samples are float32 at SAMPLE_RATE.
"""

from __future__ import annotations

import numpy as np

from drivers.handset import SAMPLE_RATE

SHORTEST_PERIOD = SAMPLE_RATE // 400  # 2.5 ms: a high voice's pitch
LONGEST_PERIOD = SAMPLE_RATE // 70  # 14 ms: a low one's
WINDOW = SAMPLE_RATE // 200  # 5 ms compared at each trial period
PERIODIC = 0.9  # normalized correlation above which a stretch repeats itself closely enough to cut a period out
QUIET_RMS = 100.0  # about -50 dBFS: below it, any stretch may go
HELD_S = 0.04  # a continuation plays at full level this long, then fades out
FADED_S = 0.12  # and is silent from here on: a longer wait is a gap, not something to paper over


def _best_period(samples: np.ndarray, start: int) -> tuple[int, float]:
    """The lag (in samples) at which the WINDOW from `start` best matches the WINDOW `lag` before it, and how well
    (normalized correlation, 1 for identical)."""
    window = samples[start : start + WINDOW]
    before = samples[start - LONGEST_PERIOD : start + WINDOW - SHORTEST_PERIOD]
    # before[i : i + WINDOW] is the window `LONGEST_PERIOD - i` samples earlier
    products = np.correlate(before, window, mode="valid")
    squares = np.convolve(before * before, np.ones(WINDOW, np.float32), mode="valid")
    energy = float(window @ window)
    scores = products / np.sqrt(np.maximum(squares * energy, 1e-9))
    best = int(np.argmax(scores))
    return LONGEST_PERIOD - best, float(scores[best])


def pitch_period(history: np.ndarray) -> int:
    """The period the end of `history` repeats with (SHORTEST_PERIOD to LONGEST_PERIOD samples); needs at least
    LONGEST_PERIOD + WINDOW samples, else it says LONGEST_PERIOD."""
    if history.size < LONGEST_PERIOD + WINDOW:
        return LONGEST_PERIOD
    return _best_period(history, history.size - WINDOW)[0]


def without_one_period(samples: np.ndarray) -> np.ndarray | None:
    """`samples` one pitch period shorter, the period taken out near their start with a cross-fade; None when the
    start neither repeats itself nor is quiet (taking a period out there would be heard: try again later)."""
    if samples.size < 2 * LONGEST_PERIOD + WINDOW:
        return None
    period, score = _best_period(samples, LONGEST_PERIOD)
    quiet = float(np.sqrt(np.mean(samples[: LONGEST_PERIOD + WINDOW] ** 2))) < QUIET_RMS
    if score < PERIODIC and not quiet:
        return None
    # The period ending where the window starts is faded into the one after it, and the first is left out.
    at = LONGEST_PERIOD - period
    ramp = np.linspace(0.0, 1.0, period, endpoint=False, dtype=np.float32)
    blended = samples[at : at + period] * (1 - ramp) + samples[at + period : at + 2 * period] * ramp
    return np.concatenate((samples[:at], blended, samples[at + 2 * period :]))


class Continuation:
    """What follows `history` while nothing new has come: its last pitch period again and again, at full level for
    HELD_S and then fading to silence by FADED_S."""

    def __init__(self, history: np.ndarray) -> None:
        period = pitch_period(history)
        self._cycle = history[-period:].astype(np.float32) if history.size >= period else np.zeros(1, np.float32)
        self._made = 0

    @property
    def made_s(self) -> float:
        return self._made / SAMPLE_RATE

    @property
    def faded(self) -> bool:
        return self._made >= FADED_S * SAMPLE_RATE

    def next(self, count: int) -> np.ndarray:
        at = self._made + np.arange(count)
        held, faded = HELD_S * SAMPLE_RATE, FADED_S * SAMPLE_RATE
        gain = np.clip((faded - at) / (faded - held), 0.0, 1.0).astype(np.float32)
        self._made += count
        return self._cycle[at % self._cycle.size] * gain
