"""What the terminal's devices look like to udev: finds the camera, the handset's sound card, the hook switch
and the touchscreen among udev's devices, from their properties alone, so live and recorded devices are judged alike.

A device is its udev properties (SUBSYSTEM, DEVPATH, DEVNAME, ID_*...) plus the few sysfs attributes read here;
its parents are looked up in a DeviceTable of the devices seen so far, never in sysfs, for the same reason.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

log = logging.getLogger(__name__)

# What udev says about a video node (60-persistent-v4l.rules runs v4l_id): a camera's capture node lists
# "capture"; the metadata node a UVC camera also has does not, and would open but never give a frame.
_V4L_CAPTURE = ":capture:"
_EVENT_NODE = re.compile(r"event\d+")
_SOUND_CARD = re.compile(r"card(\d+)")
_HEX_ESCAPE = re.compile(r"\\x([0-9a-fA-F]{2})")
# Every snd-usb-audio PCM is named "USB Audio", and PortAudio's device name is "<card name>: <PCM name>
# (hw:N,0)": a configured substring such as the default "USB" matches through it.
_USB_AUDIO_PCM = "USB Audio"


class DeviceKind(StrEnum):
    CAMERA = "camera"
    HANDSET = "handset"  # the handset's sound card: its microphone and earpiece
    HOOK = "hook"  # the handset's hook switch
    TOUCHSCREEN = "touchscreen"


@dataclass(frozen=True)
class UdevDevice:
    """One device as udev reports it. `attributes` holds the sysfs attributes a live source read for it
    (only a sound card's `id` today); a recording may leave it empty."""

    properties: Mapping[str, str]
    attributes: Mapping[str, str] = field(default_factory=dict)

    def get(self, key: str) -> str:
        return self.properties.get(key, "")

    @property
    def devpath(self) -> str:
        return self.get("DEVPATH")

    @property
    def subsystem(self) -> str:
        return self.get("SUBSYSTEM")

    @property
    def sys_path(self) -> str:
        return f"/sys{self.devpath}" if self.devpath else ""

    @property
    def sysname(self) -> str:
        return self.devpath.rsplit("/", 1)[-1]

    @property
    def devnode(self) -> str:
        # The kernel's own uevents name the node relative to /dev ("snd/controlC1"); udev's give the full path.
        name = self.get("DEVNAME")
        return name if not name or name.startswith("/") else f"/dev/{name}"

    @property
    def devlinks(self) -> tuple[str, ...]:
        return tuple(self.get("DEVLINKS").split())


@dataclass(frozen=True)
class FoundDevice:
    """A device the terminal can use: what it is, where sysfs and /dev have it, and a name for people."""

    kind: DeviceKind
    sys_path: str
    devnode: str
    name: str


Presence = Mapping[DeviceKind, tuple[FoundDevice, ...]]  # every kind, with () when none is there


def no_devices() -> dict[DeviceKind, tuple[FoundDevice, ...]]:
    return {kind: () for kind in DeviceKind}


class DeviceTable:
    """The devices udev has announced, by DEVPATH, kept current from its add, change and remove events."""

    def __init__(self, devices: Iterable[UdevDevice] = ()) -> None:
        self._devices: dict[str, UdevDevice] = {}
        self.replace_all(devices)

    def replace_all(self, devices: Iterable[UdevDevice]) -> None:
        self._devices = {device.devpath: device for device in devices if device.devpath}

    def apply(self, action: str, device: UdevDevice) -> None:
        """Applies one event. Anything but "remove" (add, change, bind, move, online...) means the device is
        there with these properties: udev sends all of a device's properties with every event."""
        devpath = device.devpath
        if not devpath:
            return
        if action == "remove":
            # Children go too: the kernel removes them first, but a lost event must not leave ghosts behind.
            self._devices = {p: d for p, d in self._devices.items() if p != devpath and not p.startswith(devpath + "/")}
            return
        if action == "move" and device.get("DEVPATH_OLD"):
            self.apply("remove", UdevDevice({"DEVPATH": device.get("DEVPATH_OLD")}))
        self._devices[devpath] = device

    def parent(self, device: UdevDevice, subsystem: str) -> UdevDevice | None:
        """The nearest ancestor of `device` in `subsystem` (an event node's input device, a hidraw node's
        HID device), or None when the table does not hold one."""
        path = device.devpath
        while "/" in path.strip("/"):
            path = path.rsplit("/", 1)[0]
            parent = self._devices.get(path)
            if parent is not None and parent.subsystem == subsystem:
                return parent
        return None

    def children(self, device: UdevDevice) -> Iterator[UdevDevice]:
        prefix = device.devpath + "/"
        return (d for p, d in self._devices.items() if p.startswith(prefix))

    def __iter__(self) -> Iterator[UdevDevice]:
        return iter([self._devices[p] for p in sorted(self._devices)])

    def __len__(self) -> int:
        return len(self._devices)


HookCheck = Callable[[UdevDevice], bool]  # does this hidraw or event node carry a hook switch?


def decode_udev_string(value: str) -> str:
    """Undoes udev's \\xNN escaping of the *_ENC properties ("Logitech\\x20USB" -> "Logitech USB")."""
    return _HEX_ESCAPE.sub(lambda m: chr(int(m[1], 16)), value).strip()


def _unquote(value: str) -> str:
    # The kernel writes an input device's NAME with the quotes: NAME="ILITEK Multi-Touch".
    return value[1:-1] if len(value) >= 2 and value[0] == value[-1] == '"' else value


def _model_name(device: UdevDevice) -> str:
    for key in ("ID_MODEL_ENC", "ID_MODEL_FROM_DATABASE", "ID_MODEL"):
        if device.get(key):
            return decode_udev_string(device.get(key)) if key == "ID_MODEL_ENC" else device.get(key)
    return ""


def _rejects(check: HookCheck, device: UdevDevice) -> bool:
    try:
        return not check(device)
    except Exception:
        # The check reads the device (its HID report descriptor): it may have gone, or be something odd.
        log.warning("could not check %s for a hook switch", device.devnode, exc_info=True)
        return True


def _no_check(_device: UdevDevice) -> bool:
    # Without a way to read a node's report descriptor, only the configured hook_device counts: a touchscreen's
    # or a keyboard's hidraw node must never pass for the hook switch.
    return False


@dataclass(frozen=True)
class DeviceRules:
    """How this terminal's configuration picks its devices out of udev's ([devices] in the kiosk's config).

    `hook_kind` is "hid" or "key"; `has_hook_switch` decides, for a hidraw or event node, whether it carries a
    hook switch (reading its report descriptor or key bits is the hook driver's job); without it only a named
    hook_device is found. A hook_device named in the configuration needs no such check.
    """

    camera_source: str = ""  # /dev/v4l/by-id/... (or /dev/videoN, or N); "" = any capture node
    handset_audio: str = "USB"  # part of the sound card's name, case-insensitive
    hook_kind: str = "hid"
    hook_device: str = ""  # /dev/hidrawN, /dev/input/by-id/...; "" = any node that has_hook_switch accepts
    touchscreen_name: str = ""  # part of the touchscreen's name, case-insensitive; "" = any touchscreen
    has_hook_switch: HookCheck = _no_check

    @property
    def subsystems(self) -> frozenset[str]:
        """The udev subsystems the rules read: the devices themselves and the parents that name them."""
        return frozenset({"video4linux", "sound", "input", "hidraw", "hid"})

    def presence(self, table: DeviceTable) -> dict[DeviceKind, tuple[FoundDevice, ...]]:
        found = no_devices()
        for device in table:
            match = self.classify(device, table)
            if match is not None:
                found[match.kind] = (*found[match.kind], match)
        return found

    def classify(self, device: UdevDevice, table: DeviceTable) -> FoundDevice | None:
        subsystem = device.subsystem
        if subsystem == "video4linux":
            return self._camera(device)
        if subsystem == "sound":
            return self._handset(device, table)
        if subsystem == "hidraw" and self.hook_kind == "hid":
            return self._hook(device, table)
        if subsystem == "input" and _EVENT_NODE.fullmatch(device.sysname) and device.devnode:
            if device.get("ID_INPUT_TOUCHSCREEN") == "1":
                return self._touchscreen(device, table)
            if self.hook_kind == "key":
                return self._hook(device, table)
        return None

    def _camera(self, device: UdevDevice) -> FoundDevice | None:
        if _V4L_CAPTURE not in device.get("ID_V4L_CAPABILITIES") or not device.devnode:
            return None
        source = self.camera_source
        if source.isdigit():
            source = f"/dev/video{source}"
        if source and source != device.devnode and source not in device.devlinks:
            return None
        name = device.get("ID_V4L_PRODUCT") or _model_name(device) or device.sysname
        return FoundDevice(DeviceKind.CAMERA, device.sys_path, device.devnode, name)

    def _handset(self, card: UdevDevice, table: DeviceTable) -> FoundDevice | None:
        number = _SOUND_CARD.fullmatch(card.sysname)
        if number is None:
            return None  # a card's PCM, control or MIDI node: the card stands for all of them
        control = next((d for d in table.children(card) if d.sysname == f"controlC{number[1]}"), None)
        if card.get("USEC_INITIALIZED"):
            # udev has seen the card: it is ready once 78-sound-card.rules has marked it, after all its nodes.
            if card.get("SOUND_INITIALIZED") != "1":
                return None
        elif control is None:
            return None  # the kernel alone (no udev): the control node is the card's last, so wait for it
        sources = [card] if control is None else [card, control]
        names = [decode_udev_string(d.get(k)) for d in sources for k in ("ID_MODEL_ENC", "ID_VENDOR_ENC")]
        names += [d.get(k).replace("_", " ") for d in sources for k in ("ID_MODEL", "ID_VENDOR")]
        names += [d.get(k) for d in sources for k in ("ID_MODEL_FROM_DATABASE", "ID_VENDOR_FROM_DATABASE")]
        names.append(card.attributes.get("id", ""))
        if card.get("ID_BUS") == "usb" or "/usb" in card.devpath:
            names.append(_USB_AUDIO_PCM)
        wanted = self.handset_audio.casefold()
        if not any(wanted in n.casefold() for n in names if n):
            return None
        devnode = control.devnode if control is not None and control.devnode else f"/dev/snd/controlC{number[1]}"
        name = _model_name(card) or card.attributes.get("id", "") or card.sysname
        return FoundDevice(DeviceKind.HANDSET, card.sys_path, devnode, name)

    def _hook(self, device: UdevDevice, table: DeviceTable) -> FoundDevice | None:
        if not device.devnode:
            return None
        if self.hook_device:
            if self.hook_device != device.devnode and self.hook_device not in device.devlinks:
                return None
        elif _rejects(self.has_hook_switch, device):
            return None
        return FoundDevice(DeviceKind.HOOK, device.sys_path, device.devnode, _node_name(device, table))

    def _touchscreen(self, device: UdevDevice, table: DeviceTable) -> FoundDevice | None:
        name = _node_name(device, table)
        if self.touchscreen_name and self.touchscreen_name.casefold() not in name.casefold():
            return None
        return FoundDevice(DeviceKind.TOUCHSCREEN, device.sys_path, device.devnode, name)


def _node_name(device: UdevDevice, table: DeviceTable) -> str:
    """The name the kernel gives the device behind a node: an event node's input device NAME, a hidraw
    node's HID_NAME; udev's model name when the parent is unknown."""
    if device.subsystem == "hidraw":
        parent = table.parent(device, "hid")
        if parent is not None and parent.get("HID_NAME"):
            return parent.get("HID_NAME")
    else:
        parent = table.parent(device, "input")
        if parent is not None and parent.get("NAME"):
            return _unquote(parent.get("NAME"))
    return _model_name(device) or device.sysname
