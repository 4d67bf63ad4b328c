"""Technician mode: the network check against real servers on loopback (plain, TLS with a CA made here,
closed, unnamed), the test tone as the earpiece hears it, the report's log, and the screen offscreen."""

from __future__ import annotations

import logging
import math
import socket
import ssl
import threading
import time
from collections.abc import Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from drivers.audio_analysis import dominant_frequency, level_dbfs
from drivers.handset import BLOCK_SAMPLES, SAMPLE_RATE
from drivers.simulated_camera import SimulatedCamera
from drivers.simulated_handset import SimulatedEarpiece, SimulatedMicrophone
from kiosk.devices import DeviceReport
from kiosk.technician import (
    CheckResult,
    Step,
    TechnicianReport,
    TerminalIdentity,
    TestTone,
    microphone_level,
    network_check,
)
from tests.canned_http import Answer, canned_server
from tests.tls_authority import Authority, make_authority, server_certificate

JANUS_INFO = b'{"janus": "server_info", "name": "Janus WebRTC Server", "version_string": "1.1.2"}'
HEALTHY = b'{"status": "ok"}'


def steps(results: list[CheckResult], target: str) -> list[tuple[Step, bool]]:
    return [(r.step, r.ok) for r in results if r.target == target]


def failure(results: list[CheckResult], target: str) -> CheckResult:
    failed = [r for r in results if r.target == target and not r.ok]
    assert len(failed) == 1, results
    return failed[0]


# -- a TLS server with a certificate from a CA made for the test ----------------------------------------


