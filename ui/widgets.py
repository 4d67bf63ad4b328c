"""Small building blocks shared by the screens: styled labels and buttons, cards, the numeric keypad.

Every target is large (at least 84 px at 800 px height) and reacts to a single tap.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QPushButton, QSizePolicy, QWidget

from ui.texts import tr


def label(text: str = "", role: str = "", wrap: bool = True, align: Qt.AlignmentFlag | None = None) -> QLabel:
    widget = QLabel(text)
    if role:
        widget.setProperty("role", role)
    widget.setWordWrap(wrap)
    widget.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
    if align is not None:
        widget.setAlignment(align)
    return widget


def button(text: str, name: str, on_tap: Callable[[], None], role: str = "") -> QPushButton:
    widget = QPushButton(text)
    widget.setObjectName(name)
    if role:
        widget.setProperty("role", role)
    widget.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    widget.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
    widget.clicked.connect(lambda _checked=False: on_tap())
    return widget


def card(role: str = "card") -> QFrame:
    frame = QFrame()
    frame.setProperty("role", role)
    return frame


def set_role(widget: QWidget, role: str) -> None:
    """Changes a styled role at run time (Qt re-reads the style sheet only when asked). Re-reading it costs a
    re-layout, so an unchanged role is left alone: the visit screen sets its chips' roles four times a second."""
    if widget.property("role") == role:
        return
    widget.setProperty("role", role)
    widget.style().unpolish(widget)
    widget.style().polish(widget)


class Keypad(QWidget):
    """Digits 0-9, clear and delete. Emits `pressed` with a digit, "clear" or "delete"."""

    pressed = Signal(str)

    def __init__(self) -> None:
        super().__init__()
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        keys = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "clear", "0", "delete"]
        captions = {"clear": tr("Clear"), "delete": "\u232b"}
        for index, key in enumerate(keys):
            role = "key-word" if key == "clear" else "key"  # a word, in any language, must fit a digit's key
            widget = button(captions.get(key, key), f"key-{key}", lambda k=key: self.pressed.emit(k), role=role)
            widget.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
            grid.addWidget(widget, index // 3, index % 3)
