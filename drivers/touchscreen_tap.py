"""One tap on the touchscreen, read from its evdev node: how provisioning's self-test checks that the panel
answers and that its rotation is right, before the kiosk (and its compositor) run.

The node is read, not grabbed: a tap meant for the test must not be stolen from a compositor that is up, nor
the other way round. Events are decoded from raw `struct input_event` records, so a pipe replaying a recorded
tap in a test goes through the same code as the panel.
"""

from __future__ import annotations

import os
import queue
from dataclasses import dataclass

import evdev
from evdev import ecodes

from drivers.device_reader import DeviceReader
from drivers.evdev_hook import INPUT_EVENT, decode_events

Range = tuple[int, int]  # an axis's minimum and maximum, as the panel reports them


@dataclass(frozen=True)
class Tap:
    """Where a finger touched, as 0..1 of the panel's own axes (before any rotation or calibration)."""

    x: float
    y: float


def _fraction(value: int, axis: Range) -> float:
    low, high = axis
    return min(1.0, max(0.0, (value - low) / (high - low))) if high > low else 0.0


class TapDecoder:
    """Turns input events into taps: a tap is a touch (BTN_TOUCH down) and its release, at the last position
    reported in between. Single-touch axes (ABS_X/Y) and the first slot's multi-touch axes both count."""

    _X = (ecodes.ABS_X, ecodes.ABS_MT_POSITION_X)
    _Y = (ecodes.ABS_Y, ecodes.ABS_MT_POSITION_Y)

    def __init__(self, x_range: Range, y_range: Range) -> None:
        self._ranges = (x_range, y_range)
        self._touching = False
        self._x: int | None = None
        self._y: int | None = None

    def feed(self, events: list[tuple[int, int, int]]) -> list[Tap]:
        taps = []
        for kind, code, value in events:
            if kind == ecodes.EV_ABS and code in self._X:
                self._x = value
            elif kind == ecodes.EV_ABS and code in self._Y:
                self._y = value
            elif kind == ecodes.EV_KEY and code == ecodes.BTN_TOUCH and value in (0, 1):
                if self._touching and value == 0 and self._x is not None and self._y is not None:
                    x_range, y_range = self._ranges
                    taps.append(Tap(_fraction(self._x, x_range), _fraction(self._y, y_range)))
                self._touching = value == 1
        return taps


class EvdevTapReader(DeviceReader):
    """Reads a touchscreen's events on its own thread; `wait_for_tap` hands over the taps one by one."""

    read_size = 64 * INPUT_EVENT.size

    def __init__(self, fd: int, x_range: Range, y_range: Range, *, name: str = "touchscreen") -> None:
        """Takes ownership of `fd` (the event node, or in tests a pipe)."""
        self.name = name
        self._decoder = TapDecoder(x_range, y_range)
        self._pending = b""
        self._taps: queue.Queue[Tap] = queue.Queue()
        super().__init__(fd, label=f"touchscreen {name}", thread_name="touchscreen-taps")

    @classmethod
    def open(cls, path: str) -> EvdevTapReader:
        """Opens /dev/input/event…; OSError if it cannot, ValueError if it reports no position."""
        device = evdev.InputDevice(path)
        try:
            axes = dict(device.capabilities().get(ecodes.EV_ABS, []))
            x = axes.get(ecodes.ABS_X) or axes.get(ecodes.ABS_MT_POSITION_X)
            y = axes.get(ecodes.ABS_Y) or axes.get(ecodes.ABS_MT_POSITION_Y)
            if x is None or y is None:
                raise ValueError(f"{device.name!r} ({path}) reports no touch position")
            fd = os.dup(device.fd)
            name = device.name
        finally:
            device.close()
        return cls(fd, (x.min, x.max), (y.min, y.max), name=name)

    def _handle_chunk(self, data: bytes) -> None:
        events, self._pending = decode_events(self._pending + data)
        for tap in self._decoder.feed(events):
            self._taps.put(tap)

    def wait_for_tap(self, timeout_s: float) -> Tap | None:
        """The next tap, or None if none came within `timeout_s` (or the panel went away)."""
        try:
            return self._taps.get(timeout=timeout_s)
        except queue.Empty:
            return None
