"""A widget that paints the newest video frame, letterboxed, with a caption while there is none.

Frames arrive already converted to QImage off the UI thread; painting only scales and draws.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPaintEvent, QResizeEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from ui import theme

_BACKGROUND = QColor("#05090f")


def _bars_around(box: QRect, picture: QRect) -> list[QRect]:
    """The parts of `box` that `picture` (inside it) leaves uncovered: the letterbox bars.

    Only these are filled: filling the whole view under every frame made Qt fill it on its worker threads while
    the UI thread waited for them holding Python's lock (seen with `py-spy record --gil --native`).
    """
    bars = [
        QRect(box.left(), box.top(), box.width(), picture.top() - box.top()),
        QRect(box.left(), picture.bottom() + 1, box.width(), box.bottom() - picture.bottom()),
        QRect(box.left(), picture.top(), picture.left() - box.left(), picture.height()),
        QRect(picture.right() + 1, picture.top(), box.right() - picture.right(), picture.height()),
    ]
    return [bar for bar in bars if not bar.isEmpty()]


class VideoView(QWidget):
    def __init__(self, placeholder: str = "") -> None:
        super().__init__()
        self.on_resize: Callable[[int, int], None] | None = None  # tells the bridge the size to send frames at
        self._image: QImage | None = None
        self._placeholder = placeholder
        self.frames_painted = 0
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)

    def show_frame(self, image: QImage) -> None:
        resized = self._image is None or image.size() != self._image.size()
        self._image = image
        # A picture the size of the last one leaves the bars as they are: only it is redrawn, and of the overlays
        # only those over it (a picture the size of the screen's height leaves a sixth of it as bars).
        self.update(self.rect() if resized else self._picture_rect(image))

    def clear(self, placeholder: str | None = None) -> None:
        self._image = None
        if placeholder is not None:
            self._placeholder = placeholder
        self.update()

    @property
    def has_video(self) -> bool:
        return self._image is not None

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        if self._image is None:
            painter.fillRect(self.rect(), _BACKGROUND)
            painter.setPen(QColor(theme.MUTED))
            f = painter.font()
            f.setPixelSize(max(14, min(self.height() // 18, self.width() // 24)))  # readable, never a poster
            painter.setFont(f)
            painter.drawText(
                self.rect().adjusted(20, 20, -20, -20),
                Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                self._placeholder,
            )
            return
        target = self._picture_rect(self._image)
        for bar in _bars_around(self.rect(), target):
            if bar.intersects(event.rect()):
                painter.fillRect(bar, _BACKGROUND)
        if self._image.size() == target.size():
            painter.drawImage(target.topLeft(), self._image)  # already at its size: a copy, no scaling
        else:
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            painter.drawImage(target, self._image)
        self.frames_painted += 1

    def _picture_rect(self, image: QImage) -> QRect:
        """Where `image` is drawn: as large as fits, centred."""
        size = image.size().scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio)
        target = QRect(0, 0, size.width(), size.height())
        target.moveCenter(self.rect().center())
        return target

    def resizeEvent(self, event: QResizeEvent) -> None:
        if self.on_resize is not None:
            self.on_resize(self.width(), self.height())
