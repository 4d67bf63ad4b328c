"""Technician mode's checks, without Qt: the network path to central and Janus step by step, a test tone
for the earpiece, and one report of what the technician sees, also written to the log.
"""

from __future__ import annotations

import http.client
import json
import logging
import math
import socket
import ssl
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

import numpy as np

from drivers.audio_analysis import level_dbfs
from drivers.earpiece_player import EarpiecePlayer, sine
from drivers.handset import Earpiece, Microphone
from kiosk import __version__
from kiosk.config import TerminalSection
from kiosk.devices import DeviceReport

log = logging.getLogger(__name__)

CENTRAL = "central"
JANUS = "Janus"
_ANSWER_LIMIT = 64 * 1024  # enough for /healthz and /janus/info; a larger answer is not read


# -- the network check ------------------------------------------------------------------------------


class Step(StrEnum):
    ADDRESS = "address"  # the URL itself: known and well formed
    DNS = "DNS"
    TCP = "TCP"
    TLS = "TLS"
    HTTP = "HTTP"


@dataclass(frozen=True)
class CheckResult:
    """One step of the way to a server. `detail` is what was found, or on failure a sentence with a next step."""

    target: str  # CENTRAL or JANUS
    step: Step
    ok: bool
    ms: float
    detail: str

    def line(self) -> str:
        outcome = f"ok in {self.ms:.1f} ms" if self.ok else f"failed after {self.ms:.1f} ms"
        return f"{self.target} {self.step.value}: {outcome}: {self.detail}"


class _Failed(Exception):
    """A step failed; the message is the sentence for the technician."""


def _title(name: str) -> str:
    """A target's name at the start of a sentence."""
    return name[0].upper() + name[1:]


@dataclass(frozen=True)
class _Target:
    name: str
    host: str
    port: int
    https: bool
    path: str  # the HTTP path to ask for

    @property
    def title(self) -> str:
        return _title(self.name)


def _target(name: str, url: str | None, suffix: str) -> _Target:
    if not url:
        raise _Failed(f"{_title(name)}'s address is not known yet: the terminal learns it when a visit first starts.")
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        raise _Failed(f"{_title(name)}'s address has a port that is not a number. Check the configuration.") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _Failed(f"{_title(name)}'s address is not an http:// or https:// URL. Check the configuration.")
    https = parts.scheme == "https"
    return _Target(name, parts.hostname, port or (443 if https else 80), https, parts.path.rstrip("/") + suffix)


def _resolve(target: _Target) -> list[tuple[int, tuple[str, int]]]:
    try:
        found = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise _Failed(
            f"{target.title}'s name {target.host} does not resolve. "
            "Check the terminal's DNS server and the address in the configuration."
        ) from None
    return [(family, address[:2]) for family, _type, _proto, _name, address in found]


def _connect(target: _Target, addresses: list[tuple[int, tuple[str, int]]], timeout_s: float) -> socket.socket:
    failure: OSError | None = None
    for family, address in addresses:
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.settimeout(timeout_s)
        try:
            sock.connect(address)
            return sock
        except OSError as exc:
            sock.close()
            failure = exc
    if isinstance(failure, ConnectionRefusedError):
        raise _Failed(
            f"{target.title} refused the connection on port {target.port}: "
            "it is not running there, or the port in the address is wrong."
        )
    if isinstance(failure, TimeoutError):
        raise _Failed(
            f"{target.title} did not answer on port {target.port} within {timeout_s:g} s. "
            "Check the network cable and the firewall."
        )
    reason = failure.strerror if failure is not None and failure.strerror else "no address to try"
    raise _Failed(f"{target.title} cannot be reached ({reason}). Check the network cable and the terminal's address.")


# OpenSSL's verification codes (X509_V_ERR_*) that have a plainer sentence than "not trusted".
_NOT_YET_VALID, _EXPIRED, _WRONG_NAME, _WRONG_ADDRESS = 9, 10, 62, 64


