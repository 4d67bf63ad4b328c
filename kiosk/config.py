"""The terminal's configuration: a TOML file validated strictly (unknown keys and bad values are errors).

`load_config` returns a frozen model or raises ConfigError with a sentence naming the key at fault.
"""

from __future__ import annotations

import ipaddress
import tomllib
from enum import IntEnum, StrEnum
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from kiosk.request_proof import load_private_key


class ConfigError(Exception):
    """The configuration file is missing, unreadable or invalid."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DriverChoice(StrEnum):
    SIMULATED = "simulated"
    REAL = "real"  # the device must be there: a missing one is a start-up error, never a simulation
    AUTO = "auto"  # the real device when it is there, else the simulation (for bench and demo set-ups)


class HookKind(StrEnum):
    HID = "hid"  # the HID Telephony page's Hook Switch, read from /dev/hidraw*
    KEY = "key"  # a Linux input key or switch (some handsets, or a GPIO wired as a key)


class TouchRotation(IntEnum):
    NONE = 0
    QUARTER = 90
    HALF = 180
    THREE_QUARTERS = 270


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def central_url_problem(url: str) -> str | None:
    """What is wrong with central's address, or None: https, or plain http to this machine only."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return "must be an https:// URL"
    if parts.scheme not in ("https", "http") or not host:
        return "must be an https:// URL"
    if parts.scheme == "http" and not _is_loopback(host):
        return "must use https:// (plain http is allowed only to this machine)"
    return None


class TerminalSection(_Section):
    name: str = Field(min_length=1)
    facility: str = Field(min_length=1)
    location: str = Field(min_length=1)
    state_dir: Path = Path("/var/lib/kiosk")


class CentralSection(_Section):
    url: str
    token_file: Path
    key_file: Path | None = None  # an enrolled terminal's private key: it signs every request (kiosk-provision)
    ca_file: Path | None = None
    timeout_s: Annotated[float, Field(gt=0, le=60)] = 10.0
    poll_wait_s: Annotated[float, Field(gt=0, le=30)] = 25.0

    @field_validator("url")
    @classmethod
    def _secure_url(cls, url: str) -> str:
        if problem := central_url_problem(url):
            raise ValueError(problem)
        return url.rstrip("/")


class MediaSection(_Section):
    ice_servers: tuple[str, ...] = ()


class DevicesSection(_Section):
    camera: DriverChoice = DriverChoice.SIMULATED
    camera_source: str = Field(
        default="", validate_default=True, description="/dev/v4l/by-id/... path (stable) or a V4L2 index"
    )
    handset: DriverChoice = DriverChoice.SIMULATED
    handset_audio: str = Field(default="USB", min_length=1, description="part of the handset's PortAudio device name")
    noise_suppression: bool = Field(
        default=True, description="treat the resident's voice in a noisy room or when soft (suppression, gain)"
    )
    hook: DriverChoice = DriverChoice.SIMULATED
    hook_kind: HookKind = HookKind.HID
    hook_device: str = Field(
        default="",
        validate_default=True,
        description="/dev/hidraw* or /dev/input/by-id/...; empty: the first device with a hook switch",
    )
    hook_key: str = Field(default="KEY_PHONE", pattern=r"^(KEY|SW|BTN)_[A-Z0-9_]+$")
    hook_inverted: bool = False  # for switches that report 1 while the handset rests in its cradle
    hook_debounce_ms: Annotated[int, Field(ge=0, le=500)] = 40
    touchscreen: DriverChoice = DriverChoice.SIMULATED
    touchscreen_name: str = Field(default="", description="part of the touchscreen's name; empty: the first one")
    touchscreen_rotation: TouchRotation = TouchRotation.NONE
    touchscreen_calibration: tuple[float, float, float, float, float, float] = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)
    camera_width: Annotated[int, Field(ge=160, le=1920)] = 640
    camera_height: Annotated[int, Field(ge=120, le=1080)] = 480
    camera_fps: Annotated[float, Field(ge=5, le=60)] = 30.0

    @field_validator("hook_device")
    @classmethod
    def _key_hook_needs_a_device(cls, device: str, info: ValidationInfo) -> str:
        real = info.data.get("hook", DriverChoice.SIMULATED) is not DriverChoice.SIMULATED
        if real and info.data.get("hook_kind") is HookKind.KEY and not device:
            raise ValueError("must name the input device (a /dev/input/by-id/... path) when hook_kind is 'key'")
        return device

    @field_validator("camera_source")
    @classmethod
    def _real_camera_needs_a_source(cls, source: str, info: ValidationInfo) -> str:
        if info.data.get("camera", DriverChoice.SIMULATED) is not DriverChoice.SIMULATED and not source:
            raise ValueError("must name the camera (a /dev/v4l/by-id/... path) when camera is 'real' or 'auto'")
        return source


