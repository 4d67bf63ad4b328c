"""Stretching and shrinking a voice in time for the earpiece: a period is found, repeated and left out where the
sound repeats itself, never in the middle of something that does not."""

from __future__ import annotations

import numpy as np
import pytest

from drivers.handset import SAMPLE_RATE
from drivers.time_stretch import FADED_S, HELD_S, Continuation, pitch_period, without_one_period


def _voiced(hz: float, seconds: float) -> np.ndarray:
    """A voice-like vowel: a fundamental and its harmonics, at about -15 dBFS."""
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    wave = sum(np.sin(2 * np.pi * hz * k * t) / k for k in range(1, 6))
    return (4000 * wave).astype(np.float32)


@pytest.mark.parametrize("hz", [100.0, 150.0, 240.0])
def test_the_pitch_period_of_a_voice_is_found(hz):
    period = pitch_period(_voiced(hz, 0.05))
    cycles = period * hz / SAMPLE_RATE
    assert cycles == pytest.approx(round(cycles), abs=0.02), "a whole number of the voice's periods"


def test_a_period_is_left_out_of_a_voice_without_a_step_and_not_out_of_noise():
    voice = _voiced(150.0, 0.1)
    shorter = without_one_period(voice)
    assert shorter is not None and voice.size - shorter.size == pitch_period(voice)
    assert np.max(np.abs(np.diff(shorter))) <= np.max(np.abs(np.diff(voice))) * 1.05, "no click where it was cut"
    noise = np.random.default_rng(3).standard_normal(voice.size).astype(np.float32) * 4000
    assert without_one_period(noise) is None, "loud noise does not repeat: leaving a piece out would be heard"
    assert without_one_period(noise / 1000) is not None, "quiet may go anywhere"


def test_a_voice_is_carried_on_in_its_own_pitch_then_faded_to_silence():
    voice = _voiced(150.0, 0.2)
    heard, rest = voice[: SAMPLE_RATE // 10], voice[SAMPLE_RATE // 10 :]
    carried = Continuation(heard)
    held = carried.next(round(HELD_S * SAMPLE_RATE))
    assert np.max(np.abs(held - rest[: held.size])) < 0.05 * np.max(np.abs(voice)), "as the voice itself went on"
    fading = carried.next(round((FADED_S - HELD_S) * SAMPLE_RATE))
    assert np.max(np.abs(fading[-100:])) < 0.02 * np.max(np.abs(voice)) and carried.faded
    assert not np.any(carried.next(960)), "silence after"
