"""The terminal cannot be left: on the real kiosk window, no key or shortcut does anything, it will not close,
leave full screen or lose the screen, no menu opens, no text is selectable, the cursor is hidden; taps still work.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from PySide6.QtCore import QCoreApplication, QEvent, QObject, QPoint, Qt
from PySide6.QtGui import QAction, QContextMenuEvent, QKeySequence, QShortcut
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QLabel, QLineEdit, QPushButton, QWidget

from drivers.simulated_camera import SimulatedCamera
from kiosk.visit_machine import Event, StartTapped, Touched
from tests.conftest import kiosk_config
from ui.bridge import CoreBridge
from ui.lockdown import Lockdown, apply_keyboard_environment, keyboard_environment, lock_window
from ui.window import KioskWindow

pytestmark = pytest.mark.ui

Alt, Ctrl, No = Qt.KeyboardModifier.AltModifier, Qt.KeyboardModifier.ControlModifier, Qt.KeyboardModifier.NoModifier
# The ways out a keyboard offers on a desktop, as (sequence, key, modifiers).
WAYS_OUT = [
    ("Alt+F4", Qt.Key.Key_F4, Alt),
    ("Alt+Tab", Qt.Key.Key_Tab, Alt),
    ("Ctrl+Q", Qt.Key.Key_Q, Ctrl),
    ("Ctrl+W", Qt.Key.Key_W, Ctrl),
    ("Ctrl+Alt+Backspace", Qt.Key.Key_Backspace, Ctrl | Alt),
    ("Esc", Qt.Key.Key_Escape, No),
    ("F11", Qt.Key.Key_F11, No),
    ("Alt+Space", Qt.Key.Key_Space, Alt),
]


class KeyRecorder(QWidget):
    """A focusable widget inside the kiosk window that notes every key and menu request reaching it."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.DefaultContextMenu)
        self.seen: list[str] = []

    def keyPressEvent(self, event) -> None:
        self.seen.append(f"key {event.key()}")

    def contextMenuEvent(self, event) -> None:
        self.seen.append("menu")


class Kiosk:
    """A real kiosk window with its posts recorded, and a way to lock it as the app does."""

    def __init__(self, window: KioskWindow, posted: list[Event]) -> None:
        self.window = window
        self.posted = posted
        self.lockdown = Lockdown(window)
        self.activity = window.activity_filter()
        self.recorder = KeyRecorder(window)
        self._installed: list[object] = []

    def lock(self, qtbot, *, activity: bool = True) -> None:
        app = QApplication.instance()
        for installed in [self.lockdown, self.activity] if activity else [self.lockdown]:
            app.installEventFilter(installed)
            self._installed.append(installed)
        lock_window(self.window, None)
        self.settle(qtbot)

    def settle(self, qtbot) -> None:
        self.window.activateWindow()
        qtbot.waitUntil(lambda: QApplication.activeWindow() is self.window)
        self.recorder.setFocus()
        qtbot.waitUntil(lambda: QApplication.focusWidget() is self.recorder)
        self.posted.clear()

    def unlock(self) -> None:
        for installed in self._installed:
            QApplication.instance().removeEventFilter(installed)
        self.lockdown.release()
        self.window.allow_close()


@pytest.fixture
def kiosk(qtbot, tmp_path) -> Iterator[Kiosk]:
    posted: list[Event] = []
    config = kiosk_config("http://127.0.0.1:9", tmp_path / "token")
    window = KioskWindow(config, CoreBridge(SimulatedCamera()), posted.append)
    kiosk = Kiosk(window, posted)
    yield kiosk
    kiosk.unlock()  # before closing: pytest-qt would close a window given to qtbot while it is still locked
    window.close()
    window.deleteLater()


def shortcuts_on(window: QWidget) -> list[str]:
    """A QShortcut for each way out, as a desktop app would have; returns the list the fired ones go to."""
    fired: list[str] = []
    for sequence, _key, _modifiers in WAYS_OUT:
        shortcut = QShortcut(QKeySequence(sequence), window)
        shortcut.activated.connect(lambda sequence=sequence: fired.append(sequence))
    return fired


def press_every_way_out(kiosk: Kiosk) -> None:
    for _sequence, key, modifiers in WAYS_OUT:
        QTest.keyClick(kiosk.recorder, key, modifiers)  # to the focus widget, as a real keyboard's keys go
        QCoreApplication.processEvents()


def full_screen_only(window: QWidget) -> bool:
    return window.windowState() & ~Qt.WindowState.WindowActive == Qt.WindowState.WindowFullScreen


def assert_still_locked(kiosk: Kiosk) -> None:
    window = kiosk.window
    assert window.isVisible() and full_screen_only(window)
    assert window.geometry() == window.screen().geometry()
    assert QApplication.activeWindow() is window


