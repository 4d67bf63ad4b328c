"""The video view: the picture centred at its size, the letterbox bars filled dark, never old pixels showing."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QWidget

from ui.video_view import VideoView

pytestmark = pytest.mark.ui

RED = QColor(200, 30, 30)


def _picture(width: int, height: int, colour: QColor = RED) -> QImage:
    image = QImage(width, height, QImage.Format.Format_RGB32)
    image.fill(colour)
    return image


@pytest.mark.parametrize(("width", "height"), [(400, 100), (100, 300), (400, 300)], ids=["wide", "tall", "exact"])
def test_the_picture_is_centred_and_only_the_bars_around_it_are_dark(qtbot, width, height):
    view = VideoView()
    qtbot.addWidget(view)
    view.resize(400, 300)
    view.show()
    qtbot.waitExposed(view)
    view.show_frame(_picture(width, height))
    shot = view.grab().toImage()
    left, top = (400 - width) // 2, (300 - height) // 2
    assert shot.pixelColor(200, 150) == RED, "the picture is in the middle"
    assert shot.pixelColor(left, top) == RED and shot.pixelColor(left + width - 1, top + height - 1) == RED
    background = QColor("#05090f")
    outside = [(0, 0), (399, 299), (left - 1, 150), (left + width, 150), (200, top - 1), (200, top + height)]
    for x, y in outside:
        in_view, in_picture = 0 <= x < 400 and 0 <= y < 300, left <= x < left + width and top <= y < top + height
        if in_view and not in_picture:
            assert shot.pixelColor(x, y) == background, f"({x}, {y}) is a bar"
    assert view.frames_painted >= 1


def test_a_narrower_picture_leaves_no_old_pixels_beside_it(qtbot):
    screen = QWidget()  # inside a window, as on the visit screen
    qtbot.addWidget(screen)
    screen.resize(400, 300)
    view = VideoView()
    view.setParent(screen)
    view.resize(400, 300)
    screen.show()
    qtbot.waitExposed(screen)

    def on_screen(x: int, y: int) -> QColor:
        """What the screen shows, from the window's backing store: `grab()` would paint the view afresh."""
        return screen.screen().grabWindow(screen.winId()).toImage().pixelColor(x, y)

    for painted in range(1, 4):  # frames the size of the last repaint only themselves
        view.show_frame(_picture(400, 300))
        qtbot.waitUntil(lambda painted=painted: view.frames_painted == painted)
    assert on_screen(5, 150) == RED
    blue = QColor(30, 30, 200)
    view.show_frame(_picture(200, 300, blue))  # a visitor's camera turned to portrait
    qtbot.waitUntil(lambda: on_screen(200, 150) == blue)
    assert on_screen(5, 150) == QColor("#05090f")


def test_without_a_picture_the_view_is_dark_with_its_caption(qtbot):
    view = VideoView("Camera")
    qtbot.addWidget(view)
    view.resize(400, 300)
    view.show_frame(_picture(400, 300))
    view.clear()
    shot = view.grab().toImage()
    assert shot.pixelColor(5, 5) == QColor("#05090f") and shot.pixelColor(200, 150) != RED
    assert not view.has_video
