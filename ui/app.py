"""The terminal: builds it (drivers, core loop, central client, window) and runs it, for `kiosk run` (ui/cli.py).

The core runs on its own thread; this module only wires it to the Qt window and starts both.
"""

from __future__ import annotations

import sys

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from PySide6.QtWidgets import QApplication

from drivers.hotplug import EventSource
from drivers.simulated_handset import SimulatedHookSwitch
from kiosk.central_client import CentralClient
from kiosk.config import KioskConfig
from kiosk.core_loop import CoreLoop
from kiosk.device_list import touchscreen_report
from kiosk.device_watch import DeviceWatch, watches_anything
from kiosk.devices import DeviceMissing, device_reports, open_camera, open_handset, require_touchscreen
from kiosk.liveness import CENTRAL_EVENTS, CORE_LOOP, UI_THREAD, UPKEEP, Liveness, beat_forever
from kiosk.process_settings import set_aside_startup_objects, tune_process
from kiosk.service_notify import ServiceNotifier
from kiosk.technician import CheckResult, TerminalIdentity, TestTone, microphone_level, network_check
from kiosk.terminal import Terminal, watchdog_allowances
from kiosk.visit_machine import TechnicianLeft
from ui.bridge import CoreBridge
from ui.lockdown import Lockdown, lock_window
from ui.qt_process import exit_on_signals, start_qt
from ui.screens.technician import TechnicianScreen
from ui.service_status import ServiceStatus
from ui.theme import Scale
from ui.ui_thread_priority import put_this_thread_first
from ui.window import KioskWindow


class KioskApp:
    """The whole terminal in one object: devices chosen by the configuration, core, central, window."""

    def __init__(
        self,
        config: KioskConfig,
        token: str,
        device_events: EventSource | None = None,
        technician_pin: str | None = None,
        key: Ed25519PrivateKey | None = None,
    ) -> None:
        """`device_events`: where udev's events come from (live udev unless a test replays recorded ones);
        `key`: an enrolled terminal's, which signs its requests to central."""
        tune_process()  # before any of the terminal's threads start
        self.config = config
        require_touchscreen(config.devices)
        self.camera = open_camera(config.devices)
        self.handset = open_handset(config.devices)
        watch = None
        if watches_anything(config.devices):
            watch = DeviceWatch(config.devices, self.camera, self.handset, device_events)
        self.core = CoreLoop()
        central = CentralClient.for_terminal(config.central, token, key)
        self.bridge = CoreBridge(self.camera)
        self.notifier = ServiceNotifier.from_environment()
        watchdog_s = self.notifier.watchdog_s
        self.liveness = (
            Liveness(
                self.notifier,
                watchdog_s,
                (UI_THREAD, CORE_LOOP, UPKEEP, CENTRAL_EVENTS),
                allowances=watchdog_allowances(config),
            )
            if watchdog_s and self.notifier.enabled
            else None
        )
        liveness = self.liveness
        self.terminal = Terminal(
            config,
            central,
            self.camera,
            self.handset,
            self.core,
            self.bridge,
            watch,
            technician_pin,
            beat=liveness.beat if liveness is not None else lambda part: None,
        )
        self.window = KioskWindow(
            config, self.bridge, self.terminal.post, self._technician_screen if technician_pin else None
        )
        self.lockdown = Lockdown(self.window)
        self.service_status = ServiceStatus(self.notifier, self.liveness, self.bridge)  # after the window

    def _technician_screen(self, scale: Scale) -> TechnicianScreen:
        config = self.config
        tone = TestTone(self.handset.earpiece)

        def check_network() -> list[CheckResult]:
            central = config.central
            return network_check(central.url, self.terminal.janus_url, central.ca_file, central.timeout_s)

        return TechnicianScreen(
            scale,
            TerminalIdentity.from_config(config.terminal),
            device_reports=lambda: [*device_reports(self.camera, self.handset), touchscreen_report(config.devices)],
            mic_level=lambda: microphone_level(self.handset.microphone),
            play_tone=tone.start,
            run_network_check=check_network,
            restart=lambda: QApplication.exit(0),  # systemd starts the app again
            leave=lambda: self.terminal.post(TechnicianLeft()),
        )

    def start(self) -> None:
        put_this_thread_first()  # before the core thread starts, so that it and its media threads stay normal
        set_aside_startup_objects()
        self.core.start()
        if self.liveness is not None:
            self.liveness.start()
            self.core.submit(beat_forever(self.liveness, CORE_LOOP))
        self.terminal.start()
        self.window.show()

    def stop(self) -> None:
        self.notifier.stopping()
        if self.liveness is not None:
            self.liveness.stop()
        self.terminal.stop()
        self.core.stop()
        self.handset.stop()
        self.lockdown.release()
        self.window.allow_close()
        self.window.close()
        self.notifier.close()


def run_kiosk(
    config: KioskConfig,
    token: str,
    key: Ed25519PrivateKey | None,
    technician_pin: str | None,
    simulator_panel: bool = False,
) -> int:
    """Runs the terminal until Qt quits; 3 when a device the configuration requires is missing."""
    qt = start_qt()
    try:
        kiosk = KioskApp(config, token, technician_pin=technician_pin, key=key)
    except DeviceMissing as exc:
        print(f"kiosk: {exc}", file=sys.stderr)
        return 3
    qt.installEventFilter(activity := kiosk.window.activity_filter())
    qt.installEventFilter(kiosk.lockdown)
    panel = None
    if simulator_panel and isinstance(kiosk.handset.hook, SimulatedHookSwitch):
        from ui.simulator_panel import SimulatorPanel

        panel = SimulatorPanel(kiosk.handset.hook)
        kiosk.lockdown.allow_window(panel)  # the demo's own window beside the kiosk
        panel.show()
    wakeup = exit_on_signals(qt)
    kiosk.start()
    lock_window(kiosk.window, config.screen.output or None)
    try:
        return qt.exec()
    finally:
        del activity, panel, wakeup
        kiosk.stop()
