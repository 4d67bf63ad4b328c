"""The audio level that aiortc writes into each outgoing audio packet (RFC 6465), computed with numpy.

aiortc computes it in a Python loop over every sample: 0.15 ms of the core thread, with Python's lock held, for
each 20 ms of the resident's voice. This is the same figure from the same samples, in one pass in C.
"""

from __future__ import annotations

import logging
import math

import aiortc.rtp
import numpy as np
from av import AudioFrame

log = logging.getLogger(__name__)

MAX_SAMPLE = 32767
LOUDEST_DBOV = 0
QUIETEST_DBOV = -127

AIORTC_AUDIO_LEVEL = getattr(aiortc.rtp, "compute_audio_level_dbov", None)


def audio_level_dbov(frame: AudioFrame) -> int:
    """As aiortc has it: the energy of every 16-bit value in the frame's buffer over its samples per channel."""
    values = np.frombuffer(frame.planes[0], np.int16).astype(np.int64)
    rms = math.sqrt(int(values @ values) / (frame.samples * MAX_SAMPLE * MAX_SAMPLE))
    if rms <= 0:
        return QUIETEST_DBOV
    return round(min(max(20 * math.log10(rms), QUIETEST_DBOV), LOUDEST_DBOV))


def use_numpy_audio_level() -> bool:
    """Makes aiortc's senders use `audio_level_dbov`; False (and a log line) if aiortc changed."""
    if AIORTC_AUDIO_LEVEL is None:
        log.warning("aiortc has no audio level function where expected: its own is used")
        return False
    aiortc.rtp.compute_audio_level_dbov = audio_level_dbov
    return True
