"""The camera interface: a source of frames that keeps only the newest one.

Real V4L2 capture arrives with the drivers issue; the simulated camera implements the same interface.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class Frame:
    """One captured picture: RGB pixels, its sequence number and the monotonic time it was taken."""

    image: np.ndarray
    index: int
    captured_at: float


FrameListener = Callable[[Frame], None]


class Camera(Protocol):
    width: int
    height: int
    fps: float

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def latest(self) -> Frame | None: ...

    def add_listener(self, listener: FrameListener) -> None:
        """`listener` is called from the camera's thread with every new frame; it must not block."""

    def remove_listener(self, listener: FrameListener) -> None: ...