def test_without_the_lockdown_the_keys_would_do_something(kiosk, qtbot):
    """The control: the same key presses fire the shortcuts and reach the widget when nothing is locked."""
    fired = shortcuts_on(kiosk.window)
    kiosk.window.show()
    kiosk.settle(qtbot)
    press_every_way_out(kiosk)
    assert fired == [sequence for sequence, _key, _modifiers in WAYS_OUT]
    QTest.keyClick(kiosk.recorder, Qt.Key.Key_A)
    assert f"key {int(Qt.Key.Key_A.value)}" in kiosk.recorder.seen


@pytest.mark.parametrize("activity", [True, False], ids=["with-activity-filter", "lockdown-alone"])
def test_no_key_or_shortcut_does_anything(kiosk, qtbot, activity):
    fired = shortcuts_on(kiosk.window)
    kiosk.lock(qtbot, activity=activity)
    press_every_way_out(kiosk)
    QTest.keyClicks(kiosk.recorder, "exit")
    assert fired == [], "a shortcut fired"
    assert kiosk.recorder.seen == [], "a key reached a widget"
    assert kiosk.posted == [], "a key posted something to the core"
    assert_still_locked(kiosk)


def test_a_window_action_with_a_shortcut_does_not_fire(kiosk, qtbot):
    triggered: list[bool] = []
    quit_action = QAction("Quit", kiosk.window)
    quit_action.setShortcut(QKeySequence("Ctrl+Q"))
    quit_action.triggered.connect(lambda _checked=False: triggered.append(True))
    kiosk.window.addAction(quit_action)
    kiosk.lock(qtbot, activity=False)
    QTest.keyClick(kiosk.recorder, Qt.Key.Key_Q, Ctrl)
    assert triggered == []
    kiosk.unlock()  # the control: the same press triggers it once the lockdown is gone
    QTest.keyClick(kiosk.recorder, Qt.Key.Key_Q, Ctrl)
    assert triggered == [True]


def test_closing_is_refused_by_the_window_and_by_the_lockdown(kiosk, qtbot):
    kiosk.lock(qtbot)
    assert kiosk.window.close() is False
    assert kiosk.window.windowHandle().close() is False  # what a window manager's close (Alt+F4) sends
    assert_still_locked(kiosk)
    kiosk.window.allow_close()  # the window alone would now close: the lockdown still refuses
    assert kiosk.window.close() is False
    assert_still_locked(kiosk)
    kiosk.lockdown.release()  # shutting down
    assert kiosk.window.close() is True


def test_a_request_to_quit_the_application_is_refused(kiosk, qtbot):
    """What Qt's own Ctrl+Alt+Backspace does (quit()): Qt would then close every window that lets itself close."""
    app, quit_request = QApplication.instance(), QEvent(QEvent.Type.Quit)
    assert kiosk.lockdown.eventFilter(app, quit_request) is True, "the lockdown must refuse it by itself"
    other = QWidget()
    qtbot.addWidget(other)
    other.show()
    kiosk.lock(qtbot)
    assert QCoreApplication.sendEvent(app, quit_request) is True
    assert other.isVisible()
    assert_still_locked(kiosk)


def test_context_menus_are_swallowed(kiosk, qtbot):
    kiosk.lock(qtbot, activity=False)
    centre = kiosk.recorder.rect().center()
    for reason in (QContextMenuEvent.Reason.Mouse, QContextMenuEvent.Reason.Keyboard):
        menu = QContextMenuEvent(reason, centre, kiosk.recorder.mapToGlobal(centre))
        assert QCoreApplication.sendEvent(kiosk.recorder, menu) is True
    assert kiosk.recorder.seen == []


