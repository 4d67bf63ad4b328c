"""The check every screenshot passes: no visible words cut short, wrapped past their box or off the window."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QLabel, QPushButton, QWidget

from ui.touch_script import cut_off_texts

pytestmark = pytest.mark.ui


@pytest.fixture
def window(qtbot):
    root = QWidget()
    root.resize(400, 300)
    qtbot.addWidget(root)
    return root


def cut_off(window: QWidget) -> list[str]:
    window.show()
    return cut_off_texts(window)


def test_words_that_fit_pass(window):
    QPushButton("End visit", window).setGeometry(10, 10, 200, 60)
    label = QLabel("A short sentence that wraps if it must.", window)
    label.setWordWrap(True)
    label.setGeometry(10, 100, 300, 80)
    assert cut_off(window) == []


def test_a_button_too_narrow_for_its_words_is_caught(window):
    QPushButton("Terminar la visita", window).setGeometry(10, 10, 60, 60)
    assert cut_off(window) == ["Terminar la visita"]


def test_wrapped_words_that_run_past_the_bottom_are_caught(window):
    label = QLabel("A long sentence that needs several lines at this width and cannot fit in one.", window)
    label.setWordWrap(True)
    label.setGeometry(10, 10, 120, 20)
    assert cut_off(window) == [label.text()]


def test_words_placed_off_the_window_are_caught(window):
    QLabel("Off the edge", window).setGeometry(380, 10, 200, 30)
    assert cut_off(window) == ["Off the edge"]


def test_hidden_words_do_not_count(window):
    QPushButton("Terminar la visita", window).setGeometry(10, 10, 60, 60)
    window.show()
    window.findChild(QPushButton).hide()
    assert cut_off_texts(window) == []
