"""Starts Debian's Janus with a generated, minimal configuration (HTTP transport and VideoRoom only).

Used by the demo and the end-to-end tests; a facility runs its own Janus and points central at it.
"""

from __future__ import annotations

import glob
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from central.child_process import start_tied, stop, wait_until_answering

_OTHER_TRANSPORTS = (
    "libjanus_websockets.so,libjanus_pfunix.so,libjanus_mqtt.so,libjanus_nanomsg.so,libjanus_rabbitmq.so"
)


class JanusNotInstalled(RuntimeError):
    """Janus (Debian package `janus`) is missing."""


@dataclass(frozen=True)
class JanusSettings:
    media_interface: str
    http_port: int = 8088
    http_ip: str = "127.0.0.1"
    admin_key: str = ""
    rtp_port_range: str = "20000-20999"
    tls: tuple[Path, Path] | None = None  # serve the API over HTTPS only, with this certificate chain and key (PEM)


def _janus_lib_dir() -> Path:
    found = glob.glob("/usr/lib/*/janus/plugins/libjanus_videoroom.so")
    if not shutil.which("janus") or not found:
        raise JanusNotInstalled("Janus is not installed: run 'apt-get install janus janus-tools'.")
    return Path(found[0]).parent.parent


def write_config(folder: Path, settings: JanusSettings) -> None:
    libs = _janus_lib_dir()
    other_plugins = sorted(
        p.name for p in (libs / "plugins").glob("libjanus_*.so") if p.name != "libjanus_videoroom.so"
    )
    (folder / "janus.jcfg").write_text(
        f"""general: {{
  configs_folder = "{folder}"
  plugins_folder = "{libs / "plugins"}"
  transports_folder = "{libs / "transports"}"
  events_folder = "{libs / "events"}"
  loggers_folder = "{libs / "loggers"}"
  debug_level = 3
  session_timeout = 30
  log_to_stdout = true
}}
media: {{
  rtp_port_range = "{settings.rtp_port_range}"
}}
nat: {{
  ice_enforce_list = "{settings.media_interface}"
}}
plugins: {{
  disable = "{",".join(other_plugins)}"
}}
transports: {{
  disable = "{_OTHER_TRANSPORTS}"
}}
loggers: {{
  disable = "libjanus_jsonlog.so"
}}
events: {{
  broadcast = false
}}
"""
    )
    if settings.tls is None:
        listen = f'  http = true\n  port = {settings.http_port}\n  ip = "{settings.http_ip}"\n  https = false'
        certificates = ""
    else:
        listen = (
            f'  http = false\n  https = true\n  secure_port = {settings.http_port}\n  secure_ip = "{settings.http_ip}"'
        )
        chain, key = settings.tls
        certificates = f'certificates: {{\n  cert_pem = "{chain}"\n  cert_key = "{key}"\n}}\n'
    (folder / "janus.transport.http.jcfg").write_text(
        f"""general: {{
  base_path = "/janus"
{listen}
}}
admin: {{
  admin_http = false
}}
{certificates}"""
    )
    admin_key = f'  admin_key = "{settings.admin_key}"\n' if settings.admin_key else ""
    (folder / "janus.plugin.videoroom.jcfg").write_text(f"general: {{\n{admin_key}}}\n")


class JanusServer:
    """A Janus process with its own config folder; use as a context manager."""

    def __init__(
        self,
        settings: JanusSettings,
        log_path: Path | None = None,
        command_prefix: tuple[str, ...] = (),
        verify: bool | str = True,
    ) -> None:
        """`command_prefix`: what Janus runs under, e.g. `ip netns exec NS` to put it in a namespace of its own.
        `verify`: the CA file to check its HTTPS certificate against, when it has one."""
        self.settings = settings
        self._verify = verify
        self._prefix = command_prefix
        self.url = f"{'https' if settings.tls else 'http'}://{settings.http_ip}:{settings.http_port}/janus"
        self._folder = Path(tempfile.mkdtemp(prefix="kiosk-janus-"))
        self._log_path = log_path or self._folder / "janus.log"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 15.0) -> None:
        write_config(self._folder, self.settings)
        self._process = start_tied(
            [*self._prefix, "janus", "-C", str(self._folder / "janus.jcfg"), "-F", str(self._folder)], self._log_path
        )
        wait_until_answering(self._process, "Janus", f"{self.url}/info", timeout, self._log_path, self._verify)

    def restart(self) -> None:
        """Stops Janus and starts it again with the same configuration: every session and room it had is gone."""
        stop(self._process)
        self.start()

    def stop(self) -> None:
        stop(self._process)
        shutil.rmtree(self._folder, ignore_errors=True)

    def __enter__(self) -> JanusServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
