"""The device rules provisioning installs: the kiosk user reaches its devices through their groups, and the
touchscreen is turned and calibrated (`drivers.touchscreen.calibration_rule`)."""

from __future__ import annotations

from drivers.touchscreen import RULES_PATH as TOUCHSCREEN_RULES
from drivers.touchscreen import calibration_rule
from kiosk.config import DevicesSection

PERMISSIONS_RULES = "/etc/udev/rules.d/70-kiosk.rules"

# The kiosk user is in these groups (provisioning.target.KIOSK_GROUPS). Debian gives cameras and sound cards
# to video and audio already; hidraw nodes (a HID hook switch) belong to root alone unless a rule says so.
_PERMISSIONS = """\
# The terminal's devices for its kiosk user: written by kiosk-provision (run it again rather than editing).
SUBSYSTEM=="video4linux", GROUP="video", MODE="0660"
SUBSYSTEM=="sound", GROUP="audio", MODE="0660"
SUBSYSTEM=="input", KERNEL=="event*", GROUP="input", MODE="0660"
SUBSYSTEM=="hidraw", GROUP="input", MODE="0660"
"""


def rules_files(devices: DevicesSection) -> dict[str, bytes]:
    """Each rules file (as the terminal sees its path) and its content."""
    touchscreen = calibration_rule(
        devices.touchscreen_name, int(devices.touchscreen_rotation), devices.touchscreen_calibration
    )
    return {PERMISSIONS_RULES: _PERMISSIONS.encode(), TOUCHSCREEN_RULES: touchscreen.encode()}
