"""My visits: today's and upcoming visits, each a card; a ready visit has one large Start button."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from PySide6.QtCore import Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QHBoxLayout, QScrollArea, QVBoxLayout, QWidget

from kiosk.protocol import VisitStatus, VisitSummary
from kiosk.visit_machine import BackTapped, TerminalState, VisitChosen
from ui import theme
from ui.screens.base import Post, ReadingChoices, ScreenBase, page_layout
from ui.texts import clock_time, names, problem_sentence, status_text, tr
from ui.widgets import button, card, label

_JOINABLE = (VisitStatus.READY, VisitStatus.LIVE)


class VisitListScreen(ScreenBase):
    def __init__(self, post: Post, scale: theme.Scale) -> None:
        super().__init__(post, scale)
        layout = page_layout(self, scale)
        top = QHBoxLayout()
        self._greeting = label("", "title")
        top.addWidget(self._greeting, 1)
        self._reading = ReadingChoices(post, languages=())
        top.addWidget(self._reading, 0)
        top.addWidget(button(tr("Sign out"), "sign-out", lambda: post(BackTapped())), 0)
        layout.addLayout(top)
        layout.addWidget(label(tr("Your visits"), "subtitle"))
        self._problem = label("", "problem")
        self._problem.hide()
        layout.addWidget(self._problem)
        self._cards = QWidget()
        self._cards_layout = QVBoxLayout(self._cards)
        self._cards_layout.setContentsMargins(0, 0, 0, 0)
        self._cards_layout.setSpacing(scale.px(16))
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self._cards)
        scroll.setStyleSheet("QScrollArea, QScrollArea > QWidget > QWidget { background: transparent; border: none; }")
        # Pages turned by large buttons, not a thin scroll bar or a swipe: everything here takes one tap.
        scroll.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        layout.addWidget(scroll, 1)
        self._scroll = scroll
        pager = QHBoxLayout()
        self._earlier = button(tr("Earlier visits"), "page-up", lambda: self._turn(-1))
        self._later = button(tr("More visits"), "page-down", lambda: self._turn(1))
        pager.addWidget(self._earlier)
        pager.addWidget(self._later)
        layout.addLayout(pager)
        bar = scroll.verticalScrollBar()
        bar.rangeChanged.connect(lambda *_: self._update_pager())
        bar.valueChanged.connect(lambda *_: self._update_pager())
        self._update_pager()
        self._shown: tuple[VisitSummary, ...] | None = None
        self._minute = 0

    def _turn(self, direction: int) -> None:
        bar = self._scroll.verticalScrollBar()
        bar.setValue(bar.value() + direction * self._scroll.viewport().height() * 4 // 5)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_cards()

    def _fit_cards(self) -> None:
        # A scroll area does not ask wrapped words how tall they need to be at its width: tell it.
        width = self._scroll.viewport().width()
        self._cards.setMinimumHeight(max(0, self._cards_layout.totalHeightForWidth(width)))

    def _update_pager(self) -> None:
        bar = self._scroll.verticalScrollBar()
        self._earlier.setVisible(bar.value() > bar.minimum())
        self._later.setVisible(bar.value() < bar.maximum())

    def render(self, state: TerminalState) -> None:
        self._reading.render(state)
        self._greeting.setText(tr("Hello, {name}").format(name=state.resident_name))
        self._problem.setVisible(state.problem is not None)
        if state.problem is not None:
            self._problem.setText(problem_sentence(state.problem, state.selected))
        if state.visits != self._shown:
            self._shown = state.visits
            self._minute = self._current_minute()
            self._rebuild(state.visits)

    @staticmethod
    def _current_minute() -> int:
        return int(time.time() // 60)

    def tick(self) -> None:
        # "Opens in 12 minutes" counts down: the cards are made again once a minute while one does.
        scheduled = any(v.status is VisitStatus.SCHEDULED for v in self._shown or ())
        if scheduled and self._current_minute() != self._minute:
            self._minute = self._current_minute()
            self._rebuild(self._shown or ())

    def _rebuild(self, visits: tuple[VisitSummary, ...]) -> None:
        while self._cards_layout.count():
            item = self._cards_layout.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        if not visits:
            self._cards_layout.addWidget(label(tr("You have no visits scheduled today."), "subtitle"))
        for visit in visits:
            self._cards_layout.addWidget(self._card(visit))
        self._cards_layout.addStretch(1)
        self._fit_cards()

    def _card(self, visit: VisitSummary) -> QWidget:
        s = self.scale
        frame = card()
        frame.setObjectName(f"visit-{visit.visit_id}")
        row = QHBoxLayout(frame)
        row.setContentsMargins(s.px(28), s.px(20), s.px(28), s.px(20))
        row.setSpacing(s.px(24))
        text = QVBoxLayout()
        text.addWidget(label(tr("Visit with {names}").format(names=names(visit.visitors)), "title"))
        when = tr("{start} to {end}").format(start=clock_time(visit.starts_at), end=clock_time(visit.ends_at))
        if visit.place:
            when = tr("{when} · {place}").format(when=when, place=visit.place)
        text.addWidget(label(when, "subtitle"))
        if visit.status_reason:
            text.addWidget(label(visit.status_reason, "muted"))
        row.addLayout(text, 1)
        joinable = visit.status in _JOINABLE
        chip = label(status_text(visit, datetime.now(UTC)), "chip-ready" if joinable else "chip", wrap=False)
        row.addWidget(chip, 0, Qt.AlignmentFlag.AlignVCenter)
        action = button(
            tr("Start") if joinable else tr("Details"),
            f"choose-{visit.visit_id}",
            lambda v=visit.visit_id: self.post(VisitChosen(v)),
            role="primary" if joinable else "",
        )
        action.setMinimumWidth(max(s.px(200), action.sizeHint().width()))
        row.addWidget(action)
        return frame
