"""Driving the kiosk window as a person would: taps on named buttons, waiting for what is shown,
reading it back and saving screenshots. Used by the scripted demo and by the UI tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QEventLoop, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QLabel, QPushButton, QScrollArea, QWidget


def tap(root: QWidget, name: str, appear_within_s: float = 2.0) -> None:
    """Taps the button a person can see; waits a moment for one that is still being laid out."""

    def shown() -> list[QPushButton]:
        return [b for b in root.findChildren(QPushButton, name) if b.isVisible() and b.isEnabled()]

    try:
        wait_until(shown, appear_within_s, f"button {name!r}")
    except TimeoutError:
        raise LookupError(f"no button {name!r} a person could tap on this screen") from None
    QTest.mouseClick(shown()[0], Qt.MouseButton.LeftButton)


def type_digits(root: QWidget, digits: str) -> None:
    for digit in digits:
        tap(root, f"key-{digit}")


def wait_until(condition: Callable[[], object], timeout_s: float, what: str) -> None:
    """Runs the Qt event loop until `condition()` holds; TimeoutError naming `what` otherwise."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout_s:.0f} s for {what}")
        QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
        time.sleep(0.01)


def visible_text(root: QWidget) -> str:
    """Everything a person can read on the current screen, labels and buttons."""
    parts = [w.text() for w in root.findChildren(QLabel) if w.isVisible() and w.text()]
    parts += [w.text() for w in root.findChildren(QPushButton) if w.isVisible() and w.text()]
    return "\n".join(parts)


def cut_off_texts(root: QWidget) -> list[str]:
    """The visible words that do not fit their box (cut short, wrapped past its bottom, or off the window)."""
    window = root.window().rect()
    cut = []
    for widget in root.findChildren(QLabel) + root.findChildren(QPushButton):
        if not widget.isVisible() or not widget.text() or widget.text().isspace():
            continue
        if isinstance(widget, QLabel) and widget.wordWrap():
            fits = widget.heightForWidth(widget.width()) <= widget.height() + 1  # a pixel of rounding
        else:
            hint = widget.sizeHint()
            fits = hint.width() <= widget.width() + 1 and hint.height() <= widget.height() + 1
        placed = widget.rect().translated(widget.mapTo(root.window(), widget.rect().topLeft()))
        scrolled = any(isinstance(parent, QScrollArea) for parent in _ancestors(widget))  # paged into view
        if not fits or not (scrolled or window.contains(placed)):
            cut.append(widget.text())
    return cut


def _ancestors(widget: QWidget) -> list[QWidget]:
    found = []
    while (widget := widget.parentWidget()) is not None:
        found.append(widget)
    return found


def screenshot(root: QWidget, folder: Path, name: str) -> Path:
    path = folder / f"{name}.png"
    root.grab().save(str(path))
    return path
