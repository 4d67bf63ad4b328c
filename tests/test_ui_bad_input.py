"""Bad input and failures on the real screens: each gives a clear sentence and leaves the terminal
usable. Screenshots go to build/screens."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QPushButton

from central.demo_data import DEMO_RESIDENT_ID, DEMO_RESIDENT_PIN
from central.server_process import CentralProcess, free_port
from kiosk.visit_machine import Screen
from ui.touch_script import screenshot, tap, type_digits, visible_text

pytestmark = [pytest.mark.ui, pytest.mark.e2e]


def sign_in(window, qtbot, resident_id: str, pin: str) -> None:
    if window.current is Screen.IDLE:
        tap(window, "start")
        qtbot.waitUntil(lambda: window.current is Screen.IDENTIFY)
    tap(window, "field-id")
    tap(window, "key-clear")
    type_digits(window, resident_id)
    tap(window, "field-pin")
    tap(window, "key-clear")
    type_digits(window, pin)
    tap(window, "continue")


def sign_in_to_visit_list(window, qtbot) -> None:
    sign_in(window, qtbot, DEMO_RESIDENT_ID, DEMO_RESIDENT_PIN)
    qtbot.waitUntil(lambda: window.current is Screen.VISIT_LIST, timeout=10_000)


def visit_id_with_status(kiosk, status: str) -> int:
    return next(v.visit_id for v in kiosk.terminal.machine.snapshot().visits if v.status.value == status)


def wait_for_text(qtbot, window, text: str, timeout_ms: int = 10_000) -> None:
    qtbot.waitUntil(lambda: text in visible_text(window), timeout=timeout_ms)


NO_MATCH = {"en": "That ID and PIN do not match", "es": "El número y el PIN no coinciden"}
NOT_YET = {
    "en": "This visit has not started yet. You can join it from",
    "es": "Esta visita todavía no ha empezado. Puede entrar desde las",
}
NO_VIDEO = {"en": "The video service is not answering", "es": "El servicio de video no responde"}
PAUSED = {"en": "sign-in is paused until", "es": "la entrada está bloqueada hasta las"}
CHECKING = {"en": "Checking", "es": "Comprobando"}


def choose_language(window, qtbot, language: str) -> None:
    qtbot.waitUntil(lambda: window.current is Screen.IDLE)
    if language != "en":
        tap(window, f"language-{language}")  # the button is named in its own language


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize(("case", "resident_id"), [("wrong-pin", DEMO_RESIDENT_ID), ("unknown-id", "55555")])
def test_wrong_credentials_say_so_and_the_next_try_works(
    case, resident_id, language, start_central, start_kiosk, qtbot, screens_folder
):
    central = start_central()
    window = start_kiosk(central.url, central.state / "terminal-token").window
    choose_language(window, qtbot, language)
    sign_in(window, qtbot, resident_id, "9999")
    # The same sentence for both, so the screen never tells which IDs exist.
    wait_for_text(qtbot, window, NO_MATCH[language])
    assert window.current is Screen.IDENTIFY
    assert "\u25cf" not in window.findChild(QPushButton, "field-pin").text(), "the refused PIN must be wiped"
    screenshot(window, screens_folder, f"bad-{case}-{language}")
    sign_in_to_visit_list(window, qtbot)


UNREACHABLE = {
    "en": "The visit service cannot be reached right now",
    "es": "No se puede conectar con el servicio de visitas",
}


@pytest.mark.parametrize("language", ["en", "es"])
def test_central_unreachable_is_explained_and_recovers_when_central_returns(
    language, janus, start_kiosk, qtbot, tmp_path, screens_folder
):
    central = CentralProcess(tmp_path / "central", janus.url, janus.settings.admin_key, port=free_port())
    central.state.mkdir(parents=True)
    token_file = central.state / "terminal-token"
    token_file.write_text("not-yet-known\n")
    token_file.chmod(0o600)
    window = start_kiosk(central.url, token_file).window
    choose_language(window, qtbot, language)
    sign_in(window, qtbot, DEMO_RESIDENT_ID, DEMO_RESIDENT_PIN)
    wait_for_text(qtbot, window, UNREACHABLE[language])
    screenshot(window, screens_folder, f"bad-central-unreachable-{language}")
    assert window.current is Screen.IDENTIFY
    try:
        central.start()
        token_file.write_text(central.secret("terminal-token"))
        # The kiosk read its token at start; a real terminal keeps its enrolled token. Restart it.
        window = start_kiosk(central.url, token_file).window
        sign_in(window, qtbot, DEMO_RESIDENT_ID, DEMO_RESIDENT_PIN)
        qtbot.waitUntil(lambda: window.current is Screen.VISIT_LIST, timeout=10_000)
    finally:
        central.stop()


@pytest.mark.parametrize("language", ["en", "es"])
def test_a_visit_that_is_not_ready_says_when_it_opens(language, start_central, start_kiosk, qtbot, screens_folder):
    central = start_central()
    kiosk = start_kiosk(central.url, central.state / "terminal-token")
    window = kiosk.window
    choose_language(window, qtbot, language)
    sign_in_to_visit_list(window, qtbot)
    tap(window, f"choose-{visit_id_with_status(kiosk, 'scheduled')}")
    wait_for_text(qtbot, window, NOT_YET[language])
    assert window.current is Screen.VISIT_LIST
    screenshot(window, screens_folder, f"bad-visit-not-ready-{language}")
    tap(window, f"choose-{visit_id_with_status(kiosk, 'ready')}")
    qtbot.waitUntil(lambda: window.current is Screen.PRE_VISIT)


@pytest.mark.parametrize("language", ["en", "es"])
def test_janus_unreachable_is_explained_and_the_terminal_stays_usable(
    language, start_central, start_kiosk, qtbot, screens_folder
):
    central = start_central(janus_url=f"http://127.0.0.1:{free_port()}/janus")
    kiosk = start_kiosk(central.url, central.state / "terminal-token")
    window = kiosk.window
    choose_language(window, qtbot, language)
    sign_in_to_visit_list(window, qtbot)
    tap(window, f"choose-{visit_id_with_status(kiosk, 'ready')}")
    qtbot.waitUntil(lambda: window.current is Screen.PRE_VISIT)
    tap(window, "accept")
    kiosk.handset.hook.lift()
    wait_for_text(qtbot, window, NO_VIDEO[language])
    assert window.current is Screen.PRE_VISIT
    screenshot(window, screens_folder, f"bad-janus-unreachable-{language}")
    tap(window, "back")
    qtbot.waitUntil(lambda: window.current is Screen.VISIT_LIST)
    tap(window, "sign-out")
    qtbot.waitUntil(lambda: window.current is Screen.IDLE)


@pytest.mark.parametrize("language", ["en", "es"])
def test_repeated_wrong_pins_pause_sign_in_and_say_until_when(
    language, start_central, start_kiosk, qtbot, screens_folder
):
    central = start_central()
    kiosk = start_kiosk(central.url, central.state / "terminal-token")
    window = kiosk.window
    choose_language(window, qtbot, language)
    journal = central.state / "kiosk-state" / "audit" / "audit.jsonl"

    def refusals() -> int:
        # Each refusal the terminal showed is in its audit journal, whether uploaded yet or not.
        return journal.read_text().count('"sign_in_refused"') if journal.exists() else 0

    for attempt in range(1, 6):
        sign_in(window, qtbot, DEMO_RESIDENT_ID, f"99{attempt:02d}")
        qtbot.waitUntil(lambda n=attempt: refusals() == n, timeout=10_000)
    wait_for_text(qtbot, window, PAUSED[language])
    screenshot(window, screens_folder, f"bad-locked-{language}")
    # Even the right PIN waits now; the screen still says why.
    sign_in(window, qtbot, DEMO_RESIDENT_ID, DEMO_RESIDENT_PIN)
    qtbot.waitUntil(lambda: refusals() == 6, timeout=10_000)
    qtbot.waitUntil(lambda: CHECKING[language] not in visible_text(window), timeout=5_000)
    assert window.current is Screen.IDENTIFY
    assert PAUSED[language] in visible_text(window)
