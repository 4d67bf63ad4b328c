"""`kiosk report-out-of-service`, run as its unit runs it (the token and key only in systemd's credentials folder),
against the real central: the officers' list of terminals then says the software keeps failing, and the kiosk's
own next heartbeat clears that. Central out of reach means "try again" (exit 1), a missing credential a clear
refusal (exit 2)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from central.server_process import CentralProcess, free_port
from kiosk.central_client import CentralClient
from kiosk.protocol import EnrollmentRequest, Heartbeat
from kiosk.request_proof import new_private_key, public_key_text
from tests.conftest import staff_call

pytestmark = pytest.mark.e2e

KIOSK = Path(sys.executable).with_name("kiosk")
SOFTWARE_FAILING = "Its software keeps failing, so it shows “out of service”."


def config_file(folder: Path, central_url: str, key: bool = True) -> Path:
    """The terminal's configuration as provisioning writes it, naming token and key files this run cannot read
    (they do not exist here): only the credentials folder has them. `key`: False for central's demo terminal,
    registered without one."""
    path = folder / "kiosk.toml"
    key_line = f'key_file = "{folder / "etc-kiosk" / "terminal.key"}"' if key else ""
    path.write_text(
        f"""\
[terminal]
name = "B North 7"
facility = "Harbor County Detention Center"
location = "Unit B North"

[central]
url = "{central_url}"
token_file = "{folder / "etc-kiosk" / "terminal-token"}"
{key_line}
"""
    )
    return path


def enrolled(central: CentralProcess, credentials: Path) -> CentralClient:
    """A terminal enrolled with its own key; its token and key as systemd hands them over (read-only, 0400)."""
    credentials.mkdir()
    key = new_private_key(credentials / "terminal.key")
    code = staff_call(central, "POST", "/enrollment-codes", json={}).json()["code"]
    request = EnrollmentRequest(code=code, name="B North 7", location="Unit B North", public_key=public_key_text(key))
    grant = CentralClient(central.url, None).enroll(request)
    (credentials / "terminal-token").write_text(f"{grant.token}\n")
    for credential in credentials.iterdir():
        credential.chmod(0o400)
    return CentralClient(central.url, grant.token, key=key)


def report(config: Path, credentials: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CREDENTIALS_DIRECTORY": str(credentials)}
    command = [str(KIOSK), "--config", str(config), "report-out-of-service"]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)


def attention(central: CentralProcess) -> list[str]:
    """What the officers' page says about the enrolled terminal (central's demo data has others)."""
    (terminal,) = [t for t in staff_call(central, "GET", "/terminals").json() if t["name"] == "B North 7"]
    return terminal["attention"]


def test_central_hears_the_software_keeps_failing_until_the_kiosk_beats_again(start_central, tmp_path: Path):
    central = start_central()
    terminal = enrolled(central, tmp_path / "credentials")
    terminal.heartbeat(Heartbeat(version="0.1.0", health={"camera": "ok", "handset": "ok"}))
    assert attention(central) == []

    done = report(config_file(tmp_path, central.url), tmp_path / "credentials")
    assert done.returncode == 0, done.stderr
    assert "central was told the terminal is out of service" in done.stderr
    said = attention(central)
    assert len(said) == 1 and said[0].startswith(SOFTWARE_FAILING)

    terminal.heartbeat(Heartbeat(version="0.1.0", health={"camera": "ok", "handset": "ok"}))
    assert attention(central) == [], "the kiosk runs again: nothing left to say"


def test_central_out_of_reach_asks_systemd_to_try_again(start_central, tmp_path: Path):
    central = start_central()
    enrolled(central, tmp_path / "credentials")
    unreachable = f"http://127.0.0.1:{free_port()}"
    done = report(config_file(tmp_path, unreachable), tmp_path / "credentials")
    assert done.returncode == 1
    assert "central could not be told the terminal is out of service: central unreachable" in done.stderr


def test_a_missing_credential_is_refused_in_a_sentence_and_nothing_is_sent(start_central, tmp_path: Path):
    central = start_central()
    terminal = enrolled(central, tmp_path / "credentials")
    terminal.heartbeat(Heartbeat(version="0.1.0", health={"camera": "ok"}))
    empty = tmp_path / "no-credentials"
    empty.mkdir()
    done = report(config_file(tmp_path, central.url), empty)
    assert done.returncode == 2
    assert f"cannot read the terminal token {empty / 'terminal-token'}" in done.stderr
    assert "Traceback" not in done.stderr
    assert attention(central) == []
    shutil.rmtree(empty)
