"""Choosing devices from the configuration: the real driver, its simulated twin, or (auto) the real one
when it is there; a missing real device is a clear error, never a silent simulation. And `kiosk devices`."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from drivers.simulated_camera import SimulatedCamera
from drivers.simulated_handset import SimulatedHookSwitch, SimulatedMicrophone
from drivers.v4l2_camera import V4L2Camera
from kiosk.config import ConfigError, DevicesSection, parse_config
from kiosk.devices import DeviceMissing, open_camera, open_handset, require_touchscreen

MISSING = "/dev/v4l/by-id/usb-No_Such_Camera-video-index0"


def recording(folder: Path, frames: int = 45) -> Path:
    """A short MJPG recording, opened through the same VideoCapture path as a camera."""
    path = folder / "camera.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30, (640, 480))
    for index in range(frames):
        writer.write(np.full((480, 640, 3), (index * 5) % 255, np.uint8))
    writer.release()
    return path


def config_text(camera: str, source: str, tmp_path: Path) -> str:
    token = tmp_path / "token"
    token.write_text("t0ken\n")
    token.chmod(0o600)
    return f"""
[terminal]
name = "T"
facility = "F"
location = "L"
state_dir = "{tmp_path / "state"}"
[central]
url = "http://127.0.0.1:9"
token_file = "{token}"
[devices]
camera = "{camera}"
camera_source = "{source}"
"""


def devices(camera: str, source: str, tmp_path: Path):
    return parse_config(config_text(camera, source, tmp_path)).devices


def test_a_real_or_auto_camera_without_a_source_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="camera_source"):
        devices("real", "", tmp_path)
    with pytest.raises(ConfigError, match="camera_source"):
        devices("auto", "", tmp_path)
    with pytest.raises(ConfigError, match="camera"):
        devices("usb", MISSING, tmp_path)


def test_real_opens_the_camera_and_a_missing_one_stops_the_start_with_a_sentence(tmp_path):
    camera = open_camera(devices("real", str(recording(tmp_path)), tmp_path))
    assert isinstance(camera, V4L2Camera)
    with pytest.raises(DeviceMissing, match=r"is not there\. Check its cable"):
        open_camera(devices("real", MISSING, tmp_path))


def test_auto_takes_the_real_camera_when_it_is_there_and_the_simulation_otherwise(tmp_path):
    assert isinstance(open_camera(devices("auto", str(recording(tmp_path)), tmp_path)), V4L2Camera)
    assert isinstance(open_camera(devices("auto", MISSING, tmp_path)), SimulatedCamera)


def kiosk_devices(config: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", "import sys; from ui.cli import main; sys.exit(main())", "--config", str(config)]
    return subprocess.run([*command, "devices"], capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.slow  # two runs of the command, each measuring the devices for 2.5 s
def test_kiosk_devices_lists_each_device_with_its_health(tmp_path):
    config = tmp_path / "kiosk.toml"
    config.write_text(config_text("real", str(recording(tmp_path, frames=200)), tmp_path))
    listed = kiosk_devices(config)
    assert listed.returncode == 0, listed.stderr
    lines = [line.split(maxsplit=2) for line in listed.stdout.splitlines()]
    assert [line[:2] for line in lines] == [["camera", "ok"], ["handset", "ok"], ["hook", "ok"], ["touchscreen", "ok"]]
    assert "fps" in lines[0][2]
    config.write_text(config_text("real", MISSING, tmp_path))
    missing = kiosk_devices(config)
    assert missing.returncode == 3
    lines = [line.split(maxsplit=2) for line in missing.stdout.splitlines()]
    assert lines[0][:2] == ["camera", "missing"] and lines[0][2].startswith("real: The camera")
    assert [line[:2] for line in lines[1:]] == [["handset", "ok"], ["hook", "ok"], ["touchscreen", "ok"]]


def devices_with(tmp_path: Path, lines: str) -> DevicesSection:
    """The devices section with `lines` added to it."""
    return parse_config(config_text("simulated", "", tmp_path) + lines + "\n").devices


@pytest.mark.parametrize(
    ("lines", "says"),
    [
        ('hook = "real"', "The handset's hook switch (any /dev/hidraw* device) is not there"),
        ('hook = "real"\nhook_device = "/dev/hidraw7"', "The handset's hook switch (/dev/hidraw7)"),
        ('hook = "real"\nhook_kind = "key"\nhook_device = "/dev/input/by-id/usb-Handset-event-kbd"', "hook switch"),
        ('handset = "real"\nhandset_audio = "No Such Handset"', "The handset's sound device ('No Such Handset')"),
    ],
)
def test_a_missing_real_handset_part_is_a_start_up_error_that_says_what_to_check(tmp_path, lines, says):
    with pytest.raises(DeviceMissing, match=re.escape(says)):
        open_handset(devices_with(tmp_path, lines))


def test_a_missing_real_touchscreen_is_a_start_up_error(tmp_path):
    with pytest.raises(DeviceMissing, match="No touchscreen named like 'ILITEK' is connected"):
        require_touchscreen(devices_with(tmp_path, 'touchscreen = "real"\ntouchscreen_name = "ILITEK"'))
    require_touchscreen(devices_with(tmp_path, 'touchscreen = "auto"'))  # auto: fine without one


def test_auto_uses_the_simulated_hook_and_sound_when_the_handset_is_not_there(tmp_path):
    handset = open_handset(devices_with(tmp_path, 'hook = "auto"\nhandset = "auto"\nhandset_audio = "Nope"'))
    assert isinstance(handset.hook, SimulatedHookSwitch)
    assert isinstance(handset.microphone, SimulatedMicrophone) and handset.audio is None


@pytest.mark.slow  # a new interpreter that loads the command and Qt
def test_the_kiosk_does_not_start_without_its_real_handset_and_says_what_to_check(tmp_path):
    config = tmp_path / "kiosk.toml"
    config.write_text(config_text("simulated", "", tmp_path) + 'handset = "real"\nhandset_audio = "No Such Handset"\n')
    command = [sys.executable, "-c", "import sys; from ui.cli import main; sys.exit(main())", "--config", str(config)]
    started = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    assert started.returncode == 3
    assert "The handset's sound device ('No Such Handset') is not there" in started.stderr
