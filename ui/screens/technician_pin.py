"""The technician's PIN, on a keypad like the residents' (masked), after the hidden gesture."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QVBoxLayout

from kiosk.visit_machine import BackTapped, TechnicianPinEntered, TerminalState
from ui import theme
from ui.screens.base import Post, ScreenBase, page_layout
from ui.texts import problem_sentence, tr
from ui.widgets import Keypad, button, label

MAX_PIN = 12


class TechnicianPinScreen(ScreenBase):
    def __init__(self, post: Post, scale: theme.Scale) -> None:
        super().__init__(post, scale)
        self._pin = ""
        layout = page_layout(self, scale)
        layout.addWidget(label(tr("Technician"), "title"))
        row = QHBoxLayout()
        row.setSpacing(scale.px(40))
        layout.addLayout(row, 1)
        left = QVBoxLayout()
        left.setSpacing(scale.px(12))
        left.addWidget(label(tr("Technician PIN"), "subtitle"))
        self._field = button(" ", "field-technician-pin", lambda: None, role="field")
        left.addWidget(self._field)
        self._problem = label("", "problem")
        self._problem.hide()
        left.addWidget(self._problem)
        left.addStretch(1)
        actions = QHBoxLayout()
        actions.setSpacing(scale.px(16))
        actions.addWidget(button(tr("Back"), "back", lambda: post(BackTapped())))
        self._unlock = button(tr("Unlock"), "unlock", lambda: post(TechnicianPinEntered(self._pin)), role="primary")
        actions.addWidget(self._unlock)
        left.addLayout(actions)
        row.addLayout(left, 5)
        keypad = Keypad()
        keypad.pressed.connect(self._key)
        row.addWidget(keypad, 4)

    def entered(self) -> None:
        self._pin = ""
        self._show()

    def _key(self, key: str) -> None:
        if key == "clear":
            self._pin = ""
        elif key == "delete":
            self._pin = self._pin[:-1]
        elif len(self._pin) < MAX_PIN:
            self._pin += key
        self._show()

    def _show(self) -> None:
        self._field.setText("\u25cf" * len(self._pin) or " ")

    def render(self, state: TerminalState) -> None:
        self._unlock.setEnabled(not state.busy)
        self._problem.setVisible(state.problem is not None and not state.busy)
        if state.problem is not None and not state.busy:
            self._problem.setText(problem_sentence(state.problem))
            self._pin = ""  # a refused PIN is wiped, never kept on screen
            self._show()
