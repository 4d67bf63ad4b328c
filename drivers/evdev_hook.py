"""The hook switch of a handset that Linux already reports as an input key or switch (KEY_PHONE, a SW_…,
a GPIO key): read from /dev/input/event* and grabbed, so it never reaches the UI as a keystroke.

Events are decoded from the raw `struct input_event` records, so a pipe replaying records in a test goes
through the same code as a real device.
"""

from __future__ import annotations

import logging
import os
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import evdev
from evdev import _input as evdev_ioctl  # the ioctls behind InputDevice.active_keys(), for switches too
from evdev import ecodes

from drivers.debounced_hook import DebouncedHook
from drivers.device_reader import DeviceReader

log = logging.getLogger(__name__)

# struct input_event: the time as two C longs (the kernel keeps them longs even where time_t is 64-bit), then
# __u16 type, __u16 code, __s32 value. Native layout, as the kernel writes it.
INPUT_EVENT = struct.Struct("@llHHi")

# EV_KEY and EV_SW: 1 pressed / on, 0 released / off. EV_KEY 2 is the autorepeat of a held key: not a change.
_STATES = {0: False, 1: True}


@dataclass(frozen=True)
class HookCode:
    """An input event type and code: (EV_KEY, KEY_PHONE), (EV_SW, SW_…)."""

    name: str
    type: int
    code: int

    @classmethod
    def from_name(cls, name: str) -> HookCode:
        """From an evdev name such as "KEY_PHONE", "BTN_0" or "SW_LID"; ValueError for a name evdev lacks."""
        prefix = name.split("_", 1)[0]
        event_type = {"KEY": ecodes.EV_KEY, "BTN": ecodes.EV_KEY, "SW": ecodes.EV_SW}.get(prefix)
        code = ecodes.ecodes.get(name)
        if event_type is None or code is None:
            raise ValueError(f"{name!r} is not a Linux input key or switch name (KEY_…, BTN_… or SW_…)")
        return cls(name, event_type, code)


def decode_events(data: bytes) -> tuple[list[tuple[int, int, int]], bytes]:
    """Whole input_event records in `data` as (type, code, value), and the bytes of an incomplete record
    left over for the next read."""
    whole = len(data) - len(data) % INPUT_EVENT.size
    events = [(kind, code, value) for _sec, _usec, kind, code, value in INPUT_EVENT.iter_unpack(data[:whole])]
    return events, data[whole:]


def hook_states(events: list[tuple[int, int, int]], hook: HookCode) -> Iterator[bool]:
    """Pressed (True) / released (False) for each event of the hook's key or switch; all others ignored."""
    for kind, code, value in events:
        if kind == hook.type and code == hook.code and value in _STATES:
            yield _STATES[value]


def is_down(fd: int, hook: HookCode) -> bool:
    """Whether the key is held or the switch is on right now (EVIOCGKEY / EVIOCGSW on an evdev node)."""
    return hook.code in evdev_ioctl.ioctl_EVIOCG_bits(fd, hook.type)


class EvdevHookReader(DeviceReader):
    """Reads input events from an evdev node (or, in tests, from a pipe) on its own thread and feeds the
    hook's state to a DebouncedHook. Pressed means lifted, unless `inverted`.

    When the device goes away the thread ends, `lost` is set and `on_lost` is called on the reader thread.
    Closing the reader releases the device's grab with it.
    """

    read_size = 64 * INPUT_EVENT.size

    def __init__(
        self,
        fd: int,
        code: HookCode,
        hook: DebouncedHook,
        *,
        query_state: Callable[[], bool] | None = None,
        inverted: bool = False,
        on_lost: Callable[[], None] | None = None,
        name: str = "evdev",
    ) -> None:
        """Takes ownership of `fd`. `query_state` reads the key's state from the device; it is asked again
        after the kernel dropped events (SYN_DROPPED), which a pipe cannot do."""
        self.code = code
        self.name = name
        self._hook = hook
        self._inverted = inverted
        self._query_state = query_state
        self._pending = b""
        super().__init__(fd, label=f"hook switch {name}", thread_name=f"hook-{name}", on_lost=on_lost)

    @classmethod
    def open(
        cls,
        path: str,
        key_name: str,
        hook: DebouncedHook,
        *,
        inverted: bool = False,
        on_lost: Callable[[], None] | None = None,
    ) -> EvdevHookReader:
        """Opens and grabs /dev/input/…; ValueError for an unknown name or a device without that key or
        switch, OSError if it cannot be opened or another program holds the grab."""
        code = HookCode.from_name(key_name)
        device = evdev.InputDevice(path)
        try:
            if code.code not in device.capabilities().get(code.type, []):
                raise ValueError(f"{device.name!r} ({path}) does not report {key_name}")
            device.grab()
            # The grab belongs to the open file, which the duplicate keeps open after the InputDevice closes.
            fd = os.dup(device.fd)
        finally:
            device.close()
        try:
            hook.feed(is_down(fd, code) != inverted)  # lifted before the terminal started: known at once
        except OSError:
            os.close(fd)
            raise
        return cls(
            fd,
            code,
            hook,
            inverted=inverted,
            on_lost=on_lost,
            query_state=lambda: is_down(fd, code),
            name=os.path.basename(path),
        )

    def handle_bytes(self, data: bytes) -> None:
        """Bytes as read from the device: whole records are decoded, a partial one waits for the rest."""
        events, self._pending = decode_events(self._pending + data)
        if self._query_state is not None and (ecodes.EV_SYN, ecodes.SYN_DROPPED, 0) in events:
            # The kernel's buffer overflowed and events were lost: the device's own state is the truth.
            self._hook.feed(self._query_state() != self._inverted)
            return
        for pressed in hook_states(events, self.code):
            self._hook.feed(pressed != self._inverted)

    def _handle_chunk(self, data: bytes) -> None:
        self.handle_bytes(data)

    def _skipped(self, data: bytes) -> None:
        log.exception("hook switch %s: %d bytes of events skipped", self.name, len(data))
        self._pending = b""
