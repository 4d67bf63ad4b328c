"""`kiosk devices`: what the terminal finds and the health of each device, as a technician reads it."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from drivers.camera import Camera
from drivers.touchscreen import find_touchscreen
from kiosk.config import DevicesSection, DriverChoice, KioskConfig
from kiosk.devices import (
    DeviceMissing,
    DeviceReport,
    TerminalHandset,
    camera_report,
    handset_report,
    hook_report,
    open_camera,
    open_handset,
)

MEASURE_S = 2.5  # long enough to measure a frame rate and hear the microphone
_ORDER = ("camera", "handset", "hook", "touchscreen")


def touchscreen_report(devices: DevicesSection) -> DeviceReport:
    if devices.touchscreen is DriverChoice.SIMULATED:
        return DeviceReport("touchscreen", "simulated", "ok", "the mouse and the tests' taps")
    found = find_touchscreen(devices.touchscreen_name)
    wanted = f" named like {devices.touchscreen_name!r}" if devices.touchscreen_name else ""
    if found is None:
        state = "missing" if devices.touchscreen is DriverChoice.REAL else "ok"
        return DeviceReport("touchscreen", "udev", state, f"no touchscreen{wanted} (ID_INPUT_TOUCHSCREEN)")
    detail = f"{found.name}, rotation {devices.touchscreen_rotation.value} degrees"
    return DeviceReport("touchscreen", f"udev {found.devnode}", "ok", detail)


T = TypeVar("T")


def _open(name: str, opener: Callable[[], T], missing: list[DeviceReport]) -> T | None:
    try:
        return opener()
    except DeviceMissing as exc:
        missing.append(DeviceReport(name, "real", "missing", str(exc)))
        return None


def list_devices(config: KioskConfig) -> int:
    """Prints one line per device; exit status 0 when all are ok, 1 when one is degraded or lost, 3 when one
    is missing."""
    reports: list[DeviceReport] = []
    camera: Camera | None = _open("camera", lambda: open_camera(config.devices), reports)
    handset: TerminalHandset | None = _open("handset", lambda: open_handset(config.devices), reports)
    if camera is not None:
        camera.start()
    try:
        time.sleep(MEASURE_S)
        if handset is not None:
            reports[:0] = [handset_report(handset), hook_report(handset)]
        if camera is not None:
            reports.insert(0, camera_report(camera))
    finally:
        if camera is not None:
            camera.stop()
        if handset is not None:
            handset.stop()
    reports.append(touchscreen_report(config.devices))
    reports.sort(key=lambda report: _ORDER.index(report.name))
    for report in reports:
        print(f"{report.name:<12} {report.state:<9} {report.driver}: {report.detail}")
    states = {r.state for r in reports}
    return 3 if "missing" in states else 0 if states == {"ok"} else 1
