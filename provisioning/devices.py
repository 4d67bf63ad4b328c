"""Finding the terminal's devices for its configuration, by the same rules the kiosk finds them by at run time
(`drivers.udev_devices.DeviceRules` over what udev knows now; nothing is opened).

Each device found becomes `real` in [devices]: the kiosk then refuses to start without it, rather than run a
visit on a simulation. The camera is named by its stable /dev/v4l/by-id link, the touchscreen by its name; the
handset's sound card and its hook switch are found again by the kiosk's own defaults (a USB sound card, the
first HID device with a hook switch), which are what found them here.
"""

from __future__ import annotations

from dataclasses import dataclass

from drivers.hotplug import EventSource
from drivers.udev_devices import DeviceKind, DeviceRules, DeviceTable

_WHAT = {
    DeviceKind.CAMERA: "camera (a V4L2 capture device)",
    DeviceKind.HANDSET: "handset sound card (a USB sound card)",
    DeviceKind.HOOK: "hook switch (a HID device reporting one)",
    DeviceKind.TOUCHSCREEN: "touchscreen",
}
_BY_ID = "/dev/v4l/by-id/"


@dataclass(frozen=True)
class Detected:
    settings: dict[str, str]  # [devices] keys and values
    found: list[str]  # for the technician: what and where
    missing: list[str]


def detect(source: EventSource, rules: DeviceRules) -> Detected:
    source.open(rules.subsystems)
    try:
        table = DeviceTable(source.existing())
    finally:
        source.close()
    presence = rules.presence(table)
    settings: dict[str, str] = {}
    found: list[str] = []
    missing = [_WHAT[kind] for kind in DeviceKind if not presence[kind]]
    if cameras := presence[DeviceKind.CAMERA]:
        camera = next(d for d in table if d.sys_path == cameras[0].sys_path)
        stable = next((link for link in camera.devlinks if link.startswith(_BY_ID)), cameras[0].devnode)
        settings |= {"camera": "real", "camera_source": stable}
        found.append(f"camera {cameras[0].name} at {stable}")
    if handsets := presence[DeviceKind.HANDSET]:
        settings["handset"] = "real"
        found.append(f"handset {handsets[0].name}")
    if hooks := presence[DeviceKind.HOOK]:
        settings["hook"] = "real"
        found.append(f"hook switch {hooks[0].name} at {hooks[0].devnode}")
    if touchscreens := presence[DeviceKind.TOUCHSCREEN]:
        settings |= {"touchscreen": "real", "touchscreen_name": touchscreens[0].name}
        found.append(f"touchscreen {touchscreens[0].name}")
    return Detected(settings, found, missing)
