"""Frames are scaled off the UI thread to the size they are shown at, in the screen's own pixel format."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtGui import QImage

from ui.bridge import fitted, to_screen_qimage


@pytest.mark.parametrize(
    ("frame", "box", "size"),
    [
        ((640, 480), (1280, 800), (1067, 800)),
        ((640, 480), (300, 600), (300, 225)),
        ((1280, 720), (640, 360), (640, 360)),
    ],
)
def test_a_frame_is_fitted_into_its_box_keeping_its_shape(frame, box, size):
    assert fitted(*frame, box) == size


def test_the_scaled_frame_keeps_its_colours_and_is_ready_to_paint():
    image = np.zeros((480, 640, 3), np.uint8)
    image[:, :320] = (200, 30, 40)  # a red left half
    image[:, 320:] = (20, 60, 220)  # a blue right half
    shown = to_screen_qimage(image, (320, 200))
    assert (shown.width(), shown.height()) == (267, 200)
    assert shown.format() is QImage.Format.Format_RGB32
    left, right = shown.pixelColor(20, 100), shown.pixelColor(250, 100)
    assert (left.red(), left.green(), left.blue()) == (200, 30, 40)
    assert (right.red(), right.green(), right.blue()) == (20, 60, 220)
