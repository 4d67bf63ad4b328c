"""Technician mode on the real terminal: the hidden gesture, the PIN (refused, then right), the screen with the
devices and the identity, and back to idle; with screenshots."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from kiosk.visit_machine import Screen
from ui.touch_script import cut_off_texts, screenshot, tap, type_digits, visible_text

pytestmark = [pytest.mark.ui, pytest.mark.e2e]

PIN = "9137"


def secret_gesture(window) -> None:
    idle = window.screens[window.current]
    for _ in range(5):
        QTest.mouseClick(idle, Qt.MouseButton.LeftButton, pos=QPoint(8, 8))


def test_a_technician_opens_technician_mode_with_the_gesture_and_pin(start_central, start_kiosk, qtbot, screens_folder):
    central = start_central()
    kiosk = start_kiosk(central.url, central.state / "terminal-token", technician_pin=PIN)
    window = kiosk.window
    qtbot.waitUntil(lambda: window.current is Screen.IDLE)
    secret_gesture(window)
    qtbot.waitUntil(lambda: window.current is Screen.TECHNICIAN_PIN)
    type_digits(window, "1111")
    assert "1111" not in visible_text(window), "the PIN is masked"
    tap(window, "unlock")
    qtbot.waitUntil(lambda: "That is not the technician PIN." in visible_text(window))
    type_digits(window, PIN)
    tap(window, "unlock")
    qtbot.waitUntil(lambda: window.current is Screen.TECHNICIAN)
    qtbot.waitUntil(lambda: "Camera" in visible_text(window) and "Handset" in visible_text(window), timeout=5000)
    text = visible_text(window)
    assert "Test terminal" in text and "Harbor County Detention Center" in text
    qtbot.waitUntil(lambda: window.technician.preview.has_video, timeout=5000)  # the camera's preview
    screenshot(window, screens_folder, "10-technician")
    assert cut_off_texts(window) == []
    tap(window, "leave-technician")
    qtbot.waitUntil(lambda: window.current is Screen.IDLE)


def test_taps_in_the_corner_do_not_start_a_sign_in_and_without_a_pin_open_nothing(start_central, start_kiosk, qtbot):
    central = start_central()
    kiosk = start_kiosk(central.url, central.state / "terminal-token")
    window = kiosk.window
    qtbot.waitUntil(lambda: window.current is Screen.IDLE)
    secret_gesture(window)

    async def after_the_taps() -> None:
        """The core handles events in order: once this has run, so have the taps."""

    kiosk.core.submit(after_the_taps()).result(timeout=5)
    assert kiosk.terminal.machine.snapshot().screen is Screen.IDLE