def server_context(folder: Path, authority: Authority, host: str) -> ssl.SSLContext:
    """A server's TLS context with a certificate for `host` signed by `authority`."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*server_certificate(folder, authority, host))
    return context


@contextmanager
def https_server(context: ssl.SSLContext) -> Iterator[int]:
    """central's /healthz and Janus's /janus/info over TLS on 127.0.0.1; yields the port."""
    pages = {"/healthz": HEALTHY, "/janus/info": JANUS_INFO}

    class Pages(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = pages.get(self.path, b"{}")
            self.send_response(200 if self.path in pages else 404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Pages)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    # shutdown() waits for serve_forever to look at its flag again: every 0.5 s by default.
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), name="https-test-server", daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def authority(tmp_path: Path) -> Authority:
    return make_authority(tmp_path, "Kiosk Test CA")


@pytest.fixture
def https_port(tmp_path: Path, authority: Authority) -> Iterator[int]:
    with https_server(server_context(tmp_path, authority, "localhost")) as port:
        yield port


# -- the network check ------------------------------------------------------------------------------


def test_plain_http_checks_name_connection_and_answer_of_both() -> None:
    with canned_server(Answer(200, JANUS_INFO)) as server:
        results = network_check(server.url, f"{server.url}/janus", None, timeout_s=2)
    ok = [(Step.DNS, True), (Step.TCP, True), (Step.HTTP, True)]
    assert steps(results, "central") == ok and steps(results, "Janus") == ok
    assert all(r.ms >= 0 for r in results)
    assert [r.detail for r in results if r.step is Step.HTTP] == ["HTTP 200", "HTTP 200, Janus 1.1.2"]
    assert {r.path for r in server.received} == {"/healthz", "/janus/info"}


def test_tls_with_the_configured_ca_is_verified_and_trusted(https_port: int, authority: Authority) -> None:
    url = f"https://localhost:{https_port}"
    results = network_check(url, f"{url}/janus", authority.pem, timeout_s=2)
    ok = [(Step.DNS, True), (Step.TCP, True), (Step.TLS, True), (Step.HTTP, True)]
    assert steps(results, "central") == ok and steps(results, "Janus") == ok
    assert "certificate trusted" in results[2].detail


def test_a_certificate_from_another_ca_is_not_trusted(tmp_path: Path, https_port: int) -> None:
    other = make_authority(tmp_path, "Someone Else CA")
    url = f"https://localhost:{https_port}"
    for ca_file in (other.pem, None):  # the configured CA, then the system's: neither signed it
        results = network_check(url, None, ca_file, timeout_s=2)
        assert steps(results, "central") == [(Step.DNS, True), (Step.TCP, True), (Step.TLS, False)]
        assert failure(results, "central").detail.startswith("TLS certificate not trusted")


def test_a_certificate_for_another_name_is_refused(https_port: int, authority: Authority) -> None:
    results = network_check(f"https://127.0.0.1:{https_port}", None, authority.pem, timeout_s=2)
    assert failure(results, "central").detail.startswith("TLS certificate is for another name than 127.0.0.1")


def test_tls_to_a_plain_http_server_says_so(authority: Authority) -> None:
    with canned_server(Answer(200, HEALTHY)) as server:
        results = network_check(server.url.replace("http:", "https:"), None, authority.pem, timeout_s=2)
    assert failure(results, "central").step is Step.TLS
    assert "Is it plain http?" in failure(results, "central").detail


def test_a_name_that_does_not_resolve() -> None:
    results = network_check("https://central.invalid", "https://janus.invalid/janus", None, timeout_s=2)
    assert steps(results, "central") == [(Step.DNS, False)]
    assert failure(results, "central").detail.startswith("Central's name central.invalid does not resolve")
    assert failure(results, "Janus").detail.startswith("Janus's name janus.invalid does not resolve")


def test_a_closed_port_is_refused() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    results = network_check(f"http://localhost:{port}", None, None, timeout_s=2)
    assert steps(results, "central") == [(Step.DNS, True), (Step.TCP, False)]
    assert failure(results, "central").detail.startswith(f"Central refused the connection on port {port}")


def test_wrong_answers_and_no_answer() -> None:
    with canned_server(Answer(503, b"{}")) as server:
        assert "answered HTTP 503 at /healthz" in failure(network_check(server.url, None, None, 2), "central").detail
    with canned_server(Answer(200, HEALTHY)) as server:
        results = network_check(server.url, f"{server.url}/janus", None, 2)
        assert failure(results, "Janus").detail.startswith("The server at this address answered, but it is not Janus")
    with canned_server(Answer(hang=True)) as server:
        started = time.monotonic()
        results = network_check(server.url, None, None, timeout_s=0.5)
        assert time.monotonic() - started < 2
        assert "sent no answer within 0.5 s" in failure(results, "central").detail


def test_janus_address_not_known_yet() -> None:
    with canned_server(Answer(200, HEALTHY)) as server:
        results = network_check(server.url, None, None, 2)
    assert steps(results, "Janus") == [(Step.ADDRESS, False)]
    assert "not known yet" in failure(results, "Janus").detail


@pytest.mark.e2e
def test_real_central_and_real_janus_answer(start_central, janus) -> None:
    central = start_central()
    results = network_check(central.url, janus.url, None, timeout_s=5)
    assert all(r.ok for r in results), results
    assert results[-1].detail.startswith("HTTP 200, Janus 1.")


# -- the test tone ----------------------------------------------------------------------------------


class TimedEarpiece(SimulatedEarpiece):
    """The simulated earpiece, also noting when each block arrived and how long it was."""

    def __init__(self) -> None:
        super().__init__(keep_seconds=2.0)
        self.arrivals: list[tuple[float, int]] = []

    def play(self, source: Hashable, samples: np.ndarray) -> None:
        self.arrivals.append((time.monotonic(), samples.size))
        super().play(source, samples)


def test_the_tone_is_1_khz_for_1_s_at_minus_12_dbfs_in_real_time() -> None:
    earpiece = TimedEarpiece()
    tone = TestTone(earpiece)
    started = time.monotonic()
    tone.start()
    assert tone.playing
    assert tone.wait(3)
    heard = earpiece.heard()
    assert heard.size == SAMPLE_RATE  # one second
    assert {size for _at, size in earpiece.arrivals} == {BLOCK_SAMPLES} and len(earpiece.arrivals) == 50
    assert abs(dominant_frequency(heard, SAMPLE_RATE) - 1000) < 2
    assert abs(20 * math.log10(np.abs(heard).max() / 32767) - -12) < 0.1  # the peak
    assert abs(level_dbfs(heard) - -15.0) < 0.2  # a sine's RMS is 3 dB below its peak
    paced = [at - started for at, _size in earpiece.arrivals]
    assert paced[-1] > 0.95 and max(abs(at - i * 0.02) for i, at in enumerate(paced)) < 0.1


def test_the_tone_stops_when_asked_and_starts_again_from_the_top() -> None:
    earpiece = SimulatedEarpiece()
    tone = TestTone(earpiece)
    tone.start()
    time.sleep(0.2)
    tone.stop()
    assert not tone.playing
    stopped_at = earpiece.samples_played
    assert 0 < stopped_at < SAMPLE_RATE // 2
    time.sleep(0.1)
    assert earpiece.samples_played == stopped_at
    tone.start()
    tone.start()  # a second tap restarts it rather than playing two at once
    assert tone.wait(3)
    assert earpiece.samples_played - stopped_at <= 2 * SAMPLE_RATE


def test_microphone_level_from_a_meter_or_from_a_block() -> None:
    assert abs(microphone_level(SimulatedMicrophone(1000.0, level_dbfs=-12.0)) - -15.0) < 0.3
    assert microphone_level(SimulatedMicrophone(None)) == -math.inf

    class Metered:
        def level_dbfs(self) -> float:
            return -33.0

    assert microphone_level(Metered()) == -33.0  # type: ignore[arg-type]


# -- the report -------------------------------------------------------------------------------------

IDENTITY = TerminalIdentity("Test terminal", "Harbor County Detention Center", "Unit B North", "0.1.0")
DEVICES = [
    DeviceReport("camera", "simulated", "ok", "30 fps"),
    DeviceReport("handset", "simulated", "ok", "tone microphone, measuring earpiece"),
    DeviceReport("hook", "simulated", "ok", "hung up"),
    DeviceReport("touchscreen", "simulated", "ok", "the mouse and the tests' taps"),
]


def test_the_report_reads_as_lines_and_logs_what_changed(caplog: pytest.LogCaptureFixture) -> None:
    network = (CheckResult("central", Step.DNS, False, 1.2, "Central's name central.invalid does not resolve."),)
    report = TechnicianReport(IDENTITY, tuple(DEVICES), network, mic_dbfs=-23.4)
    lines = report.as_lines()
    assert lines[0] == "terminal: Test terminal, Harbor County Detention Center, Unit B North, kiosk 0.1.0"
    assert lines[1] == "camera: ok, simulated: 30 fps"
    assert lines[5] == "microphone: -23 dBFS"
    assert lines[6] == "central DNS: failed after 1.2 ms: Central's name central.invalid does not resolve."
    caplog.set_level(logging.INFO, logger="kiosk.technician")
    report.log()
    assert [r.getMessage() for r in caplog.records] == [f"technician: {line}" for line in lines]
    assert caplog.records[-1].levelno == logging.WARNING
    caplog.clear()
    lost = DeviceReport("camera", "V4L2 /dev/video0", "lost", "no frame for 2.0 s")
    later = TechnicianReport(IDENTITY, (lost, *DEVICES[1:]), network, mic_dbfs=-40.0)
    later.log(since=report)
    assert [r.getMessage() for r in caplog.records] == [
        "technician: camera: lost, V4L2 /dev/video0: no frame for 2.0 s"
    ]


# -- the screen -------------------------------------------------------------------------------------


@dataclass
class Terminal:
    """What the screen is given, as plain values a test can change."""

    devices: list[DeviceReport]
    level: float = -60.0
    tones: int = 0
    restarts: int = 0
    leaves: int = 0


@pytest.fixture
def terminal() -> Terminal:
    return Terminal(list(DEVICES))


def build_screen(qtbot, terminal: Terminal, check):
    from PySide6.QtWidgets import QVBoxLayout, QWidget

    from ui.qt_process import load_fonts
    from ui.screens.technician import TechnicianScreen
    from ui.theme import Scale, style_sheet

    load_fonts()
    scale = Scale(800)
    window = QWidget()
    window.setFixedSize(1280, 800)
    window.setStyleSheet(style_sheet(scale))  # as the kiosk window does
    screen = TechnicianScreen(
        scale,
        IDENTITY,
        device_reports=lambda: list(terminal.devices),
        mic_level=lambda: terminal.level,
        play_tone=lambda: setattr(terminal, "tones", terminal.tones + 1),
        run_network_check=check,
        restart=lambda: setattr(terminal, "restarts", terminal.restarts + 1),
        leave=lambda: setattr(terminal, "leaves", terminal.leaves + 1),
    )
    layout = QVBoxLayout(window)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(screen)
    qtbot.addWidget(window)
    window.show()
    screen.entered()
    return window, screen


@pytest.mark.ui
def test_the_screen_shows_identity_devices_and_a_moving_meter(qtbot, terminal, caplog) -> None:
    from ui.touch_script import visible_text

    caplog.set_level(logging.INFO, logger="kiosk.technician")
    window, screen = build_screen(qtbot, terminal, lambda: [])
    qtbot.waitUntil(lambda: "tone microphone" in visible_text(window))
    text = visible_text(window)
    for shown in ("Technician mode", "Test terminal", "Harbor County Detention Center", "Unit B North", "0.1.0"):
        assert shown in text
    for shown in ("Camera", "Handset", "Hook switch", "Touchscreen", "simulated: 30 fps", "simulated: hung up"):
        assert shown in text
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "terminal: Test terminal, Harbor County" in logged and "hook: ok, simulated: hung up" in logged

    qtbot.waitUntil(lambda: screen.meter.level_dbfs == -60.0)
    assert screen.meter.fraction == 0.0 and "-60 dBFS" in visible_text(window)
    terminal.level = -15.0
    qtbot.waitUntil(lambda: screen.meter.fraction == pytest.approx(0.75))
    assert "-15 dBFS" in visible_text(window)
    terminal.level = -math.inf
    qtbot.waitUntil(lambda: screen.meter.fraction == 0.0)
    assert "silent" in visible_text(window)

    terminal.devices[2] = DeviceReport("hook", "hidraw /dev/hidraw0", "missing", "the hook switch went away")
    qtbot.waitUntil(lambda: "the hook switch went away" in visible_text(window), timeout=3000)
    assert "Missing" in visible_text(window)
    assert "technician: hook: missing, hidraw /dev/hidraw0: the hook switch went away" in [
        r.getMessage() for r in caplog.records
    ]


@pytest.mark.ui
def test_each_button_calls_its_action(qtbot, terminal) -> None:
    from ui.touch_script import tap, visible_text

    window, _screen = build_screen(qtbot, terminal, lambda: [])
    tap(window, "play-tone")
    assert terminal.tones == 1
    assert "Playing…" in visible_text(window)
    qtbot.waitUntil(lambda: "Play test tone" in visible_text(window), timeout=3000)
    tap(window, "restart-app")
    assert terminal.restarts == 1
    tap(window, "leave-technician")
    assert terminal.leaves == 1


@pytest.mark.ui
def test_a_slow_network_check_never_blocks_the_screen(qtbot, terminal) -> None:
    from PySide6.QtCore import QTimer

    from ui.touch_script import tap, visible_text

    release, ticks = threading.Event(), []
    answer = [CheckResult("central", Step.DNS, True, 0.3, "127.0.0.1")]

    def slow_check() -> list[CheckResult]:
        release.wait(10)
        return answer

    window, screen = build_screen(qtbot, terminal, slow_check)
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))
    timer.start(10)
    tap(window, "check-network")
    qtbot.waitUntil(lambda: len(ticks) >= 20, timeout=2000)  # the event loop runs while the check waits
    assert not release.is_set()
    assert "Checking the way to central and Janus" in visible_text(window)
    assert "Checking…" in visible_text(window)
    with qtbot.waitSignal(screen.network_done, timeout=3000) as done:
        release.set()
    assert done.args == [answer]
    timer.stop()
    qtbot.waitUntil(lambda: "DNS 0.3 ms" in visible_text(window))  # new rows show at the next pass of the loop
    assert "Checking" not in visible_text(window)


@pytest.mark.ui
def test_screenshots(qtbot, terminal, tmp_path, screens_folder, authority) -> None:
    from ui.touch_script import screenshot, visible_text

    camera = SimulatedCamera(640, 480, 30.0, label="Resident (simulated camera)")
    camera.start()
    try:
        qtbot.waitUntil(lambda: camera.latest() is not None)
        with canned_server(Answer(200, JANUS_INFO)) as server:
            window, screen = build_screen(qtbot, terminal, lambda: network_check(server.url, server.url + "/janus"))
            terminal.level = -21.0
            screen.show_camera_frame(camera.latest().image)
            with qtbot.waitSignal(screen.network_done, timeout=5000):
                screen.check_network()
            qtbot.waitUntil(lambda: "Janus 1.1.2" in visible_text(window) and screen.meter.fraction > 0.6)
            print(screenshot(window, screens_folder, "technician"))
        window.close()

        terminal.devices[1] = DeviceReport("handset", "PortAudio 'USB'", "degraded", "7 dropouts in 10 s; USB Audio")
        terminal.devices[3] = DeviceReport("touchscreen", "udev", "missing", "no touchscreen (ID_INPUT_TOUCHSCREEN)")
        with https_server(server_context(tmp_path, make_authority(tmp_path, "Other CA"), "localhost")) as port:
            url = f"https://localhost:{port}"
            window, screen = build_screen(qtbot, terminal, lambda: network_check(url, url + "/janus", authority.pem))
            screen.show_camera_frame(camera.latest().image)
            with qtbot.waitSignal(screen.network_done, timeout=5000):
                screen.check_network()
            qtbot.waitUntil(lambda: "Missing" in visible_text(window) and "not trusted" in visible_text(window))
            print(screenshot(window, screens_folder, "technician-problems"))
    finally:
        camera.stop()
