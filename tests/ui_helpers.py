"""Driving the kiosk window as a person would: taps on named buttons, reading what is shown,
and saving a screenshot of each screen."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QPushButton, QWidget
from pytestqt.qtbot import QtBot


def tap(qtbot: QtBot, root: QWidget, name: str) -> None:
    target = root.findChild(QPushButton, name)
    assert target is not None, f"no button {name!r} on screen"
    assert target.isVisible() and target.isEnabled(), f"button {name!r} cannot be tapped"
    qtbot.mouseClick(target, Qt.MouseButton.LeftButton)


def type_digits(qtbot: QtBot, root: QWidget, digits: str) -> None:
    for digit in digits:
        tap(qtbot, root, f"key-{digit}")


def visible_text(root: QWidget) -> str:
    """Everything a person can read on the current screen, labels and buttons."""
    parts = [w.text() for w in root.findChildren(QLabel) if w.isVisible() and w.text()]
    parts += [w.text() for w in root.findChildren(QPushButton) if w.isVisible() and w.text()]
    return "\n".join(parts)


def screenshot(root: QWidget, folder: Path, name: str) -> Path:
    path = folder / f"{name}.png"
    root.grab().save(str(path))
    return path
