"""The still card visitors see while the terminal's camera is lost: calm words instead of a frozen
face, sent at a low rate so the visit's audio and connection go on.
"""

from __future__ import annotations

import functools

import cv2
import numpy as np

_NAVY = (13, 26, 43)  # the screens' navy, RGB
_TEXT = (243, 246, 250)
_MUTED = (174, 189, 208)


def _centred(image: np.ndarray, text: str, y: int, scale: float, colour: tuple[int, int, int], weight: int) -> None:
    (width, _), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, weight)
    cv2.putText(
        image, text, ((image.shape[1] - width) // 2, y), cv2.FONT_HERSHEY_SIMPLEX, scale, colour, weight, cv2.LINE_AA
    )


@functools.lru_cache(maxsize=4)
def paused_card(width: int, height: int) -> np.ndarray:
    """An RGB card (height x width x 3) saying the video is paused and the sound goes on."""
    image = np.empty((height, width, 3), np.uint8)
    image[:] = _NAVY
    scale = width / 640
    _centred(image, "Video paused", int(height * 0.47), 1.3 * scale, _TEXT, max(1, int(3 * scale)))
    _centred(image, "You can still hear each other.", int(height * 0.60), 0.75 * scale, _MUTED, max(1, int(2 * scale)))
    image.flags.writeable = False
    return image
