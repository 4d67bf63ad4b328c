"""The whole visit walked by touch on the real screens, against the real stack, with screenshots."""

from __future__ import annotations

import pytest

from central.demo_data import DEMO_RESIDENT_ID, DEMO_RESIDENT_PIN
from central.simulated_visitor import SimulatedVisitor
from kiosk.visit_machine import Screen
from tests.conftest import staff_call
from ui.touch_script import cut_off_texts, screenshot, tap, type_digits, visible_text

pytestmark = [pytest.mark.ui, pytest.mark.e2e, pytest.mark.slow]


# What each screen must say, in each language.
SAYS = {
    "en": {
        "idle": "Touch the screen to sign in",
        "list": ("Hello, Daniel", "Visit with Maria", "Ready now", "Visit with Rosa", "Opens at"),
        "notice": "This visit is recorded",
        "lift": "Lift the handset to start",
        "connected": "Connected",
        "quality": "Video: ",
        "in_visit": ("Maria", "left", "minutes left in this visit"),
        "message": "Message from staff",
        "confirm": "End the visit now?",
        "ended": "You ended the visit.",
    },
    "es": {
        "idle": "Toque la pantalla para entrar",
        "list": ("Hola, Daniel", "Visita con Maria", "Lista ahora", "Visita con Rosa", "Se abre a las"),
        "notice": "Esta visita se graba",
        "lift": "Levante el auricular para empezar",
        "connected": "Conectado",
        "quality": "Imagen: ",
        "in_visit": ("Maria", "Quedan", "minutos de visita"),
        "message": "Mensaje del personal",
        "confirm": "¿Terminar la visita ahora?",
        "ended": "Usted terminó la visita.",
    },
}


@pytest.mark.parametrize("language", ["en", "es"])
def test_a_resident_walks_a_whole_visit_by_touch(language, start_central, start_kiosk, qtbot, screens_folder):
    says = SAYS[language]

    def shot(name: str) -> None:
        """A screenshot of the screen, whose every word must fit its box."""
        screenshot(window, screens_folder, name if language == "en" else f"{name}-{language}")
        assert cut_off_texts(window) == [], f"{name}: words cut off"

    central = start_central(visit_seconds=240)
    visitor = SimulatedVisitor(central.url, central.secret("visitor-code"))
    visitor.start()
    kiosk = start_kiosk(central.url, central.state / "terminal-token")
    window = kiosk.window
    try:
        qtbot.waitUntil(lambda: window.current is Screen.IDLE)
        if language != "en":
            tap(window, f"language-{language}")  # the button is named in its own language
        qtbot.waitUntil(lambda: says["idle"] in visible_text(window))
        shot("01-idle")

        tap(window, "start")
        qtbot.waitUntil(lambda: window.current is Screen.IDENTIFY)
        type_digits(window, DEMO_RESIDENT_ID)
        tap(window, "continue")  # "Next": on to the PIN
        type_digits(window, DEMO_RESIDENT_PIN)
        text = visible_text(window)
        assert DEMO_RESIDENT_ID in text and DEMO_RESIDENT_PIN not in text, "the PIN must be masked"
        shot("02-identify")
        tap(window, "continue")

        qtbot.waitUntil(lambda: window.current is Screen.VISIT_LIST, timeout=10_000)
        # New cards show once Qt has laid them out.
        qtbot.waitUntil(lambda: all(sentence in visible_text(window) for sentence in says["list"]), timeout=2_000)
        shot("03-visit-list")
        ready = kiosk.terminal.machine.snapshot().visits[0]
        tap(window, f"choose-{ready.visit_id}")

        qtbot.waitUntil(lambda: window.current is Screen.PRE_VISIT)
        qtbot.waitUntil(lambda: window.pre_visit.self_view.has_video, timeout=5_000)
        assert says["notice"] in visible_text(window)
        shot("04-pre-visit-notice")
        tap(window, "accept")
        qtbot.waitUntil(lambda: says["lift"] in visible_text(window))
        shot("05-pre-visit-lift")
        kiosk.handset.hook.lift()

        qtbot.waitUntil(lambda: window.current is Screen.IN_VISIT, timeout=10_000)
        views = window.in_visit.remote_views
        qtbot.waitUntil(lambda: len(views()) == 1 and views()[0].frames_painted > 30, timeout=15_000)
        qtbot.waitUntil(lambda: says["connected"] in visible_text(window), timeout=5_000)
        qtbot.waitUntil(lambda: says["quality"] in visible_text(window), timeout=5_000)  # how well video arrives
        text = visible_text(window)
        assert all(sentence in text for sentence in says["in_visit"]), text
        shot("06-in-visit")

        visit_id = kiosk.terminal.machine.snapshot().live.visit_id
        text = "Please keep the handset close so your visitor can hear you."
        sent = staff_call(central, "POST", f"/visits/{visit_id}/message", json={"text": text})
        assert sent.status_code == 204
        qtbot.waitUntil(lambda: says["message"] in visible_text(window), timeout=2_000)
        assert "Please keep the handset close" in visible_text(window)
        shot("06b-staff-message")
        tap(window, "dismiss-message")
        qtbot.waitUntil(lambda: says["message"] not in visible_text(window))

        tap(window, "end-visit")
        assert says["confirm"] in visible_text(window)
        shot("07-confirm-end")
        tap(window, "confirm-end")

        qtbot.waitUntil(lambda: window.current is Screen.ENDED, timeout=5_000)
        assert says["ended"] in visible_text(window)
        shot("08-ended")
        qtbot.waitUntil(visitor.room_closed.is_set, timeout=5_000)
        tap(window, "done")
        qtbot.waitUntil(lambda: window.current is Screen.IDLE)
        assert "Daniel" not in visible_text(window)
        assert SAYS["en"]["idle"] in visible_text(window), "the next person starts in the terminal's language"
    finally:
        visitor.stop()


def test_the_idle_screen_shows_the_facilitys_notices_and_that_a_visit_is_ready(
    start_central, start_kiosk, qtbot, screens_folder
):
    central = start_central()
    kiosk = start_kiosk(central.url, central.state / "terminal-token")
    window = kiosk.window
    qtbot.waitUntil(lambda: "Report sexual abuse or harassment" in visible_text(window), timeout=10_000)
    text = visible_text(window)
    assert "dial 7233" in text and "A visit is ready for D." in text
    assert "Daniel" not in text and "Maria" not in text, "no more about anyone than the facility allows"
    screenshot(window, screens_folder, "00-idle-notices")
    assert cut_off_texts(window) == []
