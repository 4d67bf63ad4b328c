"""The resident's voice in a quiet and in a noisy room, spoken at a handset's usual level and softly: passed on
as it is, its noise suppressed, or raised, with WebRTC's real noise suppression and gain (no fake), on espeak-ng
speech."""

from __future__ import annotations

import numpy as np
import pytest

from drivers.audio_wire import Treatment
from drivers.handset import BLOCK_SAMPLES, SAMPLE_RATE
from drivers.voice_cleaner import FLOOR_BLOCKS, VoiceCleaner
from tests.speech import fan_noise, spoken

DELAY = 432  # the cleaned voice's delay in samples (9 ms): the filters' 3 ms and the suppressor's 6 ms


def dbfs(samples: np.ndarray) -> float:
    return 10 * np.log10(np.mean(np.square(samples.astype(np.float64))) / 32768.0**2 + 1e-15)


@pytest.fixture(scope="module")
def voice() -> np.ndarray:
    """Two sentences with a pause, about -22 dBFS while speaking, 9 s in all."""
    said = [spoken("Hi, it is me. How are the kids doing at school?"), spoken("Tell your mother I called.")]
    pause = np.zeros(SAMPLE_RATE, np.int16)
    talk = np.concatenate([pause, said[0], pause, said[1], pause])
    return np.concatenate([talk, np.zeros(-talk.size % BLOCK_SAMPLES, np.int16)])


def room(level_dbfs: float, samples: int, seed: int = 7) -> np.ndarray:
    """A fan's steady noise at `level_dbfs`."""
    return fan_noise(samples, seed) * 32768 * 10 ** (level_dbfs / 20)


def through(cleaner: VoiceCleaner, sound: np.ndarray) -> np.ndarray:
    blocks = np.clip(np.rint(sound), -32768, 32767).astype(np.int16).reshape(-1, BLOCK_SAMPLES)
    return np.concatenate([cleaner.clean(block) for block in blocks])


def settled(cleaner: VoiceCleaner, noise_dbfs: float | None) -> VoiceCleaner:
    """The cleaner after the room has been heard for as long as it takes to judge it."""
    warm_up = FLOOR_BLOCKS * BLOCK_SAMPLES
    through(cleaner, room(noise_dbfs, warm_up, seed=1) if noise_dbfs is not None else np.zeros(warm_up))
    return cleaner


def test_in_a_quiet_room_the_voice_goes_out_exactly_as_spoken(voice):
    mic_hiss = room(-70, voice.size)
    cleaner = settled(VoiceCleaner(), -70)
    heard = through(cleaner, voice + mic_hiss)
    assert cleaner.treatment is Treatment.AS_SPOKEN
    assert np.array_equal(heard, np.clip(np.rint(voice + mic_hiss), -32768, 32767).astype(np.int16))


def test_in_a_noisy_room_the_noise_between_words_drops_against_the_words(voice):
    noise = room(-35, voice.size)
    cleaner = settled(VoiceCleaner(), -35)
    heard = through(cleaner, voice + noise)[DELAY:]
    assert cleaner.treatment is Treatment.SUPPRESSED
    said, pauses = np.abs(voice[: heard.size]) > 300, np.abs(voice[: heard.size]) == 0
    before = dbfs(voice[: heard.size][said]) - dbfs(noise[: heard.size][pauses])
    after = dbfs(heard[said]) - dbfs(heard[pauses])
    assert after > before + 4, f"the words over the noise between them: {before:.1f} -> {after:.1f} dB"
    words_before, words_after = dbfs(voice[: heard.size][said]), dbfs(heard[said])
    assert abs(words_after - words_before) < 2, "a voice at the usual level is not made louder or softer"


@pytest.mark.parametrize("noise_dbfs", [-70, -50], ids=["quiet room", "noisy room"])
def test_a_soft_voice_is_brought_up(voice, noise_dbfs):
    soft = voice * 10 ** (-18 / 20)  # about -40 dBFS while speaking
    cleaner = settled(VoiceCleaner(), noise_dbfs)
    heard = through(cleaner, np.tile(soft + room(noise_dbfs, voice.size), 2))[-voice.size + DELAY :]
    said = np.abs(voice[: heard.size]) > 300
    assert cleaner.treatment is Treatment.RAISED
    assert dbfs(heard[said]) > dbfs(soft[: heard.size][said]) + 6


def test_when_the_room_quietens_the_voice_goes_out_as_spoken_again_without_a_click(voice):
    cleaner = settled(VoiceCleaner(), -35)
    assert cleaner.treatment is Treatment.SUPPRESSED
    hiss = room(-70, voice.size)
    spoken_on = np.clip(np.rint(voice + hiss), -32768, 32767).astype(np.int16)
    heard = through(cleaner, np.concatenate([room(-35, SAMPLE_RATE, seed=2), spoken_on]))[SAMPLE_RATE:]
    assert cleaner.treatment is Treatment.AS_SPOKEN
    assert np.array_equal(heard[-SAMPLE_RATE:], spoken_on[-SAMPLE_RATE:]), "the voice as spoken, once it is quiet"
    jumps = np.abs(np.diff(heard.astype(np.float64)))
    assert jumps.max() <= np.abs(np.diff(spoken_on.astype(np.float64))).max() + 500, "faded over a block, no click"


def test_a_block_of_the_wrong_size_is_refused():
    with pytest.raises(ValueError, match="960"):
        VoiceCleaner().clean(np.zeros(480, np.int16))
