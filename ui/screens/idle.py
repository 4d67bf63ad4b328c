"""Idle: the facility, the date and time, one large invitation to start, the visits ready here (no more
about the person than the facility allows) and the facility's notices, such as how to report abuse."""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QBoxLayout, QVBoxLayout

from kiosk.protocol import Notice
from kiosk.visit_machine import StartTapped, TerminalState
from ui import theme
from ui.screens.base import Header, Post, ReadingChoices, ScreenBase, SecretCorner, page_layout
from ui.texts import callout_sentence, clock_time, long_date, problem_sentence, tr
from ui.widgets import button, card, label

MAX_CALLOUTS = 3  # more would push the invitation off a small screen


class IdleScreen(ScreenBase):
    def __init__(self, post: Post, scale: theme.Scale, facility: str, location: str) -> None:
        super().__init__(post, scale)
        page = page_layout(self, scale)
        self._corner = SecretCorner(post, scale.target)
        self._languages = ReadingChoices(post)
        self._header = Header(facility, location, right=self._languages)
        page.addWidget(self._header)
        # Side by side on a landscape screen, one above the other on a portrait one.
        columns = QBoxLayout(QBoxLayout.Direction.LeftToRight if scale.landscape else QBoxLayout.Direction.TopToBottom)
        columns.setSpacing(scale.px(32))
        page.addLayout(columns, 1)
        layout = QVBoxLayout()
        columns.addLayout(layout, 3)
        layout.addStretch(2)
        self._time = label("", "clock", align=Qt.AlignmentFlag.AlignCenter, wrap=False)
        self._date = label("", "subtitle", align=Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(self._time)
        layout.addWidget(self._date)
        layout.addStretch(2)
        self._problem = label("", "problem")
        self._problem.hide()
        layout.addWidget(self._problem)
        # After a restart in the middle of a visit, for the moment it takes to come back: the person at the handset
        # must know their visit is not lost.
        self._resuming = label(
            tr("Your visit is coming back. One moment, please."), "callout", align=Qt.AlignmentFlag.AlignCenter
        )
        self._resuming.hide()
        layout.addWidget(self._resuming)
        invite = self._invite = card()
        inner = QVBoxLayout(invite)
        inner.setContentsMargins(scale.px(32), scale.px(22), scale.px(32), scale.px(22))
        inner.setSpacing(scale.px(12))
        inner.addWidget(label(tr("Video visits"), "title", align=Qt.AlignmentFlag.AlignCenter))
        inner.addWidget(
            label(
                tr("Touch the screen to sign in and see your visits."), "subtitle", align=Qt.AlignmentFlag.AlignCenter
            )
        )
        inner.addWidget(button(tr("Start"), "start", lambda: post(StartTapped()), role="primary"))
        layout.addWidget(invite)
        self._notices = card()
        self._notices_layout = QVBoxLayout(self._notices)
        self._notices_layout.setContentsMargins(scale.px(28), scale.px(24), scale.px(28), scale.px(24))
        self._notices_layout.setSpacing(scale.px(8))
        self._notices.hide()
        side = QVBoxLayout()
        side.setSpacing(scale.px(16))
        side.addStretch(1)
        self._callouts = label("", "callout")
        self._callouts.hide()
        side.addWidget(self._callouts)
        side.addWidget(self._notices)
        side.addStretch(1)
        columns.addLayout(side, 2)
        self._shown_notices: list[Notice] | None = None
        self.tick()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if not self._corner.tapped(event.position().x(), event.position().y()):
            self.post(StartTapped())

    def render(self, state: TerminalState) -> None:
        self._languages.render(state)
        info = state.idle_info
        sentences = [callout_sentence(c) for c in info.callouts[:MAX_CALLOUTS]] if info else []
        callouts = [sentence for sentence in sentences if sentence]
        self._callouts.setText("\n".join(callouts))
        self._callouts.setVisible(bool(callouts))
        notices = list(info.notices) if info else []
        if notices != self._shown_notices:
            self._shown_notices = notices
            self._show_notices(notices)
        self._resuming.setVisible(state.busy)
        self._invite.setVisible(not state.busy)  # nobody signs in while the visit comes back
        self._problem.setVisible(state.problem is not None)
        if state.problem is not None:
            self._problem.setText(problem_sentence(state.problem))

    def _show_notices(self, notices: list[Notice]) -> None:
        while self._notices_layout.count():
            item = self._notices_layout.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        for index, notice in enumerate(notices):
            if index:
                self._notices_layout.addSpacing(self.scale.px(12))
            self._notices_layout.addWidget(label(notice.title, "notice-title"))
            self._notices_layout.addWidget(label(notice.body, "muted"))
        self._notices.setVisible(bool(notices))

    def tick(self) -> None:
        now = datetime.now().astimezone()
        self._time.setText(clock_time(now))
        self._date.setText(long_date(now))
        self._header.tick()
