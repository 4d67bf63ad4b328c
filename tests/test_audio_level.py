"""The level in each outgoing audio packet is aiortc's own figure, computed without its per-sample Python loop."""

from __future__ import annotations

import aiortc.rtp
import numpy as np
import pytest
from av import AudioFrame

from kiosk.audio_level import AIORTC_AUDIO_LEVEL, QUIETEST_DBOV, audio_level_dbov, use_numpy_audio_level


def _frame(samples: np.ndarray, layout: str) -> AudioFrame:
    frame = AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout=layout)
    frame.sample_rate = 48000
    return frame


@pytest.mark.parametrize("layout", ["mono", "stereo"])
@pytest.mark.parametrize("amplitude", [0, 1, 30, 1000, 32767])
def test_the_level_is_aiortcs_for_any_voice(layout, amplitude):
    rng = np.random.default_rng(amplitude)
    channels = 2 if layout == "stereo" else 1
    samples = rng.integers(-amplitude, amplitude + 1, 960 * channels).astype(np.int16)
    frame = _frame(samples, layout)
    assert audio_level_dbov(frame) == AIORTC_AUDIO_LEVEL(frame)


def test_silence_is_the_quietest_level():
    assert audio_level_dbov(_frame(np.zeros(1920, np.int16), "stereo")) == QUIETEST_DBOV


def test_aiortcs_senders_use_it():
    assert use_numpy_audio_level()
    assert aiortc.rtp.compute_audio_level_dbov is audio_level_dbov
