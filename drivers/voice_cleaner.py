"""The resident's voice, cleaned before it leaves the handset: noise suppression and automatic gain from
WebRTC's audio processing (the `webrtc-noise-gain` package), the same algorithms a browser applies to a
microphone.

That package takes 16 kHz only, so each 20 ms block at the call's 48 kHz is filtered and decimated to
16 kHz, processed in two 10 ms frames, and interpolated back. The voice keeps 0 to 7 kHz (wideband, what
"HD voice" carries); the filters and the suppressor add 9 ms.

Three treatments, each where it helps (`./dev.sh bench --noise`, docs/performance.md):
- a quiet room and a voice at a handset's usual level: the voice as the microphone took it, since suppression
  costs a clean voice some of its quality and a handset held to the mouth needs none;
- a noisy room: noise suppression, without gain, because the gain control's quick compression cost words in
  a dayroom's babble (STOI) and lifted the noise between them;
- a soft voice, in any room: suppression and the gain control, which brings it up.
The room's noise floor (the quietest blocks of the last seconds, which speech alone never fills) and the
voice's level over the blocks the processor hears speech in decide; every change is a cross-fade. Both
processors run all the time, so each has its estimates ready the moment it is needed.
"""

from __future__ import annotations

from collections import deque

import numpy as np
from webrtc_noise_gain import AudioProcessor

from drivers.audio_analysis import level_dbfs
from drivers.audio_wire import Treatment
from drivers.handset import BLOCK_SAMPLES, SAMPLE_RATE

PROCESSING_RATE = 16_000
STEP = SAMPLE_RATE // PROCESSING_RATE
FRAME_SAMPLES = PROCESSING_RATE // 100  # the processor's 10 ms
PASS_HZ = 7_000
TAPS = 145  # with the Kaiser window below: about 80 dB down by 8 kHz, where 16 kHz would fold it back

# How hard each part works; chosen with `./dev.sh bench --noise` (docs/performance.md).
SUPPRESSION_LEVEL = 1  # 0 (off) to 4 (most); more takes words away with a dayroom's babble
GAIN_TARGET_DBFS = 3  # the gain control's target level below full scale

NORMAL_VOICE_DBFS = -24.0  # a voice into a handset, while speaking
SOFT_VOICE_DBFS = -36.0  # softer than this is raised
LOUDER_AGAIN_DB = 4.0  # and no longer raised once this much louder
SPEECH_LEVEL_WEIGHT = 0.04  # each block of speech's share in the voice's level: about a second of speech
SPEECH_OVER_FLOOR_DB = 10.0  # a block of speech stands this far out from the room's floor

FLOOR_BLOCKS = 150  # the room's noise floor is the quietest of the last 3 s...
FLOOR_PERCENTILE = 5  # ...these quietest blocks
NOISY_DBFS = -50.0  # a floor above this is a noisy room
QUIET_AGAIN_DB = 6.0  # and it is quiet again only this far below it
SILENT_DBFS = -120.0


def _low_pass() -> np.ndarray:
    n = np.arange(TAPS) - (TAPS - 1) / 2
    cutoff = (PASS_HZ + PROCESSING_RATE / 2) / 2 / SAMPLE_RATE  # the middle of the transition, in cycles a sample
    taps = 2 * cutoff * np.sinc(2 * cutoff * n) * np.kaiser(TAPS, 8.0)
    return taps / taps.sum()


class _Filter:
    """A FIR filter over a stream of blocks: each block continues where the last one ended."""

    def __init__(self, taps: np.ndarray) -> None:
        self._taps = taps
        self._history = np.zeros(taps.size - 1)

    def __call__(self, block: np.ndarray) -> np.ndarray:
        joined = np.concatenate([self._history, block])
        self._history = joined[-(self._taps.size - 1) :]
        return np.convolve(joined, self._taps, mode="valid")


def _dbfs(block: np.ndarray) -> float:
    return max(level_dbfs(block), SILENT_DBFS)  # digital silence is -inf, which a percentile cannot take


