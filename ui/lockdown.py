"""The terminal cannot be left: no key or shortcut does anything, no menu opens, the window will not close,
shrink or lose the screen. `lock_window` sets the window up; `Lockdown` keeps it that way while the app runs.

What a keyboard could do *outside* Qt is closed by the environment (`keyboard_environment`) and by the image:
mask systemd's ctrl-alt-del.target and set kernel.sysrq=0; nothing in this process can stop those two.
"""

from __future__ import annotations

import logging
import os

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QGuiApplication, QScreen
from PySide6.QtWidgets import QApplication, QLabel, QWidget

log = logging.getLogger(__name__)

EVDEV_KEYBOARD = "QT_QPA_EVDEV_KEYBOARD_PARAMETERS"
XKB_OPTIONS = "XKB_DEFAULT_OPTIONS"
DISABLE_ZAP = "disable-zap"
NO_SERVER_KEYS = "srvrkeys:none"

# Every way a keyboard reaches a widget or a shortcut, and the right-click/long-press menu.
_SWALLOWED = frozenset(
    {
        QEvent.Type.KeyPress,
        QEvent.Type.KeyRelease,
        QEvent.Type.ShortcutOverride,
        QEvent.Type.Shortcut,
        QEvent.Type.InputMethod,
        QEvent.Type.ContextMenu,
    }
)
# A press on a label: the last moment to stop a selection that code re-enabled after the label was polished.
_LABEL_PRESS = frozenset({QEvent.Type.MouseButtonPress, QEvent.Type.MouseButtonDblClick, QEvent.Type.TouchBegin})
_NO_TEXT = Qt.TextInteractionFlag.NoTextInteraction


def keyboard_environment() -> dict[str, str]:
    """The environment that keeps a keyboard from ending the session; it must be set before Qt starts.

    - `QT_QPA_EVDEV_KEYBOARD_PARAMETERS=disable-zap` (Qt's colon-separated evdev keyboard parameters): under
      linuxfb or eglfs without libinput, Qt's own evdev keyboard handler turns Ctrl+Alt+Backspace into
      `qApp->quit()`; `disable-zap` turns that off. Qt's libinput keyboard (the eglfs/linuxfb default) has no
      zap at all, and under Wayland or X the variable is not read: it is harmless there. `grab=1` is left out
      on purpose: it would take the keyboard devices away from every other reader, the hook switch of a
      handset that reports it as a key included.
    - `XKB_DEFAULT_OPTIONS=srvrkeys:none` (libxkbcommon's default keymap options): Ctrl+Alt+F1..F12 no longer
      produce the XF86Switch_VT_n keysyms. It is read by whoever compiles the keymap: cage (wlroots) when it
      is in *cage's* environment (the systemd unit's `Environment=`, not this process), where it guards even a
      cage started with `-s`; cage without `-s` refuses VT switching anyway, and has no zap or Alt+F4 of its
      own (those keys reach this app, which swallows them). Qt's libinput keyboard reads it too. Under X the
      server owns the keymap: use `Option "XkbOptions" "srvrkeys:none"` there, never `terminate:ctrl_alt_bksp`
      (that option is what gives X its Ctrl+Alt+Backspace kill), plus `DontZap` and `DontVTSwitch`.
    """
    return {EVDEV_KEYBOARD: DISABLE_ZAP, XKB_OPTIONS: NO_SERVER_KEYS}


def apply_keyboard_environment() -> dict[str, str]:
    """Puts `keyboard_environment()` into os.environ; call it before the QApplication is made.

    A value the site already set is kept, with our option added when it lacks it (a `keymap=` setting must not
    bring the zap back). Returns the variables as they now are.
    """
    applied = {}
    for name, option, separator in ((EVDEV_KEYBOARD, DISABLE_ZAP, ":"), (XKB_OPTIONS, NO_SERVER_KEYS, ",")):
        current = os.environ.get(name, "")
        if not current:
            os.environ[name] = option
        elif option not in current.split(separator):
            os.environ[name] = f"{current}{separator}{option}"
            log.info("added %s to the %s already set", option, name)
        applied[name] = os.environ[name]
    if QCoreApplication.instance() is not None:
        log.warning("the keyboard environment was set after Qt started; Qt will not read it until a restart")
    return applied


def choose_screen(name: str | None) -> QScreen:
    """The screen called `name` (its connector, e.g. "HDMI-A-1"); the primary one if none is named or found."""
    screens = QGuiApplication.screens()
    if name:
        for screen in screens:
            if screen.name() == name:
                return screen
        names = ", ".join(repr(s.name()) for s in screens) or "none"
        log.warning("no screen named %r (found %s); using the primary screen", name, names)
    return QGuiApplication.primaryScreen()


