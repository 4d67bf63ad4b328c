"""Identify: the resident's ID and PIN on a large keypad, the PIN masked, with clear errors."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QVBoxLayout

from kiosk.visit_machine import BackTapped, CredentialsEntered, Problem, TerminalState
from ui import theme
from ui.screens.base import Post, ReadingChoices, ScreenBase, page_layout
from ui.texts import problem_sentence, tr
from ui.widgets import Keypad, button, label, set_role

MAX_ID = 12
MAX_PIN = 8


class IdentifyScreen(ScreenBase):
    def __init__(self, post: Post, scale: theme.Scale) -> None:
        super().__init__(post, scale)
        self._id = ""
        self._pin = ""
        self._active = "id"
        self._was_busy = False
        self._shown_problem: Problem | None = None
        layout = page_layout(self, scale)
        top = QHBoxLayout()
        top.addWidget(label(tr("Sign in"), "title"), 1)
        self._languages = ReadingChoices(post)
        top.addWidget(self._languages)
        layout.addLayout(top)
        row = QHBoxLayout()
        row.setSpacing(scale.px(40))
        layout.addLayout(row, 1)

        left = QVBoxLayout()
        left.setSpacing(scale.px(12))
        left.addWidget(label(tr("ID number"), "subtitle"))
        self._id_field = button("", "field-id", lambda: self._activate("id"), role="field")
        left.addWidget(self._id_field)
        left.addSpacing(scale.px(8))
        left.addWidget(label(tr("PIN"), "subtitle"))
        self._pin_field = button("", "field-pin", lambda: self._activate("pin"), role="field")
        left.addWidget(self._pin_field)
        left.addSpacing(scale.px(8))
        self._problem = label("", "problem")
        self._problem.hide()
        left.addWidget(self._problem)
        self._busy = label(tr("Checking…"), "subtitle")
        self._busy.hide()
        left.addWidget(self._busy)
        left.addStretch(1)
        actions = QHBoxLayout()
        actions.setSpacing(scale.px(16))
        self._back = button(tr("Back"), "back", lambda: post(BackTapped()))
        self._continue = button(tr("Next"), "continue", self._submit, role="primary")
        actions.addWidget(self._back)
        actions.addWidget(self._continue)
        left.addLayout(actions)
        row.addLayout(left, 5)

        self._keypad = Keypad()
        self._keypad.pressed.connect(self._key)
        row.addWidget(self._keypad, 4)
        self._refresh()

    def entered(self) -> None:
        self._id, self._pin, self._active = "", "", "id"
        self._shown_problem = None
        self._refresh()

    def _activate(self, field: str) -> None:
        self._active = field
        self._refresh()

    def _key(self, key: str) -> None:
        value = self._id if self._active == "id" else self._pin
        if key == "clear":
            value = ""
        elif key == "delete":
            value = value[:-1]
        elif len(value) < (MAX_ID if self._active == "id" else MAX_PIN):
            value += key
        if self._active == "id":
            self._id = value
        else:
            self._pin = value
        self._refresh()

    def _submit(self) -> None:
        if self._active == "id" and not self._pin:
            self._activate("pin")
            return
        self.post(CredentialsEntered(self._id, self._pin))

    def _refresh(self) -> None:
        self._id_field.setText(self._id or " ")
        self._pin_field.setText("\u25cf" * len(self._pin) or " ")
        for field, name in ((self._id_field, "id"), (self._pin_field, "pin")):
            field.setProperty("active", "true" if self._active == name else "false")
            set_role(field, "field")
        self._continue.setText(tr("Next") if self._active == "id" and not self._pin else tr("Sign in"))

    def render(self, state: TerminalState) -> None:
        self._languages.render(state)
        refused = (
            state.problem is not None
            and not state.busy
            and (self._was_busy or state.problem is not self._shown_problem)
        )
        self._was_busy, self._shown_problem = state.busy, state.problem
        self._busy.setVisible(state.busy)
        for widget in (self._continue, self._back, self._keypad, self._id_field, self._pin_field):
            widget.setEnabled(not state.busy)
        self._problem.setVisible(state.problem is not None and not state.busy)
        if refused and state.problem is not None:
            self._problem.setText(problem_sentence(state.problem, until=state.locked_until))
            # After a refusal the PIN is wiped and asked for again; the ID stays for correction.
            self._pin = ""
            self._active = "pin" if self._id and state.problem is not Problem.ID_FORMAT else "id"
            self._refresh()
