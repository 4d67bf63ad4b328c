"""Shared fixtures: every test runs inside a private network namespace made for this test session,
with a real Janus and a real central server started on demand.
"""

from __future__ import annotations

import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from central.janus_server import JanusServer, JanusSettings
from central.private_network import PrivateNetwork, enter_private_network
from central.server_process import CentralProcess, TlsFiles, free_port
from kiosk.config import KioskConfig, parse_config
from kiosk.protocol import API_PREFIX
from tests.postgres_server import PostgresServer
from tests.pulse_server import PulseServer

pytest_plugins = ["tests.central_harness", "tests.browser"]

_network: PrivateNetwork | None = None
_machine_network: int | None = None  # a descriptor of the namespace the suite left


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    # Before any thread exists: every thread and process started later inherits the namespace,
    # so no test can reach anything outside this machine.
    global _network, _machine_network
    _machine_network = os.open("/proc/self/ns/net", os.O_RDONLY)
    _network = enter_private_network()


def machine_network() -> str:
    """The machine's own network namespace, as `nsenter --net=` takes it: for the one test that must download
    packages (the image build), and nothing else."""
    assert _machine_network is not None
    return f"/proc/{os.getpid()}/fd/{_machine_network}"


@pytest.fixture(scope="session")
def private_network() -> PrivateNetwork:
    assert _network is not None
    return _network


@pytest.fixture(scope="session")
def janus(private_network: PrivateNetwork, tmp_path_factory: pytest.TempPathFactory) -> Iterator[JanusServer]:
    settings = JanusSettings(
        media_interface=private_network.media_interface, http_port=free_port(), admin_key=secrets.token_hex(12)
    )
    server = JanusServer(settings, log_path=tmp_path_factory.mktemp("janus") / "janus.log")
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A real PostgreSQL server for the session (Debian's package), on 127.0.0.1 in the private network."""
    server = PostgresServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def start_central(janus: JanusServer, tmp_path: Path) -> Iterator[Callable[..., CentralProcess]]:
    started: list[CentralProcess] = []

    def start(
        visit_seconds: float = 1800.0,
        janus_url: str | None = None,
        tls: TlsFiles | None = None,
        extra_args: tuple[str, ...] = (),
    ) -> CentralProcess:
        """`extra_args`: more of kiosk-central's options (e.g. `--session-minutes`)."""
        state = tmp_path / f"central-{len(started)}"
        central = CentralProcess(
            state, janus_url or janus.url, janus.settings.admin_key, visit_seconds, tls=tls, extra_args=extra_args
        )
        started.append(central)
        central.start()
        return central

    yield start
    for central in started:
        central.stop()


def kiosk_config(central_url: str, token_file: Path, devices: str = "", **timeouts: float) -> KioskConfig:
    """A terminal's configuration for tests; `devices` is the body of the [devices] section."""
    lines = "\n".join(f"{k} = {v}" for k, v in timeouts.items())
    return parse_config(
        f"""
[terminal]
name = "Test terminal"
facility = "Harbor County Detention Center"
location = "Unit B North"
state_dir = "{token_file.parent / "kiosk-state"}"

[central]
url = "{central_url}"
token_file = "{token_file}"
timeout_s = 5
poll_wait_s = 5

[devices]
{devices}

[timeouts]
{lines}
"""
    )


SCREENS = Path(__file__).resolve().parent.parent / "build" / "screens"


@pytest.fixture(scope="session")
def screens_folder() -> Path:
    SCREENS.mkdir(parents=True, exist_ok=True)
    return SCREENS


@pytest.fixture
def start_kiosk(qapp: object, qtbot: object) -> Iterator[Callable[..., object]]:
    """Starts the whole terminal (window included) against a central; stops it after the test."""
    from ui.app import KioskApp
    from ui.qt_process import load_fonts

    load_fonts()
    started: list[KioskApp] = []

    def start(
        central_url: str,
        token_file: Path,
        devices: str = "",
        device_events: object = None,
        technician_pin: str | None = None,
        key: Ed25519PrivateKey | None = None,
        ca_file: Path | None = None,
        **timeouts: float,
    ) -> KioskApp:
        """`key`, `ca_file`: an enrolled terminal's key, and the facility CA it pins."""
        config = kiosk_config(central_url, token_file, devices, **timeouts)
        config = config.model_copy(update={"central": config.central.model_copy(update={"ca_file": ca_file})})
        token = token_file.read_text().strip()
        kiosk = KioskApp(config, token, device_events, technician_pin, key=key)  # type: ignore[arg-type]
        qapp.installEventFilter(kiosk.window.activity_filter())  # type: ignore[attr-defined]
        started.append(kiosk)
        kiosk.start()
        return kiosk

    yield start
    for kiosk in started:
        kiosk.stop()


def staff_call(central: CentralProcess, method: str, path: str, **kwargs: Any) -> requests.Response:
    """A request to central's staff API (`path` after /api/v1/staff) with the demo's staff token."""
    headers = {"Authorization": f"Bearer {central.secret('staff-token')}"}
    return requests.request(method, f"{central.url}{API_PREFIX}/staff{path}", headers=headers, timeout=5, **kwargs)


@pytest.fixture(scope="session")
def pulse() -> Iterator[PulseServer]:
    """A real PulseAudio server with a speaker sink and a fake microphone, reached through PortAudio."""
    server = PulseServer()
    server.start()
    yield server
    server.stop()


# -- systemd's notify socket, as the kiosk's unit has it ------------------------------------------------


@dataclass
class Received:
    """Every datagram the socket receives, with when it came (monotonic seconds)."""

    messages: list[tuple[float, str]] = field(default_factory=list)

    def texts(self) -> list[str]:
        return [text for _at, text in list(self.messages)]

    def pings_between(self, start: float, end: float) -> int:
        return sum(1 for at, text in list(self.messages) if start <= at <= end and text == "WATCHDOG=1")


@contextmanager
def notifications(path: Path) -> Iterator[Received]:
    """A datagram socket bound at `path`, as systemd's, and what arrives on it (read on a thread of its own: a
    blocking recv on the test's thread was seen to miss a datagram)."""
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(str(path))
    server.settimeout(0.1)
    received = Received()
    stop = threading.Event()

    def listen() -> None:
        while not stop.is_set():
            try:
                data = server.recv(4096)
            except TimeoutError:
                continue
            received.messages.append((time.monotonic(), data.decode()))

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    try:
        yield received
    finally:
        stop.set()
        thread.join()
        server.close()


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[tuple[str, Received]]:
    """A bound datagram socket, as systemd's, and what arrives on it."""
    with notifications(tmp_path / "notify") as received:
        yield str(tmp_path / "notify"), received
