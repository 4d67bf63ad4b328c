"""The out-of-service fallback (`kiosk out-of-service`), what systemd shows on tty1 when the kiosk keeps failing:
the out-of-service screen with working reading choices, even without a readable configuration, and the notify
protocol's READY=1 and STOPPING=1 from the real program."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from kiosk.visit_machine import Screen
from tests.waiting import wait_for
from ui.out_of_service_app import OutOfServiceApp, lenient_config
from ui.touch_script import screenshot, tap, visible_text

pytestmark = pytest.mark.ui


def test_the_screen_says_the_software_stopped_and_its_languages_work(qapp, qtbot, tmp_path, screens_folder):
    broken = tmp_path / "kiosk.toml"
    broken.write_text("[terminal\nname = ")
    fallback = OutOfServiceApp(lenient_config(broken))
    qtbot.addWidget(fallback.window)
    fallback.start()
    assert fallback.window.current is Screen.OUT_OF_SERVICE
    text = visible_text(fallback.window)
    assert "This terminal cannot take visits right now" in text
    assert "The terminal's software has stopped working." in text
    screenshot(fallback.window, screens_folder, "out-of-service-fallback-en")
    tap(fallback.window, "language-es")
    qtbot.waitUntil(lambda: "El programa de la terminal dejó de funcionar." in visible_text(fallback.window))
    tap(fallback.window, "large-text")
    qtbot.waitUntil(lambda: "Letra normal" in visible_text(fallback.window))
    qapp.processEvents()  # the screens were rebuilt in larger text: let them lay out before the picture
    screenshot(fallback.window, screens_folder, "out-of-service-fallback-es-large")
    screen = fallback.window.screens[Screen.OUT_OF_SERVICE]
    for _ in range(5):  # the technician's corner: nothing is behind it here
        QTest.mouseClick(screen, Qt.MouseButton.LeftButton, pos=QPoint(4, 4))
    assert fallback.window.current is Screen.OUT_OF_SERVICE


def test_the_program_tells_systemd_it_is_ready_and_stops_on_sigterm(tmp_path: Path, notify_socket):
    path, received = notify_socket
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "NOTIFY_SOCKET": path}
    command = [sys.executable, "-m", "ui.cli", "--config", str(tmp_path / "missing.toml"), "out-of-service"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        ready = "READY=1\nSTATUS=Out of service: the kiosk failed to start, again and again"
        wait_for(lambda: ready in received.texts(), 30, "READY=1 from the out-of-service program")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        wait_for(lambda: "STOPPING=1" in received.texts(), 5, "STOPPING=1")
    finally:
        process.kill()
        process.wait()