class RoomNoise:
    """The room's noise floor, from the microphone's own blocks."""

    def __init__(self) -> None:
        self._levels: deque[float] = deque(maxlen=FLOOR_BLOCKS)

    def hear(self, block: np.ndarray) -> float:
        """Takes the next block; returns the floor so far, in dBFS."""
        self._levels.append(_dbfs(block))
        if len(self._levels) < FLOOR_BLOCKS:
            return SILENT_DBFS  # too soon: a few seconds of one voice have no gaps to show the room in
        return float(np.percentile(self._levels, FLOOR_PERCENTILE))


class SpeechLevel:
    """How loud the resident speaks, over about a second of speech: the level of the blocks the processor hears
    speech in and that stand out from the room (its voice detector also hears speech in a fan's noise)."""

    def __init__(self) -> None:
        self.dbfs = NORMAL_VOICE_DBFS  # until heard otherwise: no gain for the first words

    def hear(self, block: np.ndarray, speech: bool, floor_dbfs: float) -> float:
        level = _dbfs(block)
        if speech and level > floor_dbfs + SPEECH_OVER_FLOOR_DB:
            self.dbfs += SPEECH_LEVEL_WEIGHT * (level - self.dbfs)
        return self.dbfs


class _Processor:
    """One of WebRTC's processors over the 16 kHz copy of the microphone, and the way back to 48 kHz."""

    def __init__(self, suppression: int, gain_target_dbfs: int) -> None:
        self._processor = AudioProcessor(gain_target_dbfs, suppression)
        self._up = _Filter(_low_pass() * STEP)  # every STEP-th sample carries the sound: make up the level
        self.speech = False

    def __call__(self, narrow: np.ndarray) -> np.ndarray:
        results = [self._processor.Process10ms(frame.tobytes()) for frame in narrow.reshape(-1, FRAME_SAMPLES)]
        self.speech = any(result.is_speech for result in results)
        wide = np.zeros(BLOCK_SAMPLES)
        wide[::STEP] = np.concatenate([np.frombuffer(result.audio, "<i2") for result in results])
        return np.clip(np.rint(self._up(wide)), -32768, 32767).astype(np.int16)


class VoiceCleaner:
    """Treats 20 ms blocks of 48 kHz int16 microphone sound, one after another, as the room and the voice need."""

    def __init__(self) -> None:
        self._down = _Filter(_low_pass())
        # Both run all the time, so that each has its estimates ready the moment it is needed.
        self._suppressor = _Processor(SUPPRESSION_LEVEL, 0)
        self._raiser = _Processor(SUPPRESSION_LEVEL, GAIN_TARGET_DBFS)
        self._room = RoomNoise()
        self._voice = SpeechLevel()
        self.treatment = Treatment.AS_SPOKEN

    def clean(self, block: np.ndarray) -> np.ndarray:
        if block.size != BLOCK_SAMPLES:
            raise ValueError(f"a block is {BLOCK_SAMPLES} samples, not {block.size}")
        narrow = np.clip(np.rint(self._down(block.astype(np.float64))[::STEP]), -32768, 32767).astype("<i2")
        ways = {
            Treatment.AS_SPOKEN: block,
            Treatment.SUPPRESSED: self._suppressor(narrow),
            Treatment.RAISED: self._raiser(narrow),
        }
        before, self.treatment = self.treatment, self._judged(block)
        if self.treatment is before:
            return ways[before]
        fade_in = np.linspace(0.0, 1.0, BLOCK_SAMPLES, endpoint=False)
        return np.rint(ways[self.treatment] * fade_in + ways[before] * (1.0 - fade_in)).astype(np.int16)

    def _judged(self, block: np.ndarray) -> Treatment:
        """What the room and the voice need now; each with a margin before it changes back."""
        was = self.treatment
        floor = self._room.hear(block)
        level = self._voice.hear(block, self._suppressor.speech, floor)
        if level < SOFT_VOICE_DBFS + (LOUDER_AGAIN_DB if was is Treatment.RAISED else 0.0):
            return Treatment.RAISED
        if floor > NOISY_DBFS - (QUIET_AGAIN_DB if was is not Treatment.AS_SPOKEN else 0.0):
            return Treatment.SUPPRESSED
        return Treatment.AS_SPOKEN
