"""Unit tests for the terminal's configuration: strict TOML parsing, secure central URL, the token file.

No network: files live in pytest's tmp_path.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kiosk.config import (
    ConfigError,
    DriverChoice,
    KioskConfig,
    TechnicianSection,
    load_config,
    parse_config,
    read_private_key,
    read_technician_pin,
    read_token,
)
from kiosk.request_proof import new_private_key, public_key_text

MINIMAL = """
[terminal]
name = "Unit B North 1"
facility = "Harbor County Detention Center"
location = "Unit B North"

[central]
url = "https://central.example"
token_file = "/etc/kiosk/terminal-token"
"""


def with_extra(extra: str) -> str:
    return MINIMAL + "\n" + extra + "\n"


def with_url(url: str) -> str:
    return MINIMAL.replace("https://central.example", url)


def config_with_token(token_file: Path) -> KioskConfig:
    return parse_config(MINIMAL.replace("/etc/kiosk/terminal-token", str(token_file)))


def config_error(text: str) -> str:
    with pytest.raises(ConfigError) as info:
        parse_config(text)
    return str(info.value)


# -- a valid file -----------------------------------------------------------------------------------------


def test_a_minimal_file_parses_with_defaults():
    config = parse_config(MINIMAL)
    assert config.terminal.name == "Unit B North 1"
    assert config.terminal.facility == "Harbor County Detention Center"
    assert config.terminal.location == "Unit B North"
    assert config.central.url == "https://central.example"
    assert config.central.token_file == Path("/etc/kiosk/terminal-token")
    assert config.central.ca_file is None
    assert config.central.timeout_s == 10.0
    assert config.central.poll_wait_s == 25.0
    assert config.media.ice_servers == ()
    assert config.devices.camera is DriverChoice.SIMULATED
    assert config.devices.handset is DriverChoice.SIMULATED
    assert (config.devices.camera_width, config.devices.camera_height, config.devices.camera_fps) == (640, 480, 30.0)
    t = config.timeouts
    assert (t.identify_s, t.visit_list_s, t.pre_visit_s, t.ended_screen_s, t.hangup_grace_s) == (
        60.0,
        90.0,
        120.0,
        10.0,
        10.0,
    )
    assert (config.screen.width, config.screen.height) == (1280, 800)


def test_every_section_can_be_set():
    config = parse_config(
        with_extra(
            """
[media]
ice_servers = ["stun:stun.example:3478"]

[devices]
camera = "simulated"
handset = "simulated"
camera_width = 1280
camera_height = 720
camera_fps = 15

[timeouts]
identify_s = 30
visit_list_s = 45
pre_visit_s = 200
ended_screen_s = 5
hangup_grace_s = 0

