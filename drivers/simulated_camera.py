"""SimulatedCamera: a moving test pattern, stamped with a frame counter and its send time.

It runs the same reader-thread model as a real camera, so the product and its tests see real timing.
"""

from __future__ import annotations

import math
import threading
import time

import cv2
import numpy as np

from drivers.camera import Frame, FrameSource
from drivers.frame_stamp import FrameStamp, now_ms, write_stamp


def _background(width: int, height: int, tint: tuple[int, int, int]) -> np.ndarray:
    ramp = np.linspace(0.35, 1.0, height, dtype=np.float32)[:, None, None]
    base = np.array(tint, dtype=np.float32)[None, None, :]
    # In C order: copied every frame, and a copy of any other layout goes pixel by pixel (2 ms, not 0.03).
    return np.broadcast_to(ramp * base, (height, width, 3)).astype(np.uint8, order="C")


class SimulatedCamera(FrameSource):
    """A camera with no hardware: a labelled scene whose disc moves, so frozen video is visible."""

    def __init__(
        self,
        width: int = 640,
        height: int = 480,
        fps: float = 30.0,
        label: str = "Simulated camera",
        tint: tuple[int, int, int] = (40, 90, 140),
    ) -> None:
        super().__init__(label)
        self.width, self.height, self.fps = width, height, fps
        self._label = label
        self._background = _background(width, height, tint)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="simulated-camera", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None

    def render(self, index: int) -> np.ndarray:
        image = self._background.copy()
        phase = index / self.fps
        centre = (
            int(self.width / 2 + self.width * 0.3 * math.cos(phase)),
            int(self.height * 0.55 + self.height * 0.2 * math.sin(phase * 1.3)),
        )
        cv2.circle(image, centre, self.height // 8, (240, 200, 90), -1, cv2.LINE_AA)
        scale = self.width / 640
        cv2.putText(
            image,
            self._label,
            (int(24 * scale), self.height - int(60 * scale)),
            cv2.FONT_HERSHEY_SIMPLEX,
            1.0 * scale,
            (255, 255, 255),
            max(1, int(2 * scale)),
            cv2.LINE_AA,
        )
        cv2.putText(
            image,
            f"frame {index}",
            (int(24 * scale), self.height - int(24 * scale)),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.8 * scale,
            (230, 230, 230),
            max(1, int(2 * scale)),
            cv2.LINE_AA,
        )
        return image

    def _run(self) -> None:
        interval = 1.0 / self.fps
        next_at = time.monotonic()
        index = 0
        while not self._stop.is_set():
            image = self.render(index)
            write_stamp(image, FrameStamp(index, now_ms()))
            self.publish(Frame(image=image, index=index, captured_at=time.monotonic()))
            index += 1
            next_at += interval
            delay = next_at - time.monotonic()
            if delay < -interval:
                # Fell behind (a loaded machine): skip ahead like a real sensor instead of bursting.
                next_at = time.monotonic() + interval
                self._stop.wait(interval)
            elif delay > 0:
                self._stop.wait(delay)
