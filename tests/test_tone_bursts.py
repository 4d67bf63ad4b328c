"""The call bench's tone bursts: where each begins is found to the sample, however the sound is cut into
pieces, and each burst heard is paired with the one spoken just before it; on real PulseAudio, bursts are
timed on the sink's monitor."""

from __future__ import annotations

import time

import numpy as np
import pytest

from bench.handset_rig import HandsetRig
from bench.tone_bursts import (
    PERIOD_S,
    BurstMicrophone,
    HeardBurst,
    OnsetDetector,
    burst_train,
    bursts_heard,
    mouth_to_ear,
)
from drivers.handset import BLOCK_SAMPLES, SAMPLE_RATE
from tests.waiting import wait_for


@pytest.mark.parametrize("piece", [1, 441, BLOCK_SAMPLES, 48_000])
def test_each_bursts_onset_is_found_at_its_first_sample_however_the_sound_arrives(piece):
    sound = np.concatenate([np.zeros(20_345, np.int16), burst_train(3.0)])
    detector = OnsetDetector()
    for start in range(0, sound.size, piece):
        chunk = sound[start : start + piece]
        detector.feed(chunk, (start + chunk.size) / SAMPLE_RATE)  # the time just after its last sample
    expected = [(20_345 + n * PERIOD_S * SAMPLE_RATE) / SAMPLE_RATE for n in range(3)]
    assert detector.onsets_s == pytest.approx(expected, abs=2 / SAMPLE_RATE), (
        "within a sample or two (a sine starts at 0)"
    )


def test_noise_and_the_bursts_own_quiet_crossings_are_not_onsets():
    rng = np.random.default_rng(1)
    noise = (rng.standard_normal(SAMPLE_RATE) * 100).astype(np.int16)  # about -50 dBFS
    detector = OnsetDetector()
    detector.feed(noise, 1.0)
    assert detector.onsets_s == []
    detector.feed(burst_train(1.0), 2.0)
    assert len(detector.onsets_s) == 1, "one burst, one onset, though its sine crosses zero 200 times"


@pytest.mark.parametrize("piece", [7, BLOCK_SAMPLES, 48_000])
def test_a_burst_with_a_cut_in_it_or_cut_short_is_heard_broken_and_a_whole_one_whole(piece):
    sound = np.concatenate([np.zeros(SAMPLE_RATE, np.int16), burst_train(3.0)])  # quiet before the first
    second, third = 2 * SAMPLE_RATE, 3 * SAMPLE_RATE
    sound[second + 2400 : second + 2400 + 480] = 0  # 10 ms of silence 50 ms into the second burst
    sound[third + 2400 : third + SAMPLE_RATE // 10] = 0  # the third one stops after 50 ms
    detector = OnsetDetector()
    for start in range(0, sound.size, piece):
        detector.feed(sound[start : start + piece], (start + piece) / SAMPLE_RATE)
    assert [burst.whole for burst in detector.bursts] == [True, False, False]
    assert [burst.gaps for burst in detector.bursts] == [0, 1, 0]
    assert detector.bursts[0].span_s == pytest.approx(0.1, abs=0.001)
    assert detector.bursts[2].span_s == pytest.approx(0.05, abs=0.001)


def test_of_the_bursts_spoken_those_heard_and_those_heard_broken_are_counted():
    spoken = [10.0, 11.0, 12.0, 13.0, 14.0]
    heard = [HeardBurst(10.1, 0.1), HeardBurst(11.1, 0.1, gaps=2), HeardBurst(13.1, 0.04), HeardBurst(14.1, 0.1)]
    assert bursts_heard(spoken, heard, start=10.0, end=14.0) == (4, 3, 2), "the one at 14 s is past the end"


def test_a_burst_heard_is_paired_with_the_one_spoken_just_before_it():
    spoken = [10.0, 11.0, 12.0, 13.0]
    heard = [9.9, 10.105, 11.098, 12.7, 13.101, 14.2]
    assert mouth_to_ear(spoken, heard, start=10.0, end=14.0) == [105, 98, 101], "a burst missed is left out"
    assert mouth_to_ear(spoken, heard, start=11.0, end=13.0) == [98], "only those heard in the measured time"


def test_the_visitors_microphone_speaks_a_burst_a_second_and_notes_when():
    microphone = BurstMicrophone()
    sound = np.concatenate([microphone.read_block() for _ in range(150)])  # 3 s
    detector = OnsetDetector()
    detector.feed(np.concatenate([np.zeros(SAMPLE_RATE, np.int16), sound]), 4.0)
    assert len(microphone.spoken_s) == 3 and len(detector.onsets_s) == 3
    assert np.diff(detector.onsets_s) == pytest.approx([PERIOD_S, PERIOD_S])


@pytest.mark.audio
def test_bursts_played_into_pulseaudio_are_timed_on_the_sinks_monitor_a_period_apart(pulse):
    started = time.time()
    rig = HandsetRig(pulse, 8.0)
    try:
        wait_for(lambda: len(rig.mouth.onsets_s) >= 3, 15, "three bursts on the fake microphone's monitor")
    finally:
        rig.stop()
    onsets = rig.mouth.onsets_s
    assert started < onsets[0] < onsets[-1] < time.time()
    assert np.diff(onsets) == pytest.approx([PERIOD_S] * (len(onsets) - 1), abs=0.002)
    assert rig.ear.onsets_s == [], "nothing played to the speaker"
