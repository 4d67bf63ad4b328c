"""The bridge between the core thread and Qt's main thread.

The core calls it from its own thread; it converts video to QImage there and emits queued signals,
keeping only the newest frame per feed so a busy UI never builds a backlog.
"""

from __future__ import annotations

import threading
import time

import cv2
import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage

from drivers.camera import Camera, Frame
from kiosk.call_engine import RemoteFeed
from kiosk.pictures import chroma_of, luma_of
from kiosk.visit_machine import Screen, TerminalState

SELF_VIEW_FPS = 15.0
_SELF_VIEW_SCREENS = (Screen.PRE_VISIT, Screen.IN_VISIT, Screen.TECHNICIAN)


def to_qimage(image: np.ndarray) -> QImage:
    height, width, _ = image.shape
    return QImage(image.data, width, height, 3 * width, QImage.Format.Format_RGB888).copy()


def fitted(width: int, height: int, box: tuple[int, int]) -> tuple[int, int]:
    """The largest size of this aspect that fits the box (letterboxed)."""
    scale = min(box[0] / width, box[1] / height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def to_screen_qimage(image: np.ndarray, box: tuple[int, int]) -> QImage:
    """The frame already at the size it is shown and in the screen's own pixel format, so the UI thread only
    copies it: scaling there held the UI thread (and Python's lock) for tens of milliseconds a frame, while
    OpenCV scales here without holding either."""
    height, width, _ = image.shape
    size = fitted(width, height, box)
    shown = QImage(size[0], size[1], QImage.Format.Format_RGB32)
    cv2.cvtColor(resized(image, size), cv2.COLOR_RGB2BGRA, dst=pixels_of(shown))
    return shown


def picture_to_screen_qimage(i420: np.ndarray, box: tuple[int, int]) -> QImage:
    """A decoded picture (I420, `kiosk.pictures`) at the size it is shown, in the screen's pixel format. Its
    planes are scaled first, then converted once, straight into the image: 1.0 ms a frame for a 640x480 visitor
    on a 1280x800 screen, where converting to RGB, scaling that and copying the result took 1.5 ms."""
    luma, chroma = luma_of(i420), chroma_of(i420)
    height, width = luma.shape
    shown_width, shown_height = (max(2, side & ~1) for side in fitted(width, height, box))  # I420: even sides
    scaled = np.empty((shown_height * 3 // 2, shown_width), np.uint8)
    luma_of(scaled)[:] = resized(luma, (shown_width, shown_height))
    for plane, scaled_plane in zip(chroma, chroma_of(scaled), strict=True):
        scaled_plane[:] = resized(plane, (shown_width // 2, shown_height // 2))
    shown = QImage(shown_width, shown_height, QImage.Format.Format_RGB32)
    cv2.cvtColor(scaled, cv2.COLOR_YUV2BGRA_I420, dst=pixels_of(shown))
    return shown


def pixels_of(image: QImage) -> np.ndarray:
    """A 32-bit image's own pixels, height x width x 4, for OpenCV to write into without a copy."""
    return np.frombuffer(image.bits(), np.uint8).reshape(image.height(), image.width(), 4)


def resized(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """`image` at `size`, smooth both ways. A picture shrunk to less than half goes first to a whole fraction
    of its size by averaging, then the rest of the way by interpolation: OpenCV's averaging to any other size
    takes ten times as long (1.5 ms instead of 0.2 for the self-view's 260x195)."""
    height, width = image.shape[:2]
    whole = min(width // size[0], height // size[1])
    if whole >= 2:
        if width % whole or height % whole:  # no whole fraction of it: the slow way, still smooth
            return cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        image = cv2.resize(image, (width // whole, height // whole), interpolation=cv2.INTER_AREA)
    if (image.shape[1], image.shape[0]) == size:
        return image
    return cv2.resize(image, size, interpolation=cv2.INTER_LINEAR)


class CoreBridge(QObject):
    state_changed = Signal(object)  # TerminalState
    remote_frame_ready = Signal(object, str)  # feed id (a 64-bit Janus id), display name
    remote_left = Signal(object)
    self_view_ready = Signal()

    def __init__(self, camera: Camera | None) -> None:
        """`camera`: the self-view's; None where there is none (the out-of-service fallback)."""
        super().__init__()
        self._lock = threading.Lock()
        self._remote: dict[int, QImage] = {}
        self._boxes: dict[int, tuple[int, int]] = {}  # the size each visitor is shown at, from the UI
        self._self_boxes: dict[Screen, tuple[int, int]] = {}  # the size the camera is shown at, per screen
        self._self_view: QImage | None = None
        self._screen = Screen.IDLE
        self._last_self_view = 0.0
        if camera is not None:
            camera.add_listener(self._on_camera_frame)

    # -- called on the core thread (TerminalListener) ---------------------------------------------

    def on_state(self, state: TerminalState) -> None:
        self._screen = state.screen
        self.state_changed.emit(state)

    def on_remote_video(self, feed: RemoteFeed, i420: np.ndarray) -> None:
        with self._lock:
            box = self._boxes.get(feed.feed_id)
        qimage = picture_to_screen_qimage(i420, box or luma_of(i420).shape[::-1])  # no box yet: its own size
        with self._lock:
            pending = feed.feed_id in self._remote
            self._remote[feed.feed_id] = qimage
        if not pending:
            self.remote_frame_ready.emit(feed.feed_id, feed.display)

    def on_remote_left(self, feed: RemoteFeed) -> None:
        with self._lock:
            self._remote.pop(feed.feed_id, None)
        self.remote_left.emit(feed.feed_id)

    # -- called on the camera's thread ------------------------------------------------------------

    def _on_camera_frame(self, frame: Frame) -> None:
        now = time.monotonic()
        if self._screen not in _SELF_VIEW_SCREENS or now - self._last_self_view < 1 / SELF_VIEW_FPS:
            return
        self._last_self_view = now
        with self._lock:
            box = self._self_boxes.get(self._screen)
        # At its size, like the visitors: Qt scaling it while painting took 3 % of a core on its worker threads.
        qimage = to_screen_qimage(frame.image, box) if box else to_qimage(frame.image)
        with self._lock:
            pending = self._self_view is not None
            self._self_view = qimage
        if not pending:
            self.self_view_ready.emit()

    # -- called on the UI thread ------------------------------------------------------------------

    def set_view_size(self, feed_id: int, width: int, height: int) -> None:
        """Where a visitor's video is shown, so the next frames come at that size."""
        with self._lock:
            self._boxes[feed_id] = (width, height)

    def set_self_view_size(self, screen: Screen, width: int, height: int) -> None:
        """Where the camera is shown on `screen`, so its next frames come at that size."""
        with self._lock:
            self._self_boxes[screen] = (width, height)

    def take_remote_frame(self, feed_id: int) -> QImage | None:
        with self._lock:
            return self._remote.pop(feed_id, None)

    def take_self_view(self) -> QImage | None:
        with self._lock:
            image, self._self_view = self._self_view, None
            return image
