"""The handset interface: a microphone, an earpiece and a hook switch.

Audio is 48 kHz mono int16 in 20 ms blocks everywhere in the product.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Protocol, runtime_checkable

import numpy as np

SAMPLE_RATE = 48_000
BLOCK_SAMPLES = 960  # 20 ms

HookListener = Callable[[bool], None]  # called with True when the handset is lifted


class Microphone(Protocol):
    def read_block(self) -> np.ndarray:
        """The next 20 ms of sound (BLOCK_SAMPLES int16 samples)."""


@runtime_checkable
class ClockedMicrophone(Microphone, Protocol):
    """A microphone with a sound card behind it, whose clock paces the call."""

    async def next_block(self) -> np.ndarray:
        """The next 20 ms of sound, the moment the card delivers it."""


class Earpiece(Protocol):
    def play(self, source: Hashable, samples: np.ndarray) -> None:
        """Queues one visitor's mono int16 samples at SAMPLE_RATE for playout; must not block."""

    def set_volume(self, gain: float) -> None:
        """How loud the person wants it: 1.0 plays the call as it comes."""


@runtime_checkable
class BufferingEarpiece(Earpiece, Protocol):
    """An earpiece with a jitter buffer in front of the sound card, whose delay the pictures wait for."""

    def delay_s(self) -> float:
        """How long the sound played now waits in the buffer before it is heard (0 while none plays), as last
        measured: it moves by a packet's length as packets come."""


class HookSwitch(Protocol):
    @property
    def lifted(self) -> bool: ...

    def add_listener(self, listener: HookListener) -> None: ...
