"""Runs `kiosk-central` as a child process and waits until it answers (for the demo and the tests).

Janus's admin key is handed over in a 0600 file inside the server's state folder.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from central.child_process import start_tied, stop, wait_until_answering
from central.secrets_store import write_secret_file


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class TlsFiles:
    cert: Path  # the server's certificate chain, PEM
    key: Path
    authority: Path  # the facility's CA, PEM


class CentralProcess:
    def __init__(
        self,
        state: Path,
        janus_url: str,
        janus_admin_key: str,
        demo_visit_seconds: float = 1800.0,
        port: int | None = None,
        listen: str = "127.0.0.1",
        janus_public_url: str | None = None,
        tls: TlsFiles | None = None,
        extra_args: tuple[str, ...] = (),
        command_prefix: tuple[str, ...] = (),
    ) -> None:
        """`tls`: serve HTTPS (on 127.0.0.1, which its certificate must name) and hand its CA to enrolling
        terminals. `extra_args`: more of kiosk-central's options, e.g. shorter rules for a test. `command_prefix`: what
        central runs under, e.g. `ip netns exec NS` (it is then reached at `listen`)."""
        self.state = state
        self._listen = listen
        self._janus_public_url = janus_public_url
        self._tls = tls
        self._extra_args = extra_args
        self._prefix = command_prefix
        self.port = port or free_port()
        host = "127.0.0.1" if listen in ("127.0.0.1", "0.0.0.0") else listen
        self.url = f"{'https' if tls else 'http'}://{host}:{self.port}"
        self._janus_url = janus_url
        self._admin_key = janus_admin_key
        self._visit_seconds = demo_visit_seconds
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 20.0) -> None:
        self.state.mkdir(parents=True, exist_ok=True)
        key_file = self.state / "janus-admin-key"
        write_secret_file(key_file, self._admin_key)
        self._process = start_tied(
            [
                *self._prefix,
                sys.executable,
                "-m",
                "central.cli",
                "--state",
                str(self.state),
                "--host",
                self._listen,
                *(["--janus-public-url", self._janus_public_url] if self._janus_public_url else []),
                "--port",
                str(self.port),
                "--janus-url",
                self._janus_url,
                "--janus-admin-key-file",
                str(key_file),
                "--demo",
                "--demo-visit-seconds",
                str(self._visit_seconds),
                *self._tls_arguments(),
                *self._extra_args,
            ],
            self.state / "central.log",
        )
        verify = str(self._tls.authority) if self._tls else True
        log = self.state / "central.log"
        wait_until_answering(self._process, "central", f"{self.url}/healthz", timeout, log, verify)

    def _tls_arguments(self) -> list[str]:
        if self._tls is None:
            return []
        files = {"--tls-cert": self._tls.cert, "--tls-key": self._tls.key, "--facility-ca": self._tls.authority}
        return [part for option, path in files.items() for part in (option, str(path))]

    def secret(self, name: str) -> str:
        return (self.state / name).read_text().strip()

    def stop(self) -> None:
        stop(self._process)
