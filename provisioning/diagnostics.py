"""`kiosk-provision diagnostics`: a support bundle a technician can hand on, with nothing secret or personal in
it: versions, the configuration, what the terminal is, the last report and self-test, the devices udev sees, and
recent logs. The token and the key are never read into it; every text in it is also scrubbed of anything that
looks like a secret, a PIN or a person's name, in case a log line carried one.
"""

from __future__ import annotations

import io
import platform
import re
import shutil
import subprocess
import tarfile
import time
from importlib import metadata
from pathlib import Path

import pyudev

from kiosk import __version__
from provisioning.target import CONFIG, IDENTITY, REPORT, SELF_TEST, TOKEN, Target

LOG_HOURS = 24
SUBSYSTEMS = ("video4linux", "sound", "input", "hidraw")
PACKAGES = ("aiortc", "av", "PySide6-Essentials", "opencv-python-headless", "sounddevice", "requests")
REMOVED = "[removed]"

_PEM_SECRET = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.DOTALL)
# A value after a key that names a secret or a person: `pin=2468`, `"token": "…"`, `display_name='Daniel'`.
_NAMED_VALUE = re.compile(
    r"""(?P<key>\b(?:pin|password|passwd|token|secret|code|authorization|x-terminal-proof|x-resident-session|"""
    r"""display_name|resident_name|resident_id|resident|visitors?)\b["']?\s*[:=]\s*)"""
    r"""(?P<value>"[^"]*"|'[^']*'|\[[^\]]*\]|[^\s,;}]+)""",
    re.IGNORECASE,
)
_BEARER = re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]+")


def scrub(text: str, secrets: list[str]) -> str:
    """`text` without `secrets`, private keys, or any value named like a secret or a person."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REMOVED)
    text = _PEM_SECRET.sub(REMOVED, text)
    text = _BEARER.sub(f"Bearer {REMOVED}", text)
    return _NAMED_VALUE.sub(lambda m: f"{m.group('key')}{REMOVED}", text)


def _versions(target: Target) -> str:
    lines = [f"kiosk {__version__}", f"python {platform.python_version()}", f"kernel {platform.release()}"]
    for package in PACKAGES:
        try:
            lines.append(f"{package} {metadata.version(package)}")
        except metadata.PackageNotFoundError:
            lines.append(f"{package} not installed")
    release = target.path("/etc/os-release")
    if release.exists():
        lines.append(release.read_text(encoding="utf-8", errors="replace"))
    return "\n".join(lines) + "\n"


def _devices() -> str:
    """The devices udev sees that the kiosk could use; nothing is opened (the kiosk may be using them)."""
    lines = []
    context = pyudev.Context()
    for subsystem in SUBSYSTEMS:
        for device in context.list_devices(subsystem=subsystem):
            if device.device_node:
                model = device.properties.get("ID_MODEL") or device.properties.get("NAME", "")
                lines.append(f"{subsystem:<12} {device.device_node:<24} {model}".rstrip())
    return "\n".join(lines or ["(none)"]) + "\n"


def _logs(target: Target) -> str:
    """The kiosk's journal of the last day on a running terminal; in a folder standing for one, none."""
    if target.root != Path("/") or shutil.which("journalctl") is None:
        return "(no journal: not the running system)\n"
    done = subprocess.run(
        ["journalctl", "--no-pager", "--output=short-iso", f"--since=-{LOG_HOURS}h", "--unit=kiosk*"],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout or f"(journalctl: {done.stderr.strip()})\n"


def _read(target: Target, absolute: str) -> str:
    path = target.path(absolute)
    return path.read_text(encoding="utf-8", errors="replace") if path.exists() else "(missing)\n"


def write_bundle(target: Target, output: Path) -> list[str]:
    """Writes the bundle to `output` (tar.gz, 0600); returns the names of the files in it."""
    token_path = target.path(TOKEN)
    secrets = [token_path.read_text(encoding="ascii", errors="replace").strip()] if token_path.exists() else []
    texts = {
        "versions.txt": _versions(target),
        "kiosk.toml": _read(target, CONFIG),
        "identity.json": _read(target, IDENTITY),
        "provision-report.json": _read(target, REPORT),
        "self-test.json": _read(target, SELF_TEST),
        "devices.txt": _devices(),
        "logs.txt": _logs(target),
    }
    output.parent.mkdir(parents=True, exist_ok=True)
    output.touch(mode=0o600)
    output.chmod(0o600)
    with tarfile.open(output, "w:gz") as bundle:
        for name, text in texts.items():
            data = scrub(text, secrets).encode()
            member = tarfile.TarInfo(f"kiosk-diagnostics/{name}")
            member.size, member.mtime, member.mode = len(data), int(time.time()), 0o600
            bundle.addfile(member, io.BytesIO(data))
    return list(texts)
