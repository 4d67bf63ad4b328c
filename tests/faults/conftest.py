"""The fault harness's stack: Janus, central and the simulated visitor each in a network namespace of its own, and
the terminal core in the test's, each behind its own link (`tests.faults.network`). Every test gets a new one."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from central.child_process import start_tied, stop
from central.janus_server import JanusServer, JanusSettings
from central.server_process import CentralProcess, TlsFiles, free_port
from tests.conftest import kiosk_config
from tests.faults.network import FaultNetwork
from tests.terminal_harness import HarnessTerminal
from tests.tls_authority import make_authority, server_certificate


@dataclass
class FaultStack:
    network: FaultNetwork
    janus: JanusServer
    central: CentralProcess
    visitor: subprocess.Popen[bytes]
    terminal: HarnessTerminal
    authority: Path  # the CA (PEM) that signed central's certificate


@pytest.fixture
def fault_stack(tmp_path: Path) -> Iterator[Callable[..., FaultStack]]:
    made: list[FaultStack] = []
    network = FaultNetwork()

    def make(visit_seconds: float = 1800.0, **timeouts: float) -> FaultStack:
        network.start()
        janus_role, central_role, visitor_role = network["janus"], network["central"], network["visitor"]
        settings = JanusSettings(
            media_interface=janus_role.interface,
            http_ip=janus_role.address,
            http_port=8088,
            admin_key=secrets.token_hex(12),
        )
        janus = JanusServer(settings, tmp_path / "janus.log", command_prefix=tuple(janus_role.command()))
        janus.start()
        authority = make_authority(tmp_path, "Fault harness CA")
        cert, key = server_certificate(tmp_path, authority, central_role.address)
        central = CentralProcess(
            tmp_path / "central",
            janus.url,
            settings.admin_key,
            visit_seconds,
            port=free_port(),
            listen=central_role.address,
            command_prefix=tuple(central_role.command()),
            tls=TlsFiles(cert, key, authority.pem),
        )
        central.start()
        visitor = start_tied(
            visitor_role.command(
                sys.executable,
                "-m",
                "central.simulated_visitor",
                "--central",
                central.url,
                "--code-file",
                str(central.state / "visitor-code"),
            ),
            tmp_path / "visitor.log",
            env={**os.environ, "REQUESTS_CA_BUNDLE": str(authority.pem)},
        )
        config = kiosk_config(central.url, central.state / "terminal-token", **timeouts)
        config = config.model_copy(update={"central": config.central.model_copy(update={"ca_file": authority.pem})})
        terminal = HarnessTerminal.for_central(config, central)
        stack = FaultStack(network, janus, central, visitor, terminal, authority.pem)
        made.append(stack)
        return stack

    yield make
    for stack in made:
        stack.terminal.stop()
        stop(stack.visitor)
        stack.central.stop()
        stack.janus.stop()
    network.stop()
