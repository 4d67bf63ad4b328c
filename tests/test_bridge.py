"""Frames are scaled off the UI thread to the size they are shown at, in the screen's own pixel format."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PySide6.QtGui import QImage

from drivers.simulated_camera import SimulatedCamera
from kiosk.visit_machine import Screen, TerminalState
from tests.waiting import wait_for
from ui.bridge import CoreBridge, fitted, picture_to_screen_qimage, resized, to_screen_qimage


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


def test_a_decoded_picture_is_shown_at_its_size_in_its_colours():
    image = np.zeros((480, 640, 3), np.uint8)
    image[:, :320] = (200, 30, 40)
    image[:, 320:] = (20, 60, 220)
    decoded = cv2.cvtColor(image, cv2.COLOR_RGB2YUV_I420)  # as the decoder gives it
    shown = picture_to_screen_qimage(decoded, (1280, 800))
    assert (shown.width(), shown.height()) == (1066, 800), "the largest even size that fits: I420 halves both"
    assert shown.format() is QImage.Format.Format_RGB32
    for x, colour in ((100, (200, 30, 40)), (1000, (20, 60, 220))):
        seen = shown.pixelColor(x, 400)
        assert all(abs(a - b) <= 4 for a, b in zip((seen.red(), seen.green(), seen.blue()), colour, strict=True))


@pytest.mark.parametrize("camera", [(640, 480), (641, 481)], ids=["whole-fraction", "odd-size"])
def test_a_picture_shrunk_a_lot_is_averaged_not_sampled(camera):
    """Fine detail, here one-pixel stripes, shrunk to the self-view's size turns to its average grey; a picture
    sampled instead shows bold false stripes."""
    stripes = np.zeros((camera[1], camera[0], 3), np.uint8)
    stripes[:, ::2] = 255
    small = resized(stripes, (260, 195))
    assert small.shape == (195, 260, 3)
    assert small.min() >= 100 and small.max() <= 155


def test_the_camera_comes_for_each_screen_at_the_size_that_screen_shows_it(qapp):
    camera = SimulatedCamera()
    bridge = CoreBridge(camera)
    bridge.set_self_view_size(Screen.IN_VISIT, 240, 200)
    bridge.set_self_view_size(Screen.PRE_VISIT, 800, 600)

    def shown_on(screen: Screen) -> tuple[int, int]:
        bridge.on_state(TerminalState(screen=screen))
        images: list[QImage | None] = []
        camera.start()
        try:
            wait_for(lambda: images.append(bridge.take_self_view()) or images[-1], 5, "the camera's next frame")
        finally:
            camera.stop()
            bridge.take_self_view()  # one that came meanwhile
        return images[-1].width(), images[-1].height()  # type: ignore[union-attr]

    assert shown_on(Screen.IN_VISIT) == (240, 180)
    assert shown_on(Screen.PRE_VISIT) == (800, 600)
    assert shown_on(Screen.TECHNICIAN) == (640, 480), "a screen that has said no size gets the camera's own"
