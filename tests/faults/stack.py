"""The fault harness's stack: Janus, central and the simulated visitor each in a network namespace of its own, and
the terminal core in the caller's, each behind its own link (`tests.faults.network`), with central and Janus on
HTTPS signed by a CA of the harness's own, as at a facility. The tests and `./dev.sh bench --faults` build it."""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from playwright.sync_api import Page

from central.child_process import start_tied, stop
from central.janus_server import JanusServer, JanusSettings
from central.server_process import CentralProcess, TlsFiles, free_port
from central.simulated_visitor import visitor_command
from kiosk.config import KioskConfig
from tests.browser import CHROMIUM, HeadlessChromium, fake_camera_file
from tests.conftest import kiosk_config
from tests.faults.network import FaultNetwork
from tests.terminal_harness import HarnessTerminal
from tests.tls_authority import make_authority, server_certificate


@dataclass
class FaultStack:
    network: FaultNetwork
    janus: JanusServer
    central: CentralProcess
    visitor: subprocess.Popen[bytes] | None  # the simulated visitor, when there is one
    terminal: HarnessTerminal | None  # the terminal core in this process, unless it runs in one of its own
    authority: Path  # the CA (PEM) that signed central's and Janus's certificates
    folder: Path
    browsers: list[HeadlessChromium] = field(default_factory=list)
    mounted: list[Path] = field(default_factory=list)

    def chromium_in(self, role: str) -> tuple[Path, tuple[str, ...]]:
        """What starts Chromium in this role's namespace, and the arguments that make it trust exactly central's
        and Janus's keys (it has no way to be given a CA of its own)."""
        launcher = self.folder / f"chromium-in-{role}-namespace"
        launcher.write_text(f'#!/bin/sh\nexec {" ".join(self.network[role].command())} {CHROMIUM} "$@"\n')
        launcher.chmod(0o700)
        pins = ",".join(_spki_pin(cert) for cert in self.folder.glob("198.19.*.pem"))
        return launcher, (f"--ignore-certificate-errors-spki-list={pins}",)

    def visitor_page(self) -> Page:
        """The visitor page in Chromium, in the visitor's namespace."""
        launcher, trust = self.chromium_in("visitor")
        browser = HeadlessChromium(
            fake_camera_file(self.folder, "Visitor (Chromium)"),
            self.folder / "chromium-profile",
            executable=launcher,
            more_args=trust,
        )
        self.browsers.append(browser)
        page = browser.start()
        page.goto(f"{self.central.url}/visit?code={self.central.secret('visitor-code')}")
        return page

    @property
    def kiosk(self) -> HarnessTerminal:
        assert self.terminal is not None, "this stack's terminal runs in a process of its own"
        return self.terminal

    def stop(self) -> None:
        if self.terminal is not None:
            self.terminal.stop()
        stop(self.visitor)
        for browser in self.browsers:
            browser.stop()
        self.central.stop()
        self.janus.stop()
        for folder in self.mounted:
            subprocess.run(["umount", str(folder)], check=False)
        self.network.stop()


def _spki_pin(certificate: Path) -> str:
    """Chromium's pin of a certificate's key: base64 of the SHA-256 of its SubjectPublicKeyInfo."""
    cert = x509.load_pem_x509_certificate(certificate.read_bytes())
    spki = cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(spki).digest()).decode()


def start_fault_stack(
    folder: Path,
    visit_seconds: float = 1800.0,
    simulated_visitor: bool = True,
    state_size: str = "",
    terminal: bool = True,
    home: str = "terminal",
    **timeouts: float,
) -> FaultStack:
    """A new stack in `folder`, the terminal core idle. `simulated_visitor` False: no visitor joins by itself (the
    test opens the visitor page instead). `state_size`: the terminal's state folder is a file system of this size
    (tmpfs, e.g. "1m"), to fill. `terminal` False: no terminal core here (the test runs one in a process of its
    own, with `terminal_config`). `home`: the role whose namespace is this process's (the call bench's is the
    visitor's). A stack that fails to start leaves nothing behind."""
    folder.mkdir(parents=True, exist_ok=True)
    network = FaultNetwork(home)
    network.start()
    try:
        return _start_roles(folder, network, visit_seconds, simulated_visitor, state_size, terminal, timeouts)
    except BaseException:
        network.stop()
        raise


def _start_roles(
    folder: Path,
    network: FaultNetwork,
    visit_seconds: float,
    simulated_visitor: bool,
    state_size: str,
    terminal: bool,
    timeouts: dict[str, float],
) -> FaultStack:
    mounted: list[Path] = []
    janus_role, central_role, visitor_role = network["janus"], network["central"], network["visitor"]
    # As at a facility: central and Janus both serve HTTPS with certificates of the facility's CA.
    authority = make_authority(folder, "Fault harness CA")
    settings = JanusSettings(
        media_interface=janus_role.interface,
        http_ip=janus_role.address,
        http_port=8089,
        admin_key=secrets.token_hex(12),
        tls=server_certificate(folder, authority, janus_role.address),
    )
    janus = JanusServer(
        settings, folder / "janus.log", command_prefix=tuple(janus_role.command()), verify=str(authority.pem)
    )
    janus.start()
    cert, key = server_certificate(folder, authority, central_role.address)
    central = CentralProcess(
        folder / "central",
        janus.url,
        settings.admin_key,
        visit_seconds,
        port=free_port(),
        listen=central_role.address,
        command_prefix=tuple(central_role.command()),
        tls=TlsFiles(cert, key, authority.pem),
    )
    central.start()
    visitor = None
    if simulated_visitor:
        visitor = start_tied(
            visitor_role.command(*visitor_command(central.url, central.state / "visitor-code")),
            folder / "visitor.log",
            env={**os.environ, "REQUESTS_CA_BUNDLE": str(authority.pem)},
        )
    if state_size:
        state = central.state / "kiosk-state"
        state.mkdir()
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={state_size}", "tmpfs", str(state)], check=True)
        mounted.append(state)
    core = (
        HarnessTerminal.for_central(terminal_config(central, authority.pem, **timeouts), central) if terminal else None
    )
    return FaultStack(network, janus, central, visitor, core, authority.pem, folder, mounted=mounted)


def terminal_config(central: CentralProcess, authority: Path, **timeouts: float) -> KioskConfig:
    """The terminal's configuration for a stack's central, pinning the harness's CA."""
    config = kiosk_config(central.url, central.state / "terminal-token", **timeouts)
    return config.model_copy(update={"central": config.central.model_copy(update={"ca_file": authority})})
