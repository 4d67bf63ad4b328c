"""DeviceWatch: keeps the terminal's device health from udev and from the camera's own health, and acts on it.

When the handset is plugged back in, PortAudio is re-initialised and the hook switch reopened; when its sound
stops while it is still there (a stalled device, a sound server), its audio process is started again, with a
growing wait between tries; whenever the set of devices a visit lacks changes, the terminal is told (it goes
out of service and comes back).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from drivers.camera import Camera
from drivers.hid_hook import find_hook_field
from drivers.hotplug import EventSource, HotplugMonitor
from drivers.portaudio_handset import AudioDeviceMissing, AudioState, through_sound_server
from drivers.udev_devices import DeviceKind, DeviceRules, Presence, UdevDevice
from drivers.v4l2_camera import V4L2Camera, is_device
from kiosk.config import DevicesSection, DriverChoice
from kiosk.device_health import DeviceHealth, DeviceState, DeviceStatus
from kiosk.devices import TerminalHandset

log = logging.getLogger(__name__)

CAMERA_CHECK_S = 1.0
HANDSET_CHECK_S = 0.5
HANDSET_RETRY_S = (1.0, 10.0)  # the first wait between tries to start its sound again, and the longest

MissingListener = Callable[[tuple[str, ...]], None]  # the plain names of what a visit lacks; () = nothing

# What the person at the terminal calls each device: the sound device and the hook switch are the handset.
_PLAIN = {
    DeviceKind.CAMERA: "camera",
    DeviceKind.HANDSET: "handset",
    DeviceKind.HOOK: "handset",
    DeviceKind.TOUCHSCREEN: "touchscreen",
}


def _has_hid_hook_switch(device: UdevDevice) -> bool:
    descriptor = Path(device.sys_path, "device", "report_descriptor").read_bytes()
    return find_hook_field(descriptor) is not None


def watches_anything(devices: DevicesSection) -> bool:
    """Simulated devices cannot go missing: a terminal with only those needs no watch."""
    choices = (devices.camera, devices.handset, devices.hook, devices.touchscreen)
    return any(choice is not DriverChoice.SIMULATED for choice in choices)


def device_rules(devices: DevicesSection) -> DeviceRules:
    return DeviceRules(
        camera_source=devices.camera_source,
        handset_audio=devices.handset_audio,
        hook_kind=devices.hook_kind.value,
        hook_device=devices.hook_device,
        touchscreen_name=devices.touchscreen_name,
        has_hook_switch=_has_hid_hook_switch,
    )


class DeviceWatch:
    def __init__(
        self,
        devices: DevicesSection,
        camera: Camera,
        handset: TerminalHandset,
        source: EventSource | None = None,
    ) -> None:
        self._devices = devices
        self._camera = camera
        self._handset = handset
        self._on_missing: MissingListener = lambda _missing: None
        self._monitor = HotplugMonitor(device_rules(devices), self._on_presence, source)
        self._health: DeviceHealth | None = None
        self._present: Presence | None = None
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._camera_thread: threading.Thread | None = None
        self._handset_thread: threading.Thread | None = None

    def _real_kinds(self, presence: Presence) -> list[DeviceKind]:
        """The devices running on their real driver; simulated ones cannot go missing."""
        camera = self._camera
        real = []
        if isinstance(camera, V4L2Camera) and is_device(camera.source):  # a recording is not a device to watch
            real.append(DeviceKind.CAMERA)
        if self._handset.audio is not None and not through_sound_server(self._devices.handset_audio):
            real.append(DeviceKind.HANDSET)
        if self._handset.hook_opener is not None:
            real.append(DeviceKind.HOOK)
        touch = self._devices.touchscreen
        if touch is DriverChoice.REAL or (touch is DriverChoice.AUTO and presence[DeviceKind.TOUCHSCREEN]):
            real.append(DeviceKind.TOUCHSCREEN)
        return real

    def start(self, on_missing: MissingListener) -> None:
        """Reads the devices there now, tells `on_missing` what a visit lacks, then watches for changes."""
        self._on_missing = on_missing
        self._monitor.start()
        with self._lock:
            self._present = self._monitor.presence
            self._health = DeviceHealth(self._real_kinds(self._present), self._present)
        self._tell()
        if DeviceKind.CAMERA in self._health.real:
            self._camera_thread = threading.Thread(target=self._watch_camera, name="camera-health", daemon=True)
            self._camera_thread.start()
        if self._handset.audio is not None:
            self._handset_thread = threading.Thread(target=self._watch_handset, name="handset-health", daemon=True)
            self._handset_thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._monitor.stop()
        for thread in (self._camera_thread, self._handset_thread):
            if thread is not None:
                thread.join(timeout=2)

    def statuses(self) -> tuple[DeviceStatus, ...]:
        with self._lock:
            return self._health.statuses() if self._health is not None else ()

    def _on_presence(self, presence: Presence) -> None:
        with self._lock:
            before, self._present = self._present, presence
            health = self._health
        if health is None:
            return  # the monitor's first report, during start()
        returned = {kind for kind in DeviceKind if presence[kind] and before is not None and not before[kind]}
        if DeviceKind.HANDSET in returned and self._handset.audio is not None:
            try:
                self._handset.audio.restart()  # PortAudio only sees a replugged device after re-initialising
            except AudioDeviceMissing as exc:
                log.error("the handset is back but its sound would not open: %s", exc)
        if DeviceKind.HOOK in returned and self._handset.hook_opener is not None:
            try:
                self._handset.open_hook()
            except (OSError, ValueError) as exc:
                log.error("the hook switch is back but would not open: %s", exc)
        with self._lock:
            changed = health.update_presence(presence)
        if changed:
            self._tell()

    def _watch_camera(self) -> None:
        assert isinstance(self._camera, V4L2Camera) and self._health is not None
        while not self._stopping.wait(CAMERA_CHECK_S):
            with self._lock:
                changed = self._health.update_camera(self._camera.health())
            if changed:
                self._tell()

    def _watch_handset(self) -> None:
        """Starts the handset's sound again when it stopped though the device is there: nothing else would, since
        udev sees no change (and a sound server none at all), and the visit would go on without a voice."""
        audio = self._handset.audio
        assert audio is not None
        wait, next_try = HANDSET_RETRY_S[0], 0.0
        while not self._stopping.wait(HANDSET_CHECK_S):
            health = audio.health()
            if health.state is not AudioState.LOST:
                wait = HANDSET_RETRY_S[0]
                continue
            with self._lock:
                there = self._present is not None and self._present[DeviceKind.HANDSET]
            if not (there or through_sound_server(self._devices.handset_audio)) or time.monotonic() < next_try:
                continue  # unplugged: udev tells when it is back
            log.warning("the handset's sound stopped (%s): starting it again", health.detail)
            try:
                audio.restart()
            except AudioDeviceMissing as exc:
                log.error("the handset's sound would not start again: %s", exc)
            next_try, wait = time.monotonic() + wait, min(2 * wait, HANDSET_RETRY_S[1])

    def _tell(self) -> None:
        with self._lock:
            assert self._health is not None
            statuses = self._health.statuses()
            reason = self._health.out_of_service_reason()
        missing = [s for s in statuses if s.required and s.state is DeviceState.MISSING]
        if reason is not None:
            log.error("out of service: %s", reason.detail)
        else:
            log.info("devices: %s", "; ".join(f"{s.kind.value} {s.state.value}" for s in statuses))
        self._on_missing(tuple(dict.fromkeys(_PLAIN[s.kind] for s in missing)))
