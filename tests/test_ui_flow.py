"""The whole visit walked by touch on the real screens, against the real stack, with screenshots."""

from __future__ import annotations

import pytest

from central.demo_data import DEMO_RESIDENT_ID, DEMO_RESIDENT_PIN
from central.simulated_visitor import SimulatedVisitor
from kiosk.visit_machine import Screen
from tests.conftest import staff_call
from ui.touch_script import screenshot, tap, type_digits, visible_text

pytestmark = [pytest.mark.ui, pytest.mark.e2e, pytest.mark.slow]


def test_a_resident_walks_a_whole_visit_by_touch(start_central, start_kiosk, qtbot, screens_folder):
    central = start_central(visit_seconds=240)
    visitor = SimulatedVisitor(central.url, central.secret("visitor-code"))
    visitor.start()
    kiosk = start_kiosk(central.url, central.state / "terminal-token")
    window = kiosk.window
    try:
        qtbot.waitUntil(lambda: window.current is Screen.IDLE)
        assert "Touch the screen to sign in" in visible_text(window)
        screenshot(window, screens_folder, "01-idle")

        tap(window, "start")
        qtbot.waitUntil(lambda: window.current is Screen.IDENTIFY)
        type_digits(window, DEMO_RESIDENT_ID)
        tap(window, "continue")  # "Next": on to the PIN
        type_digits(window, DEMO_RESIDENT_PIN)
        text = visible_text(window)
        assert DEMO_RESIDENT_ID in text and DEMO_RESIDENT_PIN not in text, "the PIN must be masked"
        screenshot(window, screens_folder, "02-identify")
        tap(window, "continue")

        qtbot.waitUntil(lambda: window.current is Screen.VISIT_LIST, timeout=10_000)
        text = visible_text(window)
        assert "Hello, Daniel" in text and "Visit with Maria" in text and "Ready now" in text
        assert "Visit with Rosa" in text and "Opens at" in text
        screenshot(window, screens_folder, "03-visit-list")
        ready = kiosk.terminal.machine.snapshot().visits[0]
        tap(window, f"choose-{ready.visit_id}")

        qtbot.waitUntil(lambda: window.current is Screen.PRE_VISIT)
        qtbot.waitUntil(lambda: window.pre_visit.self_view.has_video, timeout=5_000)
        assert "This visit is recorded" in visible_text(window)
        screenshot(window, screens_folder, "04-pre-visit-notice")
        tap(window, "accept")
        qtbot.waitUntil(lambda: "Lift the handset to start" in visible_text(window))
        screenshot(window, screens_folder, "05-pre-visit-lift")
        kiosk.handset.hook.lift()

        qtbot.waitUntil(lambda: window.current is Screen.IN_VISIT, timeout=10_000)
        views = window.in_visit.remote_views
        qtbot.waitUntil(lambda: len(views()) == 1 and views()[0].frames_painted > 30, timeout=15_000)
        qtbot.waitUntil(lambda: "Connected" in visible_text(window), timeout=5_000)
        text = visible_text(window)
        assert "Maria" in text and "left" in text and "min left in this visit" in text
        screenshot(window, screens_folder, "06-in-visit")

        visit_id = kiosk.terminal.machine.snapshot().live.visit_id
        text = "Please keep the handset close so your visitor can hear you."
        sent = staff_call(central, "POST", f"/visits/{visit_id}/message", json={"text": text})
        assert sent.status_code == 204
        qtbot.waitUntil(lambda: "Message from staff" in visible_text(window), timeout=2_000)
        assert "Please keep the handset close" in visible_text(window)
        screenshot(window, screens_folder, "06b-staff-message")
        tap(window, "dismiss-message")
        qtbot.waitUntil(lambda: "Message from staff" not in visible_text(window))

        tap(window, "end-visit")
        assert "End the visit now?" in visible_text(window)
        screenshot(window, screens_folder, "07-confirm-end")
        tap(window, "confirm-end")

        qtbot.waitUntil(lambda: window.current is Screen.ENDED, timeout=5_000)
        assert "You ended the visit." in visible_text(window)
        screenshot(window, screens_folder, "08-ended")
        qtbot.waitUntil(visitor.room_closed.is_set, timeout=5_000)
        tap(window, "done")
        qtbot.waitUntil(lambda: window.current is Screen.IDLE)
        assert "Daniel" not in visible_text(window)
    finally:
        visitor.stop()
