"""Speech made offline with espeak-ng, at the call's rate, for the tests and the bench that need a real voice (a
codec's voice detector, concealment and FEC, noise suppression) rather than tones; and a fan's steady noise."""

from __future__ import annotations

import io
import shutil
import subprocess
import wave

import numpy as np

from drivers.handset import SAMPLE_RATE


class EspeakMissing(RuntimeError):
    pass


def spoken(text: str, voice: str = "en", rate_wpm: int = 160) -> np.ndarray:
    """`text` spoken by espeak-ng in `voice`, as int16 samples at SAMPLE_RATE."""
    if shutil.which("espeak-ng") is None:
        raise EspeakMissing("espeak-ng is not installed: run 'apt-get install espeak-ng'.")
    made = subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(rate_wpm), "--stdout", text], capture_output=True, check=True
    ).stdout
    with wave.open(io.BytesIO(made)) as wav:
        rate = wav.getframerate()
        samples = np.frombuffer(wav.readframes(wav.getnframes()), np.int16).astype(np.float64)
    at = np.arange(0, samples.size, rate / SAMPLE_RATE)  # a voice has nothing above espeak's 11 kHz to lose
    return np.interp(at, np.arange(samples.size), samples).astype(np.int16)


def fan_noise(samples: int, seed: int = 7) -> np.ndarray:
    """A steady noise, as a fan or an air handler makes (brown noise, without drift below 100 Hz), RMS 1."""
    brown = np.cumsum(np.random.default_rng(seed).normal(size=samples))
    brown -= np.convolve(brown, np.ones(480) / 480, mode="same")
    return brown / np.sqrt(np.mean(np.square(brown)))
