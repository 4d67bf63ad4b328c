"""Idle: the facility, the date and time, and one large invitation to start."""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QVBoxLayout

from kiosk.visit_machine import StartTapped, TerminalState
from ui import theme
from ui.screens.base import Header, Post, ReadingChoices, ScreenBase, page_layout
from ui.texts import clock_time, long_date, problem_sentence, tr
from ui.widgets import button, card, label


class IdleScreen(ScreenBase):
    def __init__(self, post: Post, scale: theme.Scale, facility: str, location: str) -> None:
        super().__init__(post, scale)
        layout = page_layout(self, scale)
        self._header = Header(facility, location)
        layout.addWidget(self._header)
        layout.addStretch(2)
        self._time = label("", "clock", align=Qt.AlignmentFlag.AlignCenter, wrap=False)
        self._date = label("", "subtitle", align=Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(self._time)
        layout.addWidget(self._date)
        layout.addStretch(2)
        self._problem = label("", "problem")
        self._problem.hide()
        layout.addWidget(self._problem)
        invite = card()
        inner = QVBoxLayout(invite)
        inner.setContentsMargins(scale.px(32), scale.px(28), scale.px(32), scale.px(28))
        inner.setSpacing(scale.px(16))
        inner.addWidget(label(tr("Video visits"), "title", align=Qt.AlignmentFlag.AlignCenter))
        inner.addWidget(
            label(
                tr("Touch the screen to sign in and see your visits."), "subtitle", align=Qt.AlignmentFlag.AlignCenter
            )
        )
        inner.addWidget(button(tr("Start"), "start", lambda: post(StartTapped()), role="primary"))
        layout.addWidget(invite)
        self._languages = ReadingChoices(post)
        layout.addWidget(self._languages)
        self.tick()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.post(StartTapped())

    def render(self, state: TerminalState) -> None:
        self._languages.render(state)
        self._problem.setVisible(state.problem is not None)
        if state.problem is not None:
            self._problem.setText(problem_sentence(state.problem))

    def tick(self) -> None:
        now = datetime.now().astimezone()
        self._time.setText(clock_time(now))
        self._date.setText(long_date(now))
        self._header.tick()
