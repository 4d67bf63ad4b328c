"""What every fullscreen program of the terminal (the kiosk, its out-of-service fallback) does with Qt before and
around its loop."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QApplication

from ui.lockdown import apply_keyboard_environment

_FONT_FOLDERS = (Path("/usr/share/fonts/opentype/inter"),)


def load_fonts() -> None:
    for folder in _FONT_FOLDERS:
        for path in sorted(folder.glob("Inter-*.otf")):
            QFontDatabase.addApplicationFont(str(path))


def start_qt() -> QApplication:
    apply_keyboard_environment()  # before Qt starts: its keyboard handler reads it once
    qt = QApplication(sys.argv[:1])
    load_fonts()
    return qt


def exit_on_signals(qt: QApplication) -> QTimer:
    """SIGINT and SIGTERM (systemd's stop) end the loop cleanly, so what runs is closed properly. Qt's loop
    does not run Python signal handlers by itself: the returned timer wakes it for them (keep it). exit(), not
    quit(): quit() asks the windows first, and the kiosk window refuses to close."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: qt.exit(0))
    wakeup = QTimer()
    wakeup.timeout.connect(lambda: None)
    wakeup.start(200)
    return wakeup
