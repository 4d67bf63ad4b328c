"""What every screen shares: the intent sink, the scale, the header with facility and clock.

A screen renders a TerminalState and turns taps into events; it keeps no rule of its own.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QVBoxLayout, QWidget

from kiosk.config import LANGUAGES
from kiosk.visit_machine import Event, LanguageChosen, LargeTextToggled, TechnicianGesture, TerminalState
from ui.i18n import NATIVE_NAMES
from ui.texts import clock_time, tr
from ui.theme import Scale
from ui.widgets import button, label

Post = Callable[[Event], None]


class ScreenBase(QWidget):
    def __init__(self, post: Post, scale: Scale) -> None:
        super().__init__()
        self.setObjectName("screen")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground)
        self.post = post
        self.scale = scale

    def render(self, state: TerminalState) -> None:
        raise NotImplementedError

    def entered(self) -> None:
        """Called when the screen is shown after another one: start afresh."""

    def tick(self) -> None:
        """Called a few times a second while the screen is shown, for clocks and countdowns."""


class Header(QWidget):
    """Facility and unit on the left; on the right the time, or `right` on a screen that shows the time large."""

    def __init__(self, facility: str, location: str, right: QWidget | None = None) -> None:
        super().__init__()
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        left = QVBoxLayout()
        left.addWidget(label(facility, "subtitle", wrap=False))
        left.addWidget(label(location, "muted", wrap=False))
        row.addLayout(left)
        row.addStretch(1)
        self._clock = label("", "subtitle", wrap=False)
        row.addWidget(right or self._clock)
        self.tick()

    def tick(self) -> None:
        self._clock.setText(clock_time(datetime.now().astimezone()))


class SecretCorner:
    """Technician mode's hidden gesture: five taps in the top-left corner within three seconds. Taps there
    start nothing else, so a resident who finds it meets only a PIN."""

    TAPS = 5
    WITHIN_S = 3.0

    def __init__(self, post: Post, size: int) -> None:
        self._post = post
        self._size = size
        self._taps: list[float] = []

    def tapped(self, x: float, y: float) -> bool:
        """True when the tap was in the corner (and so is the gesture's, not the screen's)."""
        if x > self._size or y > self._size:
            self._taps.clear()
            return False
        now = time.monotonic()
        self._taps = [t for t in self._taps if now - t < self.WITHIN_S] + [now]
        if len(self._taps) >= self.TAPS:
            self._taps.clear()
            self._post(TechnicianGesture())
        return True


class ReadingChoices(QWidget):
    """The reading choices: larger text, and a button for each other language, named in that language,
    so a person who cannot read this one still finds theirs."""

    def __init__(self, post: Post, languages: tuple[str, ...] = LANGUAGES) -> None:
        """`languages`: () where the language can no longer change (after sign-in)."""
        super().__init__()
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addStretch(1)
        self._text_size = button("", "large-text", lambda: post(LargeTextToggled()))
        row.addWidget(self._text_size)
        self._buttons = {}
        for language in languages:
            choose = button(
                NATIVE_NAMES[language], f"language-{language}", lambda chosen=language: post(LanguageChosen(chosen))
            )
            self._buttons[language] = choose
            row.addWidget(choose)

    def render(self, state: TerminalState) -> None:
        self._text_size.setText(tr("Normal text") if state.large_text else tr("Larger text"))
        for language, choose in self._buttons.items():
            choose.setVisible(language != state.language)


def page_layout(widget: QWidget, scale: Scale) -> QVBoxLayout:
    layout = QVBoxLayout(widget)
    m = scale.px(40)
    layout.setContentsMargins(m, scale.px(28), m, m)
    layout.setSpacing(scale.px(20))
    return layout
