"""`kiosk out-of-service`: what tty1 shows when the kiosk keeps failing to start (systemd's start limit was hit
and kiosk-out-of-service.service took over): the out-of-service screen, whose reading choices still work, and
nothing else. It opens no device and speaks to no central, so whatever broke the kiosk cannot break this; a
configuration it cannot read only loses the facility's name in the header.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

from kiosk.config import CentralSection, ConfigError, KioskConfig, TerminalSection, load_config
from kiosk.service_notify import ServiceNotifier
from kiosk.visit_machine import LanguageChosen, LargeTextToggled, Screen, TerminalState
from ui.bridge import CoreBridge
from ui.lockdown import Lockdown, lock_window
from ui.qt_process import exit_on_signals, start_qt
from ui.window import KioskWindow

log = logging.getLogger(__name__)

SOFTWARE = "software"  # what is not working, for the screen's sentence


def lenient_config(path: Path) -> KioskConfig:
    """The configuration, or (unreadable) the defaults with an empty header."""
    try:
        return load_config(path)
    except ConfigError as exc:
        log.error("out-of-service screen without the configuration: %s", exc)
        terminal = TerminalSection.model_construct(name="", facility="", location="")
        return KioskConfig.model_construct(terminal=terminal, central=CentralSection.model_construct(url=""))


class OutOfServiceApp:
    def __init__(self, config: KioskConfig) -> None:
        self.bridge = CoreBridge(None)
        self.state = TerminalState(
            screen=Screen.OUT_OF_SERVICE, out_of_service=(SOFTWARE,), language=config.screen.language
        )
        self.window = KioskWindow(config, self.bridge, self.post)

    def post(self, event: object) -> None:
        """The reading choices are all a person can use here; any other event (the technician's corner) is
        ignored, as there is nothing behind it."""
        if isinstance(event, LanguageChosen):
            self.state = replace(self.state, language=event.language)
        elif isinstance(event, LargeTextToggled):
            self.state = replace(self.state, large_text=not self.state.large_text)
        else:
            return
        self.bridge.state_changed.emit(self.state)

    def start(self) -> None:
        self.window.show()
        self.bridge.state_changed.emit(self.state)


def run_out_of_service(config_path: Path) -> int:
    """`kiosk out-of-service`: the screen until systemd stops it; READY=1 once it is up."""
    config = lenient_config(config_path)
    qt = start_qt()
    fallback = OutOfServiceApp(config)
    lockdown = Lockdown(fallback.window)
    qt.installEventFilter(lockdown)
    wakeup = exit_on_signals(qt)
    notifier = ServiceNotifier.from_environment()
    fallback.start()
    lock_window(fallback.window, config.screen.output or None)
    notifier.ready("Out of service: the kiosk failed to start, again and again")
    try:
        return qt.exec()
    finally:
        del wakeup
        notifier.stopping()
        lockdown.release()
        fallback.window.allow_close()
        fallback.window.close()
