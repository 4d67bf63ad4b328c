"""Before the visit: the recording notice to accept, a self-view to frame yourself, and
"lift the handset to start"."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QHBoxLayout, QVBoxLayout, QWidget

from kiosk.visit_machine import BackTapped, NoticeAccepted, TerminalState
from ui import theme
from ui.screens.base import Post, ScreenBase, page_layout
from ui.texts import names, problem_sentence, tr
from ui.video_view import VideoView
from ui.widgets import button, card, label


class PreVisitScreen(ScreenBase):
    def __init__(self, post: Post, scale: theme.Scale) -> None:
        super().__init__(post, scale)
        layout = page_layout(self, scale)
        self._title = label("", "title")
        layout.addWidget(self._title)
        row = QHBoxLayout()
        row.setSpacing(scale.px(32))
        layout.addLayout(row, 1)

        preview = QVBoxLayout()
        self.self_view = VideoView(tr("Starting the camera…"))
        preview.addWidget(self.self_view, 1)
        preview.addWidget(
            label(tr("This is how your visitors will see you."), "muted", align=Qt.AlignmentFlag.AlignCenter)
        )
        row.addLayout(preview, 5)

        column = QWidget()
        # A fixed width lets wrapped sentences report their true height, so nothing is clipped.
        column.setFixedWidth(scale.px(520))
        side = QVBoxLayout(column)
        side.setContentsMargins(0, 0, 0, 0)
        side.setSpacing(scale.px(16))
        notice = card()
        inner = QVBoxLayout(notice)
        inner.setContentsMargins(scale.px(28), scale.px(24), scale.px(28), scale.px(24))
        inner.setSpacing(scale.px(14))
        self._notice = label("", "subtitle")
        inner.addWidget(self._notice)
        self._accept = button(tr("I understand"), "accept", lambda: post(NoticeAccepted()), role="primary")
        inner.addWidget(self._accept)
        self._lift = label(tr("Lift the handset to start your visit."), "title")
        inner.addWidget(self._lift)
        side.addWidget(notice)
        self._problem = label("", "problem")
        self._problem.hide()
        side.addWidget(self._problem)
        side.addStretch(1)
        self._back = button(tr("Back to my visits"), "back", lambda: post(BackTapped()))
        side.addWidget(self._back)
        row.addWidget(column)

    def show_self_view(self, image: QImage) -> None:
        self.self_view.show_frame(image)

    def render(self, state: TerminalState) -> None:
        visit = state.selected
        if visit is None:
            return
        self._title.setText(tr("Visit with {names}").format(names=names(visit.visitors)))
        self._notice.setText(
            tr("This visit is recorded and may be watched by staff.")
            if visit.recorded
            else tr("This is a private visit. It is not recorded or watched.")
        )
        self._accept.setVisible(not state.notice_accepted)
        self._lift.setVisible(state.notice_accepted and state.problem is None)
        self._lift.setText(tr("Connecting your visit…") if state.busy else tr("Lift the handset to start your visit."))
        self._back.setEnabled(not state.busy)
        self._problem.setVisible(state.problem is not None)
        if state.problem is not None:
            self._problem.setText(problem_sentence(state.problem, visit))