[screen]
width = 1920
height = 1080
"""
        )
    )
    assert config.media.ice_servers == ("stun:stun.example:3478",)
    assert (config.devices.camera_width, config.devices.camera_height, config.devices.camera_fps) == (1280, 720, 15.0)
    t = config.timeouts
    assert (t.identify_s, t.visit_list_s, t.pre_visit_s, t.ended_screen_s, t.hangup_grace_s) == (30, 45, 200, 5, 0)
    assert (config.screen.width, config.screen.height) == (1920, 1080)


def test_the_config_is_frozen():
    config = parse_config(MINIMAL)
    with pytest.raises(ValueError):
        config.timeouts.identify_s = 1  # type: ignore[misc]


def test_a_trailing_slash_on_the_url_is_dropped():
    assert parse_config(with_url("https://central.example/")).central.url == "https://central.example"


# -- strictness: unknown keys and sections ----------------------------------------------------------------


@pytest.mark.parametrize("section", ["terminal", "central", "media", "devices", "timeouts", "screen"])
def test_an_unknown_key_in_any_section_is_an_error_naming_it(section):
    if section in ("terminal", "central"):
        text = MINIMAL.replace(f"[{section}]\n", f"[{section}]\ncolour_scheme = 1\n")
    else:
        text = with_extra(f"[{section}]\ncolour_scheme = 1")
    message = config_error(text)
    assert f"[{section}] colour_scheme" in message
    assert "not permitted" in message


def test_a_misspelt_timeout_is_an_error_not_a_silent_default():
    message = config_error(with_extra("[timeouts]\nidentfy_s = 30"))
    assert "[timeouts] identfy_s" in message


def test_an_unknown_section_is_an_error_naming_it():
    message = config_error(with_extra("[cameras]\nwidth = 640"))
    assert "cameras" in message
    assert "not permitted" in message


def test_an_unknown_top_level_key_is_an_error_naming_it():
    message = config_error("debug = true\n" + MINIMAL)
    assert "debug" in message


@pytest.mark.parametrize("section", ["terminal", "central"])
def test_a_missing_required_section_is_an_error_naming_it(section):
    terminal_part, central_part = MINIMAL.split("[central]")
    text = terminal_part if section == "central" else "[central]" + central_part
    message = config_error(text)
    assert section in message
    assert "required" in message


def test_a_missing_required_key_is_an_error_naming_it():
    message = config_error(MINIMAL.replace('location = "Unit B North"\n', ""))
    assert "[terminal] location" in message
    assert "required" in message


# -- bad values ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("section", "line", "where"),
    [
        ("timeouts", "identify_s = -5", "[timeouts] identify_s"),
        ("timeouts", "visit_list_s = 0", "[timeouts] visit_list_s"),
        ("timeouts", "pre_visit_s = 601", "[timeouts] pre_visit_s"),
        ("timeouts", "ended_screen_s = -1", "[timeouts] ended_screen_s"),
        ("timeouts", "hangup_grace_s = -0.5", "[timeouts] hangup_grace_s"),
        ("timeouts", "identify_s = nan", "[timeouts] identify_s"),
        ("timeouts", "identify_s = inf", "[timeouts] identify_s"),
        ("timeouts", 'identify_s = "sixty"', "[timeouts] identify_s"),
        ("devices", 'camera = "real"', "[devices] camera"),
        ("devices", 'handset = "usb"', "[devices] handset"),
        ("devices", 'handset_audio = ""', "[devices] handset_audio"),
        ("devices", 'hook_kind = "gpio"', "[devices] hook_kind"),
        ("devices", 'hook_key = "phone"', "[devices] hook_key"),
        ("devices", 'hook = "real"\nhook_kind = "key"', "[devices] hook_device"),
        ("devices", "hook_debounce_ms = 1000", "[devices] hook_debounce_ms"),
        ("devices", "touchscreen_rotation = 45", "[devices] touchscreen_rotation"),
        ("devices", "touchscreen_calibration = [1, 0, 0]", "[devices] touchscreen_calibration"),
        ("devices", "camera_width = 100", "[devices] camera_width"),
        ("devices", "camera_fps = 120", "[devices] camera_fps"),
        ("screen", "width = 320", "[screen] width"),
        ("media", 'ice_servers = "stun:x"', "[media] ice_servers"),
    ],
)
def test_a_bad_value_is_an_error_naming_the_field(section, line, where):
    message = config_error(with_extra(f"[{section}]\n{line}"))
    assert where in message
    assert message.startswith("configuration is invalid")


@pytest.mark.parametrize(
    ("line", "where"),
    [
        ("timeout_s = 0", "[central] timeout_s"),
        ("timeout_s = -1", "[central] timeout_s"),
        ("poll_wait_s = 31", "[central] poll_wait_s"),
    ],
)
def test_a_bad_central_value_is_an_error_naming_the_field(line, where):
    message = config_error(MINIMAL.replace("[central]\n", f"[central]\n{line}\n"))
    assert where in message


def test_an_empty_terminal_name_is_refused():
    message = config_error(MINIMAL.replace('name = "Unit B North 1"', 'name = ""'))
    assert "[terminal] name" in message


def test_several_problems_are_all_named():
    message = config_error(with_extra('[timeouts]\nidentify_s = -5\n\n[devices]\ncamera = "real"'))
    assert "[timeouts] identify_s" in message
    assert "[devices] camera" in message


# -- the central URL ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.5",
        "http://central.example",
        "http://central.example:8080/api",
        "http://127.0.0.1.nip.io",
        "http://localhost.evil.example",
        "http://0.0.0.0:8000",
    ],
)
def test_plain_http_to_another_machine_is_refused(url):
    message = config_error(with_url(url))
    assert "[central] url" in message
    assert "https" in message


@pytest.mark.parametrize("url", ["ftp://central.example", "central.example", "https://", "file:///etc/passwd", ""])
def test_a_url_that_is_not_http_is_refused(url):
    message = config_error(with_url(url))
    assert "[central] url" in message


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1",
        "http://127.0.0.1:8443",
        "http://localhost:8000",
        "http://[::1]:8000",
        "https://central.example",
        "https://10.0.0.5:8443",
        "https://central.example/some/prefix",
    ],
)
def test_https_anywhere_and_http_to_this_machine_are_accepted(url):
    assert parse_config(with_url(url)).central.url == url


# -- TOML and files -----------------------------------------------------------------------------------------


def test_invalid_toml_gives_a_clear_message():
    message = config_error(MINIMAL + "\n[timeouts\nidentify_s = 30\n")
    assert "is not valid TOML" in message
    assert "line" in message


def test_a_duplicate_key_is_invalid_toml():
    message = config_error(MINIMAL.replace("[terminal]\n", '[terminal]\nname = "twice"\n'))
    assert "is not valid TOML" in message


def test_load_config_reads_a_file(tmp_path):
    path = tmp_path / "kiosk.toml"
    path.write_text(MINIMAL)
    assert load_config(path) == parse_config(MINIMAL)


def test_load_config_names_the_file_in_its_errors(tmp_path):
    path = tmp_path / "kiosk.toml"
    path.write_text(with_extra("[timeouts]\nidentify_s = -5"))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(path) in str(info.value)
    assert "[timeouts] identify_s" in str(info.value)

    path.write_text("[terminal\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(path) in str(info.value)
    assert "not valid TOML" in str(info.value)


def test_load_config_on_a_missing_file_is_a_config_error(tmp_path):
    path = tmp_path / "nowhere.toml"
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(path) in str(info.value)
    assert "No such file" in str(info.value)


def test_load_config_on_a_directory_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError):
        load_config(tmp_path)


def test_load_config_on_a_file_that_is_not_utf8_is_a_config_error(tmp_path):
    path = tmp_path / "kiosk.toml"
    # Someone saved the facility name in Latin-1.
    path.write_bytes(MINIMAL.replace("Harbor County", "Pe\u00f1asco County").encode("latin-1"))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(path) in str(info.value)


# -- the token file -----------------------------------------------------------------------------------------


def write_token(path: Path, text: str, mode: int) -> Path:
    path.write_text(text)
    os.chmod(path, mode)
    return path


def test_read_token_reads_an_owner_only_file_and_strips_the_newline(tmp_path):
    token_file = write_token(tmp_path / "terminal-token", "t0k3n-abc\n", 0o600)
    assert read_token(config_with_token(token_file)) == "t0k3n-abc"


def test_read_token_accepts_a_read_only_owner_file(tmp_path):
    token_file = write_token(tmp_path / "terminal-token", "t0k3n-abc", 0o400)
    assert read_token(config_with_token(token_file)) == "t0k3n-abc"


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o606])
def test_read_token_refuses_a_file_others_can_read_or_write(tmp_path, mode):
    token_file = write_token(tmp_path / "terminal-token", "t0k3n-abc\n", mode)
    with pytest.raises(ConfigError) as info:
        read_token(config_with_token(token_file))
    message = str(info.value)
    assert str(token_file) in message
    assert "600" in message
    assert "t0k3n-abc" not in message


def test_read_token_on_a_missing_file_is_a_config_error(tmp_path):
    token_file = tmp_path / "terminal-token"
    with pytest.raises(ConfigError) as info:
        read_token(config_with_token(token_file))
    assert str(token_file) in str(info.value)


# -- the enrolled terminal's key ------------------------------------------------------------------------------


def config_with_key(key_file: Path | None) -> KioskConfig:
    config = config_with_token(Path("/nonexistent"))
    return config.model_copy(update={"central": config.central.model_copy(update={"key_file": key_file})})


def test_a_terminal_without_a_key_file_signs_nothing():
    assert read_private_key(config_with_key(None)) is None


def test_the_key_made_at_enrollment_is_read_back(tmp_path):
    key = new_private_key(tmp_path / "terminal.key")
    read = read_private_key(config_with_key(tmp_path / "terminal.key"))
    assert read is not None and public_key_text(read) == public_key_text(key)


def test_a_key_file_others_can_read_or_that_holds_no_key_is_a_clear_config_error(tmp_path):
    new_private_key(tmp_path / "terminal.key")
    os.chmod(tmp_path / "terminal.key", 0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        read_private_key(config_with_key(tmp_path / "terminal.key"))
    not_a_key = write_token(tmp_path / "not.key", "t0k3n-abc\n", 0o600)
    with pytest.raises(ConfigError, match="not an Ed25519 private key"):
        read_private_key(config_with_key(not_a_key))


# -- the technician PIN file --------------------------------------------------------------------------------


def config_with_technician_pin(pin_file: Path | None) -> KioskConfig:
    config = config_with_token(Path("/nonexistent"))
    return config.model_copy(update={"technician": TechnicianSection(pin_file=pin_file)})


def test_without_a_technician_pin_file_there_is_no_technician_mode():
    assert read_technician_pin(config_with_technician_pin(None)) is None


def test_the_technician_pin_comes_from_an_owner_only_file(tmp_path):
    assert read_technician_pin(config_with_technician_pin(write_token(tmp_path / "pin", "913704\n", 0o600))) == "913704"


@pytest.mark.parametrize(
    ("text", "mode", "says"),
    [("9137\n", 0o644, "chmod 600"), ("37", 0o600, "4 to 12 digits"), ("91a7", 0o600, "4 to 12 digits")],
)
def test_a_technician_pin_file_that_is_readable_by_others_or_not_a_pin_is_refused(tmp_path, text, mode, says):
    with pytest.raises(ConfigError, match=says) as info:
        read_technician_pin(config_with_technician_pin(write_token(tmp_path / "pin", text, mode)))
    # The message names the file; its path (pytest-537/...) may hold the same digits by chance.
    assert text.strip() not in str(info.value).replace(str(tmp_path), ""), "a PIN never goes into a message"
