"""Chooses the terminal's devices from its configuration: the real driver, its simulated twin, or
(auto) the real one when it is there. A missing real device is a clear error, never a silent swap.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from drivers.camera import Camera
from drivers.simulated_camera import SimulatedCamera
from drivers.v4l2_camera import V4L2Camera, describe, is_device, open_capture
from kiosk.config import DevicesSection, DriverChoice

log = logging.getLogger(__name__)


class DeviceMissing(RuntimeError):
    """A device the configuration requires is not there; the message says which and what to do."""


@dataclass(frozen=True)
class DeviceReport:
    name: str
    driver: str
    state: str
    detail: str


def _source(devices: DevicesSection) -> str | int:
    return int(devices.camera_source) if devices.camera_source.isdigit() else devices.camera_source


def _camera_present(source: str | int) -> bool:
    capture = open_capture(source)
    if capture is None:
        return False
    capture.release()
    return True


def open_camera(devices: DevicesSection, label: str = "Resident (simulated camera)") -> Camera:
    size = (devices.camera_width, devices.camera_height, devices.camera_fps)
    if devices.camera is DriverChoice.SIMULATED:
        return SimulatedCamera(*size, label=label)
    source = _source(devices)
    if _camera_present(source):
        # A file (not a device) is a recording played like a camera, looping, as in bench set-ups.
        return V4L2Camera(source, *size, loop=not is_device(source))
    if devices.camera is DriverChoice.REAL:
        raise DeviceMissing(
            f"The camera {describe(source)} is not there. Check its cable, or the camera_source setting."
        )
    log.warning('camera %s not found: using the simulated camera (camera = "auto")', describe(source))
    return SimulatedCamera(*size, label=label)


def camera_report(camera: Camera) -> DeviceReport:
    if isinstance(camera, V4L2Camera):
        health = camera.health()
        return DeviceReport("camera", f"V4L2 {describe(camera.source)}", health.state.value, health.detail)
    frame = camera.latest()
    return DeviceReport("camera", "simulated", "ok" if frame is not None else "degraded", f"{camera.fps:.0f} fps")


def handset_report() -> DeviceReport:
    # The real handset (PortAudio and the hook switch) comes with the rest of the drivers issue.
    return DeviceReport("handset", "simulated", "ok", "tone microphone, measuring earpiece, simulated hook")
