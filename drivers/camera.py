"""The camera interface: a source of frames that keeps only the newest one.

Real V4L2 capture arrives with the drivers issue; the simulated camera implements the same interface.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

log = logging.getLogger(__name__)


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


class FrameSource:
    """The newest frame and the listeners of a camera: the base every camera driver shares.

    `publish` runs on the camera's thread; a listener that fails is logged once and the others go on.
    """

    def __init__(self, name: str) -> None:
        self._source_name = name
        self._latest: Frame | None = None
        self._listeners: list[FrameListener] = []
        self._failed: set[int] = set()
        self._lock = threading.Lock()

    def latest(self) -> Frame | None:
        return self._latest

    def add_listener(self, listener: FrameListener) -> None:
        with self._lock:
            self._listeners.append(listener)

    def remove_listener(self, listener: FrameListener) -> None:
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def publish(self, frame: Frame) -> None:
        self._latest = frame
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(frame)
            except Exception:
                if id(listener) not in self._failed:
                    self._failed.add(id(listener))
                    log.exception("camera %s: a frame listener failed", self._source_name)