def _tls(target: _Target, sock: socket.socket, ca_file: Path | None) -> ssl.SSLSocket:
    try:
        context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    except (OSError, ssl.SSLError):
        raise _Failed(f"The configured CA file {ca_file} cannot be read. Check the ca_file setting.") from None
    context.check_hostname = True  # never off: a terminal that trusts anyone leaks its visits
    context.verify_mode = ssl.CERT_REQUIRED
    try:
        return context.wrap_socket(sock, server_hostname=target.host)
    except ssl.SSLCertVerificationError as exc:
        sentences = {
            _NOT_YET_VALID: "TLS certificate not valid yet. Check the terminal's clock.",
            _EXPIRED: "TLS certificate has expired (or the terminal's clock is wrong).",
            _WRONG_NAME: f"TLS certificate is for another name than {target.host}. Check the address.",
            _WRONG_ADDRESS: f"TLS certificate is for another name than {target.host}. Check the address.",
        }
        raise _Failed(
            sentences.get(
                exc.verify_code,
                f"TLS certificate not trusted by the configured CA ({exc.verify_message}). Check ca_file.",
            )
        ) from None
    except TimeoutError:
        raise _Failed(f"{target.title} accepted the connection but did not start TLS. Is it plain http?") from None
    except (ssl.SSLError, OSError) as exc:
        reason = getattr(exc, "reason", None) or type(exc).__name__
        raise _Failed(f"TLS handshake with {target.name} failed ({reason}). Is it plain http?") from None


def _http_get(target: _Target, sock: socket.socket, timeout_s: float) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection(target.host, target.port, timeout=timeout_s)
    connection.sock = sock  # already connected (and through TLS): the steps before are timed on their own
    try:
        connection.request("GET", target.path, headers={"Connection": "close"})
        response = connection.getresponse()
        return response.status, response.read(_ANSWER_LIMIT)
    except TimeoutError:
        raise _Failed(
            f"{target.title} accepted the connection but sent no answer within {timeout_s:g} s. "
            "It may be overloaded or stuck: restart it."
        ) from None
    except (http.client.HTTPException, OSError):
        raise _Failed(f"{target.title} did not answer in HTTP. Check the address in the configuration.") from None
    finally:
        connection.close()


def _central_answer(target: _Target, status: int, _body: bytes) -> str:
    if status != 200:
        raise _Failed(f"{target.title} answered HTTP {status} at {target.path}. Check its log.")
    return f"HTTP {status}"


def _janus_answer(target: _Target, status: int, body: bytes) -> str:
    if status != 200:
        raise _Failed(f"{target.title} answered HTTP {status} at {target.path}. Check its log.")
    try:
        info = json.loads(body)
    except ValueError:
        info = None
    if not isinstance(info, dict) or info.get("janus") != "server_info":
        raise _Failed("The server at this address answered, but it is not Janus. Check the address.")
    return f"HTTP {status}, Janus {info.get('version_string', '(version unknown)')}"


Answer = Callable[[_Target, int, bytes], str]


def _check(
    name: str, url: str | None, suffix: str, answer: Answer, ca_file: Path | None, timeout_s: float
) -> list[CheckResult]:
    """Runs each step in turn, timed; stops at the first that fails."""
    results: list[CheckResult] = []
    step, started = Step.ADDRESS, time.perf_counter()

    def done(detail: str) -> None:
        results.append(CheckResult(name, step, True, (time.perf_counter() - started) * 1000, detail))

    sock: socket.socket | None = None
    try:
        target = _target(name, url, suffix)
        step, started = Step.DNS, time.perf_counter()
        addresses = _resolve(target)
        done(", ".join(dict.fromkeys(address[0] for _family, address in addresses)))
        step, started = Step.TCP, time.perf_counter()
        sock = _connect(target, addresses, timeout_s)
        done(f"{sock.getpeername()[0]} port {target.port}")
        if target.https:
            step, started = Step.TLS, time.perf_counter()
            sock = _tls(target, sock, ca_file)
            done(f"{sock.version()}, certificate trusted")
        step, started = Step.HTTP, time.perf_counter()
        status, body = _http_get(target, sock, timeout_s)
        done(answer(target, status, body))
    except _Failed as failure:
        results.append(CheckResult(name, step, False, (time.perf_counter() - started) * 1000, str(failure)))
    finally:
        if sock is not None:
            sock.close()
    return results


def network_check(
    central_url: str, janus_url: str | None, ca_file: Path | None = None, timeout_s: float = 5.0
) -> list[CheckResult]:
    """The way to central (its /healthz) and to Janus (its HTTP transport's /info), step by step.

    Blocks for up to a few times `timeout_s` per server: run it off the UI thread. `janus_url` is the one
    from the last room grant (None when no visit has started yet). TLS is always verified, against
    `ca_file` when it is set (as the central client does), else the system's CAs.
    """
    return [
        *_check(CENTRAL, central_url, "/healthz", _central_answer, ca_file, timeout_s),
        *_check(JANUS, janus_url, "/info", _janus_answer, ca_file, timeout_s),
    ]