def test_no_label_text_can_be_selected(kiosk, qtbot):
    kiosk.lock(qtbot)
    labels = kiosk.window.findChildren(QLabel)
    assert labels and all(t.textInteractionFlags() == Qt.TextInteractionFlag.NoTextInteraction for t in labels)
    # A label made later, selectable: polished without selection when it is shown.
    later = QLabel("Made after the lock")
    later.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    screen = kiosk.window.screens[kiosk.window.current]
    screen.layout().addWidget(later)
    qtbot.waitUntil(later.isVisible)
    assert later.textInteractionFlags() == Qt.TextInteractionFlag.NoTextInteraction
    # Made selectable again after that: a press on it takes the selection away before it starts.
    later.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    start, end = QPoint(2, later.height() // 2), QPoint(later.width() - 2, later.height() // 2)
    QTest.mousePress(later, Qt.MouseButton.LeftButton, No, start)
    QTest.mouseMove(later, end)
    QTest.mouseRelease(later, Qt.MouseButton.LeftButton, No, end)
    QTest.mouseDClick(later, Qt.MouseButton.LeftButton, No, start)
    assert later.textInteractionFlags() == Qt.TextInteractionFlag.NoTextInteraction
    assert not later.hasSelectedText()


def test_the_cursor_is_blank_even_over_a_widget_with_its_own(kiosk, qtbot):
    kiosk.lock(qtbot)
    assert kiosk.window.cursor().shape() == Qt.CursorShape.BlankCursor
    field = QLineEdit()  # sets an I-beam cursor of its own
    kiosk.window.screens[kiosk.window.current].layout().addWidget(field)
    qtbot.waitUntil(field.isVisible)
    assert field.cursor().shape() == Qt.CursorShape.BlankCursor


def test_the_window_is_framed_for_a_kiosk(kiosk, qtbot):
    kiosk.lock(qtbot)
    flags = kiosk.window.windowFlags()
    assert flags & Qt.WindowType.FramelessWindowHint and flags & Qt.WindowType.WindowStaysOnTopHint
    assert kiosk.window.contextMenuPolicy() == Qt.ContextMenuPolicy.NoContextMenu
    assert kiosk.window.screen() is QApplication.primaryScreen()
    assert kiosk.window.pos() == QApplication.primaryScreen().geometry().topLeft()


def test_an_unknown_screen_name_falls_back_to_the_primary_screen_and_says_so(kiosk, qtbot, caplog):
    with caplog.at_level(logging.WARNING, logger="ui.lockdown"):
        screen = lock_window(kiosk.window, "HDMI-A-9")
    assert screen is QApplication.primaryScreen() and kiosk.window.screen() is screen
    assert "no screen named 'HDMI-A-9'" in caplog.text
    assert kiosk.window.isFullScreen()


@pytest.mark.parametrize("leave", ["showNormal", "showMinimized", "showMaximized"])
def test_leaving_full_screen_is_undone(kiosk, qtbot, leave):
    kiosk.lock(qtbot)
    getattr(kiosk.window, leave)()
    assert not full_screen_only(kiosk.window)
    qtbot.waitUntil(lambda: full_screen_only(kiosk.window))
    assert kiosk.window.isVisible()


class Deactivations(QObject):
    """Counts the times a window loses activation."""

    def __init__(self, window: QWidget) -> None:
        super().__init__()
        self.count = 0
        window.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        self.count += event.type() == QEvent.Type.WindowDeactivate
        return False


def test_another_window_cannot_keep_the_activation_unless_allowed(kiosk, qtbot):
    kiosk.lock(qtbot)
    lost = Deactivations(kiosk.window)
    stray = QWidget()
    qtbot.addWidget(stray)
    stray.show()
    stray.activateWindow()
    qtbot.waitUntil(lambda: lost.count == 1 and QApplication.activeWindow() is kiosk.window)
    panel = QWidget()  # a developer's simulator panel
    qtbot.addWidget(panel)
    kiosk.lockdown.allow_window(panel)
    panel.show()
    panel.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is panel)
    qtbot.wait(50)
    assert QApplication.activeWindow() is panel


def test_a_tap_and_a_double_tap_still_work(kiosk, qtbot):
    kiosk.lock(qtbot)
    start = kiosk.window.findChild(QPushButton, "start")
    assert start is not None and start.isVisible()
    QTest.mouseClick(start, Qt.MouseButton.LeftButton)
    assert [type(e) for e in kiosk.posted] == [Touched, StartTapped]
    kiosk.posted.clear()
    # A double tap as Qt delivers it: press, release, press, double-click, release. It is two taps.
    left = Qt.MouseButton.LeftButton
    QTest.mousePress(start, left)
    QTest.mouseRelease(start, left)
    QTest.mousePress(start, left)
    QTest.mouseDClick(start, left)  # sends the double-click event alone
    QTest.mouseRelease(start, left)
    assert [type(e) for e in kiosk.posted] == [Touched, StartTapped, Touched, StartTapped]


def test_the_keyboard_environment_disables_the_zap_in_qts_syntax():
    env = keyboard_environment()
    # Qt's evdev keyboard parameters are colon-separated; disable-zap is a bare word among them.
    assert "disable-zap" in env["QT_QPA_EVDEV_KEYBOARD_PARAMETERS"].split(":")
    assert "srvrkeys:none" in env["XKB_DEFAULT_OPTIONS"].split(",")


def test_applying_the_environment_keeps_a_sites_own_settings(monkeypatch):
    monkeypatch.delenv("XKB_DEFAULT_OPTIONS", raising=False)
    monkeypatch.setenv("QT_QPA_EVDEV_KEYBOARD_PARAMETERS", "keymap=/etc/kiosk/de.qmap")
    applied = apply_keyboard_environment()
    assert applied == {
        "QT_QPA_EVDEV_KEYBOARD_PARAMETERS": "keymap=/etc/kiosk/de.qmap:disable-zap",
        "XKB_DEFAULT_OPTIONS": "srvrkeys:none",
    }
    assert apply_keyboard_environment() == applied, "applying twice changes nothing"
