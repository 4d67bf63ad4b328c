"""The systemd units that run the terminal: build_image.sh installs them, provisioning enables and starts them,
pauses the kiosk while the self-test holds its devices, and stops them for a factory reset.

On a terminal booted with systemd this drives the running manager; in a folder standing for a terminal (or a
chroot, where no manager runs) `systemctl --root` does the offline part, enabling and disabling, and there is
nothing to start or stop.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from provisioning.target import Target

KIOSK_UNIT = "kiosk.service"
FALLBACK_UNIT = "kiosk-out-of-service.service"  # started by kiosk.service's OnFailure=, never enabled
SETUP_UNIT = "kiosk-setup.service"  # enabled by the image; runs only while the terminal is not set up
UNITS = (KIOSK_UNIT,)
UNIT_FOLDERS = ("/etc/systemd/system", "/usr/lib/systemd/system", "/lib/systemd/system")


class ServiceError(Exception):
    """systemctl refused; the message says what it said."""


def manager_running(target: Target) -> bool:
    """Whether `target` is the system systemd is running now (sd_booted's test)."""
    return target.root == Path("/") and Path("/run/systemd/system").is_dir()


def _systemctl(target: Target, *args: str) -> subprocess.CompletedProcess[str]:
    offline = [] if manager_running(target) else [f"--root={target.root}"]
    return subprocess.run(["systemctl", *offline, *args], capture_output=True, text=True, check=False)


def _must(target: Target, *args: str) -> None:
    done = _systemctl(target, *args)
    if done.returncode != 0:
        raise ServiceError(f"systemctl {' '.join(args)} failed: {done.stderr.strip() or done.returncode}")


def not_installed(target: Target, units: tuple[str, ...] = UNITS) -> list[str]:
    return [unit for unit in units if not any(target.path(f"{folder}/{unit}").exists() for folder in UNIT_FOLDERS)]


def is_enabled(target: Target, unit: str) -> bool:
    return _systemctl(target, "is-enabled", unit).stdout.strip() == "enabled"


def is_active(target: Target, unit: str) -> bool:
    return manager_running(target) and _systemctl(target, "is-active", unit).stdout.strip() == "active"


def enable(target: Target, units: list[str]) -> None:
    _must(target, "enable", *units)


def start(target: Target, units: list[str], restart: bool) -> None:
    """Queues the start: run from kiosk-setup.service, the kiosk's start waits for the set-up to end (it holds
    tty1), so waiting for it here would never end."""
    if manager_running(target) and units:
        _must(target, "restart" if restart else "start", "--no-block", *units)


def start_setup_screen(target: Target) -> bool:
    """After a factory reset, tty1 offers the set-up again (kiosk-setup.service); whether it was started."""
    if not manager_running(target) or not_installed(target, (SETUP_UNIT,)):
        return False
    _must(target, "start", "--no-block", SETUP_UNIT)
    return True


def stop_and_disable(target: Target) -> list[str]:
    """Stops (when running) and disables every installed unit, the fallback screen too; the units that were
    enabled."""
    missing = not_installed(target)
    units = [unit for unit in UNITS if unit not in missing and is_enabled(target, unit)]
    if units:
        _must(target, "disable", *(["--now"] if manager_running(target) else []), *units)
    if is_active(target, FALLBACK_UNIT):
        _must(target, "stop", FALLBACK_UNIT)
    return units


@contextmanager
def kiosk_paused(target: Target) -> Iterator[bool]:
    """The kiosk stopped for the duration (it holds the camera and the handset), and started again after if it
    was running; yields whether it was."""
    running = is_active(target, KIOSK_UNIT)
    if running:
        _must(target, "stop", KIOSK_UNIT)
    try:
        yield running
    finally:
        if running:
            _must(target, "start", KIOSK_UNIT)
