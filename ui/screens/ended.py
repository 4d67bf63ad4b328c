"""Ended: why the visit ended and how long it lasted; back to the start by itself."""

from __future__ import annotations

import math
import time

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QVBoxLayout

from kiosk.visit_machine import DoneTapped, TerminalState
from ui import theme
from ui.screens.base import Post, ScreenBase, page_layout
from ui.texts import duration, end_sentence, tr
from ui.widgets import button, card, label


class EndedScreen(ScreenBase):
    def __init__(self, post: Post, scale: theme.Scale, back_after_s: float) -> None:
        super().__init__(post, scale)
        self._back_after_s = back_after_s
        self._entered_at = time.monotonic()
        layout = page_layout(self, scale)
        layout.addStretch(1)
        box = card()
        inner = QVBoxLayout(box)
        inner.setContentsMargins(scale.px(48), scale.px(40), scale.px(48), scale.px(40))
        inner.setSpacing(scale.px(18))
        inner.addWidget(label(tr("Your visit has ended"), "title", align=Qt.AlignmentFlag.AlignCenter))
        self._reason = label("", "subtitle", align=Qt.AlignmentFlag.AlignCenter)
        inner.addWidget(self._reason)
        self._duration = label("", "subtitle", align=Qt.AlignmentFlag.AlignCenter)
        inner.addWidget(self._duration)
        inner.addSpacing(scale.px(8))
        inner.addWidget(button(tr("Done"), "done", lambda: post(DoneTapped()), role="primary"))
        layout.addWidget(box)
        self._countdown = label("", "muted", align=Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(self._countdown)
        layout.addStretch(1)

    def entered(self) -> None:
        self._entered_at = time.monotonic()
        self.tick()

    def render(self, state: TerminalState) -> None:
        if state.ended is None:
            return
        self._reason.setText(end_sentence(state.ended.reason, state.ended.message))
        self._duration.setText(tr("Visit length: {time}").format(time=duration(state.ended.duration_s)))

    def tick(self) -> None:
        left = max(0, math.ceil(self._back_after_s - (time.monotonic() - self._entered_at)))
        self._countdown.setText(tr("Returning to the start screen in %n seconds.", "", left))
