"""The terminal's device health: whether the camera, the handset's sound device, its hook switch and the
touchscreen are ok, degraded or missing, why, and whether the terminal must stop taking visits.

A plain model fed by the hotplug monitor's presence and by the camera's own health; it opens no device.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from drivers.camera_health import CameraHealth, CameraState
from drivers.udev_devices import DeviceKind, Presence


class DeviceState(StrEnum):
    OK = "ok"
    DEGRADED = "degraded"  # usable, but poorly: a camera still starting, or short of its frame rate
    MISSING = "missing"  # not usable: unplugged, or plugged in but giving nothing


@dataclass(frozen=True)
class DeviceStatus:
    kind: DeviceKind
    state: DeviceState
    required: bool  # a real device the terminal runs on: if it is missing, no visit can take place
    reason: str  # for staff and technicians: "The camera (HD Webcam C615) is not connected."


@dataclass(frozen=True)
class OutOfService:
    message: str  # for the person at the terminal: "The handset is not working, so ... Staff have been told."
    detail: str  # for staff and technicians: each missing device and why


# What a person at the terminal calls each device: the sound device and the hook switch are both "the handset".
_PLAIN_NAME = {
    DeviceKind.CAMERA: "the camera",
    DeviceKind.HANDSET: "the handset",
    DeviceKind.HOOK: "the handset",
    DeviceKind.TOUCHSCREEN: "the touchscreen",
}
_STAFF_NAME = {
    DeviceKind.CAMERA: "The camera",
    DeviceKind.HANDSET: "The handset's sound device",
    DeviceKind.HOOK: "The handset's hook switch",
    DeviceKind.TOUCHSCREEN: "The touchscreen",
}


class DeviceHealth:
    """`real`: the devices running on their real driver (configured "real", or "auto" that found the device at
    start-up); the others are simulated and always ok. Until the first presence arrives, real devices count as
    there, so a terminal without a hotplug monitor is judged on the camera's health alone."""

    def __init__(self, real: Iterable[DeviceKind], presence: Presence | None = None) -> None:
        self.real = frozenset(real)
        self._present: dict[DeviceKind, bool] = {kind: True for kind in DeviceKind}
        self._names: dict[DeviceKind, str] = {}
        self._camera: CameraHealth | None = None
        if presence is not None:
            self.update_presence(presence)

    @classmethod
    def for_choices(cls, choices: Mapping[DeviceKind, str], presence: Presence) -> DeviceHealth:
        """From the configured driver per device ("simulated", "real", "auto") and the presence at start-up:
        an "auto" device is real when it was there then (the terminal does not swap drivers while running)."""
        real = [
            kind for kind, choice in choices.items() if choice == "real" or (choice == "auto" and presence.get(kind))
        ]
        return cls(real, presence)

    # -- updates: each returns True when a status changed ------------------------------------------

    def update_presence(self, presence: Presence) -> bool:
        before = self.statuses()
        for kind in DeviceKind:
            found = presence.get(kind, ())
            self._present[kind] = bool(found)
            if found:
                self._names[kind] = found[0].name
        return self.statuses() != before

    def update_camera(self, health: CameraHealth) -> bool:
        before = self.statuses()
        self._camera = health
        return self.statuses() != before

    # -- the verdict ------------------------------------------------------------------------------

    def status(self, kind: DeviceKind) -> DeviceStatus:
        if kind not in self.real:
            return DeviceStatus(kind, DeviceState.OK, False, f"{_STAFF_NAME[kind]} is simulated.")
        what = _STAFF_NAME[kind] + (f" ({self._names[kind]})" if kind in self._names else "")
        if not self._present[kind]:
            return DeviceStatus(kind, DeviceState.MISSING, True, f"{what} is not connected.")
        camera = self._camera
        if kind is DeviceKind.CAMERA and camera is not None:
            if camera.state is CameraState.LOST:
                return DeviceStatus(kind, DeviceState.MISSING, True, f"{what} gives no picture ({camera.detail}).")
            if camera.state is CameraState.DEGRADED:
                return DeviceStatus(kind, DeviceState.DEGRADED, True, f"{what} is not at full speed ({camera.detail}).")
        return DeviceStatus(kind, DeviceState.OK, True, f"{what} is working.")

    def statuses(self) -> tuple[DeviceStatus, ...]:
        return tuple(self.status(kind) for kind in DeviceKind)

    def out_of_service_reason(self) -> OutOfService | None:
        """None while visits can take place; otherwise what to tell the person at the terminal and staff."""
        missing = [s for s in self.statuses() if s.required and s.state is DeviceState.MISSING]
        if not missing:
            return None
        parts = list(dict.fromkeys(_PLAIN_NAME[s.kind] for s in missing))  # the handset once, not twice
        subject = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
        verb = "is" if len(parts) == 1 else "are"
        message = (
            f"{subject[0].upper()}{subject[1:]} {verb} not working, so visits cannot take place at this terminal. "
            "Staff have been told."
        )
        return OutOfService(message, " ".join(s.reason for s in missing))
