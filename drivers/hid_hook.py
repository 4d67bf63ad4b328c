"""The hook switch of a USB handset read from /dev/hidraw*: the HID Telephony page's Hook Switch usage,
found through the device's report descriptor and decoded from each input report.

Linux turns no telephony usage into a key event, so the raw reports are the only way to see it.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from drivers.debounced_hook import DebouncedHook
from drivers.device_reader import DeviceReader

if TYPE_CHECKING:
    from hidtools.hid import HidField

log = logging.getLogger(__name__)

# hid-tools writes a usage as page << 16 | id: Telephony Devices page 0x0B, Hook Switch 0x20.
HOOK_SWITCH_USAGE = 0x000B_0020

SYSFS_HIDRAW = Path("/sys/class/hidraw")

_MAX_REPORT = 16_384  # the kernel's HID_MAX_BUFFER_SIZE: no hidraw report is longer


class NoHookSwitch(ValueError):
    """The device's report descriptor has no Hook Switch in any input report."""


@dataclass(frozen=True)
class HookField:
    """Where the hook switch sits in a device's input reports, as its report descriptor says."""

    report_id: int | None  # None: the device numbers no reports, so its reports carry no ID byte
    report_size: int  # bytes in the whole report, the ID byte included
    field: HidField  # hid-tools' description of the bits (offset, size, array or variable)

    def decode(self, report: bytes) -> bool | None:
        """True if this report says off-hook, False if on-hook; None if the report is not the one that holds
        the hook switch, or is shorter than the descriptor says (a device or transport fault: skipped).
        """
        if len(report) < self.report_size:
            return None
        if self.report_id is not None and report[0] != self.report_id:
            return None
        values = self.field.get_values(list(report))
        if self.field.usages is None:
            # A variable field: one bit (or more) that is non-zero while the handset is off its cradle.
            return bool(values[0])
        # An array field (a telephony keypad that lists Hook Switch among its usages): the values are indexes
        # of the usages that are on, counted from the logical minimum; anything out of range means "none".
        usages = self.field.usages
        first = self.field.logical_min
        return any(
            isinstance(value, int) and 0 <= value - first < len(usages) and usages[value - first] == HOOK_SWITCH_USAGE
            for value in values
        )


def find_hook_field(descriptor: bytes) -> HookField | None:
    """The hook switch in a HID report descriptor, or None when the device has none (or the descriptor
    cannot be parsed)."""
    from hidtools.hid import ReportDescriptor  # here: it parses the HID usage tables (50 ms) when imported

    try:
        parsed = ReportDescriptor.from_bytes(list(descriptor))
    except Exception as error:  # hid-tools raises several kinds on malformed bytes; none of them is ours
        log.warning("a HID report descriptor could not be parsed (%s: %s)", type(error).__name__, error)
        return None
    # Only input reports: a Hook Switch in an output or feature report is a setting, not the cradle.
    for report in parsed.input_reports.values():
        for field in report.fields:
            if field.usage == HOOK_SWITCH_USAGE or HOOK_SWITCH_USAGE in (field.usages or ()):
                # Some real headsets (a Jabra Link 380c, for one) flag the hook bit "Constant": still read it.
                return HookField(
                    report_id=report.report_ID if report.numbered else None,
                    report_size=report.size,
                    field=field,
                )
    return None


def descriptor_path(device: str, sysfs: Path = SYSFS_HIDRAW) -> Path:
    """The sysfs file holding the report descriptor of /dev/hidrawN (or of a udev symlink to it)."""
    return sysfs / Path(os.path.realpath(device)).name / "device" / "report_descriptor"


def find_hook_hidraw(sysfs: Path = SYSFS_HIDRAW) -> str | None:
    """The /dev/hidrawN path of the first device with a hook switch, or None when no device has one."""

    def number(entry: Path) -> int:
        match = re.search(r"\d+$", entry.name)
        return int(match[0]) if match else -1

    for entry in sorted(sysfs.glob("hidraw*"), key=number):
        try:
            descriptor = (entry / "device" / "report_descriptor").read_bytes()
        except OSError:
            continue  # unplugged between the listing and the read
        if find_hook_field(descriptor) is not None:
            return f"/dev/{entry.name}"
    return None


def read_input_report(fd: int, field: HookField) -> bytes | None:
    """Asks the device for the report holding the hook switch (HIDIOCGINPUT), so the state is known before
    the first change; None when the device or the kernel cannot answer, which many devices cannot.
    """
    size = field.report_size if field.report_id is not None else field.report_size + 1
    buffer = bytearray(size)
    buffer[0] = field.report_id or 0  # 0 asks an unnumbered device for its only report
    request = (3 << 30) | (size << 16) | (ord("H") << 8) | 0x0A  # _IOC(_IOC_READ|_IOC_WRITE, 'H', 0x0A, size)
    try:
        length = fcntl.ioctl(fd, request, buffer, True)
    except OSError:
        return None  # ENOTTY (not hidraw, or kernel < 5.11), EPIPE/EIO (the device stalls GET_REPORT)
    # The kernel puts the report number first even for an unnumbered device, whose reads carry none.
    return bytes(buffer[:length]) if field.report_id is not None else bytes(buffer[1:length])


class HidHookReader(DeviceReader):
    """Reads reports from a hidraw node (or, in tests, from a packet pipe) on its own thread and feeds the
    hook switch's state to a DebouncedHook.

    When the device goes away the thread ends, `lost` is set and `on_lost` is called on the reader thread;
    a new reader can then feed the same hook once the device is back.
    """

    read_size = _MAX_REPORT

    def __init__(
        self,
        fd: int,
        field: HookField,
        hook: DebouncedHook,
        *,
        name: str = "hidraw",
        inverted: bool = False,
        on_lost: Callable[[], None] | None = None,
    ) -> None:
        """Takes ownership of `fd`: one read must return one report, as hidraw's do."""
        self.field = field
        self.name = name
        self._hook = hook
        self._inverted = inverted
        super().__init__(fd, label=f"hook switch {name}", thread_name=f"hook-{name}", on_lost=on_lost)

    @classmethod
    def open(
        cls,
        path: str,
        hook: DebouncedHook,
        *,
        inverted: bool = False,
        on_lost: Callable[[], None] | None = None,
        sysfs: Path = SYSFS_HIDRAW,
    ) -> HidHookReader:
        """Opens /dev/hidrawN; raises NoHookSwitch if the device has no hook switch, OSError if it cannot be
        read (unplugged, or no udev rule giving this user access)."""
        field = find_hook_field(descriptor_path(path, sysfs).read_bytes())
        if field is None:
            raise NoHookSwitch(f"{path} has no HID hook switch (Telephony page 0x0B, usage 0x20)")
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        initial = read_input_report(fd, field)
        state = field.decode(initial) if initial is not None else None
        if state is not None:
            hook.feed(state != inverted)
        return cls(fd, field, hook, inverted=inverted, on_lost=on_lost, name=os.path.basename(path))

    def handle_report(self, report: bytes) -> None:
        """One report as read from the device; reports without the hook switch (or malformed) are skipped."""
        state = self.field.decode(report)
        if state is not None:
            self._hook.feed(state != self._inverted)

    def _handle_chunk(self, data: bytes) -> None:
        self.handle_report(data)  # one read is one report

    def _skipped(self, report: bytes) -> None:
        log.exception("hook switch %s: report skipped (%d bytes)", self.name, len(report))