# -- the test tone ----------------------------------------------------------------------------------

TONE_HZ = 1000.0
TONE_DBFS = -12.0  # the tone's peak, as for every test tone in the product; its RMS level is 3 dB lower
TONE_S = 1.0
_RAMP_S = 0.005  # fades in and out, so the earpiece does not click


def tone_samples(frequency_hz: float = TONE_HZ, peak_dbfs: float = TONE_DBFS, seconds: float = TONE_S) -> np.ndarray:
    return sine(frequency_hz, peak_dbfs, seconds, _RAMP_S, _RAMP_S)


class TestTone:
    """A 1 kHz tone of 1 s at -12 dBFS, played to the earpiece in 20 ms blocks at the pace of real time."""

    __test__ = False  # not a pytest test class, despite its name
    SOURCE: Hashable = "technician-test-tone"

    def __init__(self, earpiece: Earpiece, samples: np.ndarray | None = None) -> None:
        self._samples = tone_samples() if samples is None else samples
        self._player = EarpiecePlayer(earpiece, self.SOURCE, "test-tone")
        self._lock = threading.Lock()

    @property
    def playing(self) -> bool:
        return self._player.playing

    def start(self) -> None:
        """Plays the tone from its start (a tone already playing is stopped first). Does not block."""
        with self._lock:
            self._player.stop()
            self._player.play(self._samples)
        log.info("test tone to the earpiece: %.0f Hz, %.0f dBFS, %.1f s", TONE_HZ, TONE_DBFS, TONE_S)

    def stop(self) -> None:
        self._player.stop()

    def wait(self, timeout_s: float) -> bool:
        """True once the tone has ended (or was never started)."""
        return self._player.wait(timeout_s)


# -- the microphone meter ---------------------------------------------------------------------------


class MeteredMicrophone(Protocol):
    def level_dbfs(self) -> float: ...


def microphone_level(microphone: Microphone | MeteredMicrophone) -> float:
    """The microphone's recent level in dBFS: its own meter when it has one (the real handset keeps one),
    else the level of one block read now (the simulated microphone, which nothing else reads outside a visit).
    """
    if hasattr(microphone, "level_dbfs"):
        return microphone.level_dbfs()
    return level_dbfs(microphone.read_block())  # type: ignore[union-attr]


# -- the report -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TerminalIdentity:
    name: str
    facility: str
    location: str
    version: str = __version__

    @classmethod
    def from_config(cls, terminal: TerminalSection) -> TerminalIdentity:
        return cls(terminal.name, terminal.facility, terminal.location)

    def line(self) -> str:
        return f"terminal: {self.name}, {self.facility}, {self.location}, kiosk {self.version}"


def device_line(report: DeviceReport) -> str:
    return f"{report.name}: {report.state}, {report.driver}: {report.detail}"


def level_text(dbfs: float) -> str:
    return f"{dbfs:.0f} dBFS" if math.isfinite(dbfs) and dbfs > -120 else "silent"


@dataclass(frozen=True)
class TechnicianReport:
    """What the technician screen shows, as lines for display and for the log (no secret, no person)."""

    identity: TerminalIdentity
    devices: tuple[DeviceReport, ...] = ()
    network: tuple[CheckResult, ...] = ()
    mic_dbfs: float | None = None

    def _steady_lines(self) -> list[str]:
        return [
            self.identity.line(),
            *(device_line(report) for report in self.devices),
            *(result.line() for result in self.network),
        ]

    def as_lines(self) -> list[str]:
        lines = self._steady_lines()
        if self.mic_dbfs is not None:
            lines.insert(1 + len(self.devices), f"microphone: {level_text(self.mic_dbfs)}")
        return lines

    def log(self, since: TechnicianReport | None = None) -> None:
        """Writes each line to the log; with `since`, only the lines that changed since that report. The
        microphone's level is a live reading, so it is written only with a whole report."""
        lines = self.as_lines() if since is None else [x for x in self._steady_lines() if x not in since.as_lines()]
        problems = {device_line(r) for r in self.devices if r.state != "ok"}
        problems |= {r.line() for r in self.network if not r.ok}
        for line in lines:
            log.log(logging.WARNING if line in problems else logging.INFO, "technician: %s", line)