def lock_window(window: QWidget, screen_name: str | None) -> QScreen:
    """Shows `window` full screen on the named screen: frameless, on top, no cursor, no menu, no selectable text.

    Returns the screen used. The window takes the screen's size; a line in the log says so when that differs from
    the fixed size the window was given (the configured one, which its layout is scaled for).
    """
    screen = choose_screen(screen_name)
    flags = Qt.WindowType.FramelessWindowHint | Qt.WindowType.WindowStaysOnTopHint
    window.setWindowFlags(window.windowFlags() | flags)  # hides a shown window until it is shown again below
    window.setCursor(Qt.CursorShape.BlankCursor)
    window.setContextMenuPolicy(Qt.ContextMenuPolicy.NoContextMenu)
    for text in window.findChildren(QLabel):
        text.setTextInteractionFlags(_NO_TEXT)
    window.setScreen(screen)
    window.setGeometry(screen.geometry())  # for a platform that ignores full screen (X without a window manager)
    window.showFullScreen()
    size, panel = window.maximumSize(), screen.size()
    if window.minimumSize() == size and size != panel:
        log.warning(
            "the configured screen is %dx%d but screen %r is %dx%d",
            size.width(),
            size.height(),
            screen.name(),
            panel.width(),
            panel.height(),
        )
    return screen


class Lockdown(QObject):
    """An event filter for the QApplication that keeps the kiosk window locked, whatever any widget does.

    For every window: keys, shortcuts, input-method text and context menus are swallowed; labels lose text
    selection when polished or pressed; a request to quit the application (what Qt's zap and `quit()` send) is
    refused — `QApplication.exit()` still ends it. For the kiosk window: closing is refused, a state other than
    full screen is put back to full screen, and losing activation to anything but an allowed window brings it
    back on top. Taps and double taps pass untouched (a double tap is two taps). `release()` ends all of this,
    for shutting down.
    """

    def __init__(self, window: QWidget) -> None:
        super().__init__()
        self._window = window
        self._allowed: list[QWidget] = []
        self._released = False

    def allow_window(self, other: QWidget) -> None:
        """Lets `other` (a developer's simulator panel) take activation from the kiosk window."""
        self._allowed.append(other)

    def release(self) -> None:
        """Stops enforcing, so the app can close its window and quit."""
        self._released = True

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if self._released:
            return False
        kind = event.type()
        if kind in _SWALLOWED:
            return True
        if kind == QEvent.Type.Polish:
            self._polished(watched)
        elif kind in _LABEL_PRESS:
            if isinstance(watched, QLabel) and watched.textInteractionFlags() != _NO_TEXT:
                watched.setTextInteractionFlags(_NO_TEXT)
        elif kind == QEvent.Type.Quit:
            log.warning("something asked the application to quit; refused")
            return True
        elif watched is self._window:
            return self._kiosk_window_event(event)
        return False

    def _polished(self, widget: QObject) -> None:
        if isinstance(widget, QLabel):
            widget.setTextInteractionFlags(_NO_TEXT)
        # A widget with a cursor of its own (a text field's I-beam) would show it: it inherits the blank one.
        if (
            isinstance(widget, QWidget)
            and widget is not self._window
            and widget.testAttribute(Qt.WidgetAttribute.WA_SetCursor)
            and widget.window() is self._window
        ):
            widget.unsetCursor()

    def _kiosk_window_event(self, event: QEvent) -> bool:
        kind = event.type()
        if kind == QEvent.Type.Close:
            event.ignore()  # a filtered close event still counts as accepted unless ignored
            log.warning("something tried to close the kiosk window; refused")
            return True
        if kind == QEvent.Type.WindowStateChange:
            if self._window.isVisible() and not _full_screen(self._window):
                QTimer.singleShot(0, self._full_screen_again)
        elif kind == QEvent.Type.WindowDeactivate:
            QTimer.singleShot(0, self._activate_again)
        return False

    def _full_screen_again(self) -> None:
        if not self._released and not _full_screen(self._window):
            log.warning("the kiosk window left full screen; put back")
            self._window.setWindowState(Qt.WindowState.WindowFullScreen)  # minimized and maximized cleared too
            self._window.show()

    def _activate_again(self) -> None:
        active = QApplication.activeWindow()
        if self._released or active is self._window or any(active is other for other in self._allowed):
            return
        log.warning("the kiosk window lost activation; brought back")
        self._window.raise_()
        self._window.activateWindow()


def _full_screen(window: QWidget) -> bool:
    """Full screen and not minimized (a minimized window can still carry the full-screen flag). Maximized beside
    full screen is how cage shows its only window: full screen wins there, and undoing it would start a tug of
    war with the compositor, which maximizes the window again at once."""
    state = window.windowState()
    return bool(state & Qt.WindowState.WindowFullScreen) and not state & Qt.WindowState.WindowMinimized
