"""Out of service: a device a visit needs is not working. It says which in plain words, that staff know,
and comes back by itself when the device returns; nothing here needs a tap.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QVBoxLayout

from kiosk.visit_machine import TerminalState
from ui import theme
from ui.screens.base import Header, Post, ReadingChoices, ScreenBase, SecretCorner, page_layout
from ui.texts import out_of_service_sentence, tr
from ui.widgets import card, label


class OutOfServiceScreen(ScreenBase):
    def __init__(self, post: Post, scale: theme.Scale, facility: str, location: str) -> None:
        super().__init__(post, scale)
        layout = page_layout(self, scale)
        self._corner = SecretCorner(post, scale.target)
        self._header = Header(facility, location)
        layout.addWidget(self._header)
        layout.addStretch(1)
        box = card()
        inner = QVBoxLayout(box)
        inner.setContentsMargins(scale.px(48), scale.px(40), scale.px(48), scale.px(40))
        inner.setSpacing(scale.px(18))
        inner.addWidget(
            label(tr("This terminal cannot take visits right now"), "title", align=Qt.AlignmentFlag.AlignCenter)
        )
        self._reason = label("", "subtitle", align=Qt.AlignmentFlag.AlignCenter)
        inner.addWidget(self._reason)
        inner.addWidget(
            label(
                tr("Staff have been told. The terminal will be ready again by itself as soon as it is fixed."),
                "subtitle",
                align=Qt.AlignmentFlag.AlignCenter,
            )
        )
        inner.addWidget(
            label(
                tr("If you have a visit now, please tell an officer so it can be moved."),
                "muted",
                align=Qt.AlignmentFlag.AlignCenter,
            )
        )
        layout.addWidget(box)
        layout.addStretch(1)
        self._languages = ReadingChoices(post)
        layout.addWidget(self._languages)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self._corner.tapped(event.position().x(), event.position().y())

    def render(self, state: TerminalState) -> None:
        self._languages.render(state)
        self._reason.setText(out_of_service_sentence(state.out_of_service))

    def tick(self) -> None:
        self._header.tick()