class TimeoutsSection(_Section):
    identify_s: Annotated[float, Field(ge=5, le=600)] = 60.0
    visit_list_s: Annotated[float, Field(ge=5, le=600)] = 90.0
    pre_visit_s: Annotated[float, Field(ge=5, le=600)] = 120.0
    ended_screen_s: Annotated[float, Field(ge=1, le=120)] = 10.0
    hangup_grace_s: Annotated[float, Field(ge=0, le=120)] = 10.0


LANGUAGES = ("en", "es")  # the languages the terminal has translations for


class ScreenSection(_Section):
    width: Annotated[int, Field(ge=640, le=3840)] = 1280
    height: Annotated[int, Field(ge=480, le=3840)] = 800
    dpi: Annotated[float, Field(ge=50, le=600)] = Field(
        default=141.0, description="the panel's pixels per inch (touch targets are at least 15 mm)"
    )
    language: str = Field(default="en", description="the language each new person starts in")
    output: str = Field(default="", description="the screen (output name) to fill; empty: the primary one")

    @field_validator("language")
    @classmethod
    def _known_language(cls, language: str) -> str:
        if language not in LANGUAGES:
            raise ValueError(f"must be one of {', '.join(LANGUAGES)}")
        return language


class TechnicianSection(_Section):
    pin_file: Path | None = Field(default=None, description="the technician PIN (4-12 digits), mode 0600")


class KioskConfig(_Section):
    terminal: TerminalSection
    central: CentralSection
    media: MediaSection = MediaSection()
    devices: DevicesSection = DevicesSection()
    timeouts: TimeoutsSection = TimeoutsSection()
    screen: ScreenSection = ScreenSection()
    technician: TechnicianSection = TechnicianSection()


def _where(error: dict[str, object]) -> str:
    loc = [str(p) for p in error["loc"]]  # type: ignore[attr-defined]
    return f"[{loc[0]}] {'.'.join(loc[1:])}" if len(loc) > 1 else loc[0] if loc else "(top level)"


def parse_config(text: str, source: str = "configuration") -> KioskConfig:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source} is not valid TOML: {exc}") from exc
    try:
        return KioskConfig.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{_where(e)}: {e['msg']}" for e in exc.errors())  # type: ignore[arg-type]
        raise ConfigError(f"{source} is invalid: {problems}") from exc


def load_config(path: Path) -> KioskConfig:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read the configuration {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"the configuration {path} is not UTF-8 text") from exc
    return parse_config(text, str(path))


def _read_secret(path: Path, what: str) -> str:
    """A secret from a file that must not be readable by others; a sentence naming `what` if it cannot be read."""
    try:
        if path.stat().st_mode & 0o077:
            raise ConfigError(f"{path} must be readable by its owner only (chmod 600)")
        return path.read_text(encoding="ascii").strip()
    except OSError as exc:
        raise ConfigError(f"cannot read the {what} {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"the {what} {path} is not plain text") from exc


def read_token(config: KioskConfig) -> str:
    """The terminal's token."""
    path = config.central.token_file
    token = _read_secret(path, "terminal token")
    if not token:
        raise ConfigError(f"the terminal token {path} is empty")
    return token


def read_private_key(config: KioskConfig) -> Ed25519PrivateKey | None:
    """The enrolled terminal's private key; None for a terminal registered without one (the demo's)."""
    path = config.central.key_file
    if path is None:
        return None
    _read_secret(path, "terminal key")  # the same checks: there, owner-only, text
    try:
        return load_private_key(path)
    except ValueError as exc:
        raise ConfigError(f"the terminal key {path} is not an Ed25519 private key in PEM") from exc


def read_technician_pin(config: KioskConfig) -> str | None:
    """The technician PIN; None when technician mode is not set up."""
    path = config.technician.pin_file
    if path is None:
        return None
    pin = _read_secret(path, "technician PIN")
    if not pin.isdigit() or not 4 <= len(pin) <= 12:
        raise ConfigError(f"the technician PIN in {path} must be 4 to 12 digits")
    return pin
