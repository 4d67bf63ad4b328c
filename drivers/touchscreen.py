"""The touchscreen: found through udev, and turned and calibrated by a udev rule that sets libinput's
LIBINPUT_CALIBRATION_MATRIX, which the compositor (cage) reads when the device appears.

Provisioning writes calibration_rule(...) to RULES_PATH; nothing here writes files.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import pyudev

from drivers.hotplug import device_from_pyudev
from drivers.udev_devices import DeviceKind, DeviceRules, DeviceTable, FoundDevice

# After 60-input-id.rules, which sets ID_INPUT_TOUCHSCREEN, and before libinput opens the device.
RULES_PATH = "/etc/udev/rules.d/99-kiosk-touchscreen.rules"

Matrix = tuple[float, float, float, float, float, float]  # libinput's first two rows: a b c / d e f

IDENTITY: Matrix = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)

# libinput's documented matrices (libinput.h, libinput_device_config_calibration_set_matrix) for a touchscreen
# turned clockwise; each rotates about the origin and translates back into the 0..1 range.
ROTATIONS: dict[int, Matrix] = {
    0: IDENTITY,
    90: (0.0, -1.0, 1.0, 1.0, 0.0, 0.0),
    180: (-1.0, 0.0, 1.0, 0.0, -1.0, 1.0),
    270: (0.0, 1.0, 0.0, -1.0, 0.0, 1.0),
}

# Characters a name may keep in the rule's match; every run of others becomes "*". A quote, a backslash,
# "|" (udev's alternatives), "$" and "%" (substitutions) or a newline can then never reach the rule.
_UNSAFE = re.compile(r"[^A-Za-z0-9 ._,:;()/+@&-]+")


def find_touchscreens(name: str = "", context: pyudev.Context | None = None) -> tuple[FoundDevice, ...]:
    """The touchscreens udev knows now (event nodes with ID_INPUT_TOUCHSCREEN=1), whose name contains `name`
    (case-insensitive; "" = any), in udev's order."""
    context = context or pyudev.Context()
    table = DeviceTable(device_from_pyudev(d) for d in context.list_devices(subsystem="input"))
    return DeviceRules(touchscreen_name=name).presence(table)[DeviceKind.TOUCHSCREEN]


def find_touchscreen(name: str = "", context: pyudev.Context | None = None) -> FoundDevice | None:
    """The first touchscreen find_touchscreens() finds, or None."""
    found = find_touchscreens(name, context)
    return found[0] if found else None


def _product(left: Matrix, right: Matrix) -> Matrix:
    """left x right for 3x3 matrices whose third row is 0 0 1 (affine maps): `right` applies first."""
    a, b, c, d, e, f = left
    g, h, i, j, k, m = right
    return (a * g + b * j, a * h + b * k, a * i + b * m + c, d * g + e * j, d * h + e * k, d * i + e * m + f)


def calibration_matrix(rotation: int, calibration: Sequence[float] = IDENTITY) -> Matrix:
    """The matrix for libinput: the rotation first (the panel as mounted), then the calibration, which is
    measured on the turned screen and corrects what remains (libinput computes matrix x (x, y, 1))."""
    if rotation not in ROTATIONS:
        raise ValueError(f"rotation must be 0, 90, 180 or 270, not {rotation!r}")
    if len(calibration) != 6 or not all(math.isfinite(v) for v in calibration):
        raise ValueError("calibration must be six finite numbers")
    matrix = _product(tuple(float(v) for v in calibration), ROTATIONS[rotation])  # type: ignore[arg-type]
    return tuple(0.0 if v == 0 else v for v in matrix)  # type: ignore[return-value]  # no "-0" in the rule


def name_pattern(name: str) -> str:
    """A udev glob that matches any name containing `name`, with nothing in it that a rule could misread."""
    return re.sub(r"\*+", "*", f"*{_UNSAFE.sub('*', name)}*")


def calibration_rule(name: str, rotation: int, calibration: Sequence[float] = IDENTITY) -> str:
    """The udev rule (a file's whole text) that sets LIBINPUT_CALIBRATION_MATRIX on the touchscreen whose
    name contains `name` ("" = every touchscreen; a kiosk has one), for RULES_PATH."""
    matrix = " ".join(f"{v:.6g}" for v in calibration_matrix(rotation, calibration))
    match = 'ACTION=="add|change", SUBSYSTEM=="input", KERNEL=="event*", ENV{ID_INPUT_TOUCHSCREEN}=="1"'
    if name:
        match += f', ATTRS{{name}}=="{name_pattern(name)}"'
    return (
        "# The terminal's touchscreen: written by provisioning from [devices] touchscreen_* (do not edit).\n"
        f"# Turned {int(rotation)} degrees clockwise, then calibrated; libinput reads this as the device appears.\n"
        f'{match}, ENV{{LIBINPUT_CALIBRATION_MATRIX}}="{matrix}"\n'
    )
