"""The officers' page in headless Chromium against the real stack (central, Janus, the terminal core, a
visitor's page): sign-in, silent watching that no participant can notice, messages, ends and refusals.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Page, Route, ViewportSize, sync_playwright

from central.demo_data import DEMO_OFFICER, DEMO_RESIDENT_ID, DEMO_RESIDENT_PIN
from central.server_process import CentralProcess
from central.store import Store
from kiosk import __version__
from kiosk.central_client import CentralClient
from kiosk.janus_client import JanusSession
from kiosk.protocol import (
    API_PREFIX,
    DirectionQuality,
    EndReason,
    EndVisitRequest,
    Heartbeat,
    VisitorStatus,
    VisitQuality,
)
from tests.browser import (
    CHROMIUM,
    VIEWPORT,
    ChromiumMissing,
    chromium_args,
    fake_camera_file,
    hook,
    shown,
    stamped_frame,
)
from tests.test_e2e_visit import enter_visit
from tests.test_out_of_service_report import config_file, report
from tests.waiting import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.slow]

OFFICER_VIEWPORT: ViewportSize = {"width": 1440, "height": 900}
PRIVILEGED_TEXT = "Privileged — not recorded, cannot be watched"

# Run in the officer's page before its own scripts: counts every request to capture a camera,
# a microphone or the screen. Watching must never make one.
COUNT_CAPTURE = """
window.captureRequests = 0;
if (navigator.mediaDevices) {
  for (const name of ["getUserMedia", "getDisplayMedia"]) {
    const original = navigator.mediaDevices[name];
    if (original) {
      navigator.mediaDevices[name] = function (...args) {
        window.captureRequests += 1;
        return original.apply(this, args);
      };
    }
  }
}
"""


@dataclass
class Browsers:
    """One Chromium with two separate contexts (cookies, permissions): a family member's and an officer's."""

    visitor: Page
    officer: Page
    console: list[str] = field(default_factory=list)


def _record_console(page: Page, who: str, console: list[str]) -> None:
    page.on("console", lambda message: console.append(f"{who} {message.type}: {message.text}"))
    page.on("pageerror", lambda error: console.append(f"{who} page error: {error}"))
    page.on("response", lambda r: r.status >= 400 and console.append(f"{who} HTTP {r.status}: {r.url}"))


@pytest.fixture(scope="module")
def fake_camera(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return fake_camera_file(tmp_path_factory.mktemp("fake-camera"), "Maria (browser)")


@pytest.fixture
def browsers(fake_camera: Path) -> Iterator[Browsers]:
    if not CHROMIUM.exists():
        raise ChromiumMissing("Chromium is not installed: run 'apt-get install chromium'.")
    console: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=chromium_args(fake_camera), timeout=30_000
        )
        try:
            visitor = browser.new_context(viewport=VIEWPORT, permissions=["camera", "microphone"]).new_page()
            officer_context = browser.new_context(viewport=OFFICER_VIEWPORT)  # no camera, no microphone
            officer_context.add_init_script(COUNT_CAPTURE)
            officer = officer_context.new_page()
            _record_console(visitor, "visitor", console)
            _record_console(officer, "officer", console)
            yield Browsers(visitor, officer, console)
        finally:
            # Shown by pytest when the test failed.
            print("\n".join(["browser console:", *console[-80:]]))
            browser.close()


def snap(page: Page, path: Path) -> None:
    """A screenshot with the pointer parked on the bar, so no row shows its hover colour."""
    page.mouse.move(1, 1)
    page.screenshot(path=path)


def row(page: Page, visit_id: int) -> str:
    return f'#visit-rows tr[data-visit-id="{visit_id}"]'


def sign_in(page: Page, central: CentralProcess, password: str | None = None) -> None:
    page.goto(f"{central.url}/officer")
    wait_for(lambda: hook(page, "officerView") == "signin", 10, "the sign-in form")
    page.fill("#username", DEMO_OFFICER)
    page.fill("#password", central.secret("officer-password") if password is None else password)
    page.click("#sign-in")


def room_participants(janus_url: str, room: int) -> list[dict[str, object]]:
    """Everyone in a VideoRoom room as Janus itself lists them (publishing or not)."""
    session = JanusSession(janus_url)
    session.create()
    try:
        listed = session.request(session.attach(), {"request": "listparticipants", "room": room})
        return list(listed["participants"])
    finally:
        session.destroy()


def visitor_tiles(page: Page) -> int:
    """Video tiles on the visitor's page beside the resident's: the visitor's own view and anyone else."""
    return int(page.evaluate("document.querySelectorAll('#side figure').length"))


def frames(page: Page, display: str) -> int:
    return int(page.evaluate("([d]) => window.watchFrames[d] || 0", [display]))


def test_an_officer_watches_unseen_sends_a_message_and_ends_the_visit_for_everyone(
    start_central, janus, terminal, browsers, screens_folder
):
    central = start_central()
    kiosk = terminal(central)
    visitor, officer = browsers.visitor, browsers.officer
    visitor.goto(f"{central.url}/visit?code={central.secret('visitor-code')}")
    wait_for(lambda: "You are ready" in shown(visitor), 15, "the visitor's page to wait in the room")
    enter_visit(kiosk)
    wait_for(lambda: hook(visitor, "visitState") == "live", 10, "the visitor's page to show the visit")
    wait_for(lambda: len(kiosk.received.counters) > 30, 10, "the visitor's video at the terminal")
    visit_id = kiosk.state.live.visit_id
    room = Store(central.state / "central.sqlite3").visit(visit_id).room

    # Signing in: today's visits, with the live one, who is in it and where.
    sign_in(officer, central)
    wait_for(lambda: hook(officer, "officerView") == "dashboard", 10, "the officer's dashboard")
    wait_for(lambda: officer.locator(row(officer, visit_id)).is_visible(), 5, "the live visit in today's list")
    line = officer.locator(row(officer, visit_id)).inner_text()
    for expected in ("Daniel", "ID 1001", "Maria", "B North terminal 1", "Live"):
        assert expected in line, (expected, line)
    assert "Officer Reyes" in shown(officer)
    snap(officer, screens_folder / "officer-visits.png")

    # Watching: the resident's and the visitor's video, named, with the sound off until unmuted.
    officer.click(f'{row(officer, visit_id)} button[data-action="watch"]')
    wait_for(lambda: hook(officer, "watchState") == "watching", 10, "the watch to start")
    wait_for(lambda: frames(officer, "Resident") > 60, 15, "the resident's video on the officer's page")
    wait_for(lambda: frames(officer, "Maria") > 60, 10, "the visitor's video on the officer's page")
    resident_video = '.tile[data-display="Resident"] video'
    seen = stamped_frame(officer, resident_video, timeout_s=5)
    print(f"terminal camera to the officer's video element: {seen.age_ms} ms")
    text = shown(officer)
    assert "Daniel (ID 1001) with Maria" in text and "Silent — they cannot see or hear you" in text
    tiles = officer.locator("#watch-grid .tile")
    assert tiles.count() == 2 and "Daniel" in tiles.nth(0).inner_text() and "Maria" in tiles.nth(1).inner_text()
    audio = "[...document.querySelectorAll('#watch-grid audio')].map(a => [a.muted, !!a.srcObject])"
    wait_for(lambda: officer.evaluate(audio) == [[True, True], [True, True]], 5, "both voices, muted at first")
    officer.click('.tile[data-display="Resident"] .sound')
    assert officer.evaluate("document.querySelector('.tile[data-display=\"Resident\"] audio').muted") is False
    assert officer.locator('.tile[data-display="Resident"] .sound').inner_text() == "Mute"
    snap(officer, screens_folder / "officer-watch.png")

    # Nobody sees the officer: the page sends nothing and asked for no camera or microphone; Janus lists
    # only the resident and the visitor in the room; the terminal and the visitor's page see one another only.
    time.sleep(2)  # anything announcing the officer would have arrived by now
    assert officer.evaluate("window.watchSenders()") == 0
    assert hook(officer, "captureRequests") == 0
    in_room = sorted(str(p.get("display")) for p in room_participants(janus.url, room))
    assert in_room == ["Maria", "Resident"], in_room
    assert set(kiosk.frames_from) == {"Maria"}, kiosk.frames_from
    assert visitor_tiles(visitor) == 1, "the visitor's page shows a tile for someone else"

    # A message for the resident's screen.
    officer.click("#watch-message")
    message = "Please keep the handset close to you."
    officer.fill("#dialog-input", message)
    assert officer.locator("#dialog-counter").inner_text() == f"{len(message)} / 300"
    snap(officer, screens_folder / "officer-message.png")
    officer.click("#dialog-confirm")
    wait_for(lambda: kiosk.state.staff_message == message, 3, "the message on the terminal's screen")
    assert "Message sent to B North terminal 1." in shown(officer)

    # Stopping and watching again leaves no trace in the room either.
    officer.click("#stop-watching")
    wait_for(lambda: hook(officer, "watchState") == "idle", 2, "the watch to stop")
    assert not officer.locator("#watch").is_visible()
    officer.click(f'{row(officer, visit_id)} button[data-action="watch"]')
    before = frames(officer, "Resident")
    wait_for(lambda: frames(officer, "Resident") > before + 30, 15, "the resident's video again")
    assert set(kiosk.frames_from) == {"Maria"} and visitor_tiles(visitor) == 1

    # Ending the visit with a reason: asked first, then the terminal and the visitor's page show it.
    reason = "Count time in the unit"
    officer.click("#watch-end")
    assert "End this visit now?" in shown(officer)
    officer.fill("#dialog-input", reason)
    snap(officer, screens_folder / "officer-end-confirm.png")
    clicked = time.monotonic()
    officer.click("#dialog-confirm")
    on_kiosk = on_visitor = None
    while on_kiosk is None or on_visitor is None:
        now = time.monotonic() - clicked
        ended = kiosk.state.ended
        if on_kiosk is None and ended is not None and ended.message == reason:
            on_kiosk = now
        if on_visitor is None and hook(visitor, "endMessage") == f"Staff ended the visit: {reason}":
            on_visitor = now
        assert now < 5, f"after 5 s: terminal {kiosk.state.ended}, visitor page {hook(visitor, 'endMessage')!r}"
        time.sleep(0.01)
    print(f"click to the reason: terminal {on_kiosk * 1000:.0f} ms, visitor's page {on_visitor * 1000:.0f} ms")
    assert on_kiosk < 2 and on_visitor < 2
    assert kiosk.state.ended.reason is EndReason.ENDED_BY_STAFF
    assert hook(visitor, "visitState") == "ended"

    # The officer's page: the watch is closed and today's list says who ended it and why.
    wait_for(lambda: "Ended by staff" in officer.locator(row(officer, visit_id)).inner_text(), 5, "the list to update")
    assert reason in officer.locator(row(officer, visit_id)).inner_text()
    assert hook(officer, "watchState") == "idle" and not officer.locator("#watch").is_visible()
    assert "has ended. They are shown your reason." in shown(officer)
    snap(officer, screens_folder / "officer-ended.png")


def test_a_wrong_password_and_watching_a_privileged_visit_are_refused_in_plain_words(
    start_central, browsers, screens_folder
):
    central = start_central()
    officer = browsers.officer

    # A wrong password: a clear sentence, no session.
    officer.goto(f"{central.url}/officer")
    wait_for(lambda: hook(officer, "officerView") == "signin", 10, "the sign-in form")
    snap(officer, screens_folder / "officer-sign-in.png")
    sign_in(officer, central, password="not-the-password")
    error = officer.locator("#signin-error")
    wait_for(error.is_visible, 5, "the sign-in error")
    assert error.inner_text() == "The username or password is not right. Check both and try again."
    assert hook(officer, "officerView") == "signin" and officer.context.cookies() == []
    assert officer.input_value("#password") == ""
    snap(officer, screens_folder / "officer-wrong-password.png")

    # A live privileged visit (an attorney) and one still to come, each with a visitor of its own.
    store = Store(central.state / "central.sqlite3")
    now = time.time()
    attorney = store.add_visitor("Ms. Chen (attorney)")
    privileged = store.add_visit(
        DEMO_RESIDENT_ID, now - 60, now + 1200, {attorney: secrets.token_hex(8)}, privileged=True
    )
    lucia_code = secrets.token_hex(8)
    to_cancel = store.add_visit(DEMO_RESIDENT_ID, now - 30, now + 1800, {store.add_visitor("Lucia"): lucia_code})
    terminal_api = f"{central.url}{API_PREFIX}/terminal"
    token = {"Authorization": f"Bearer {central.secret('terminal-token')}"}
    identified = requests.post(
        f"{terminal_api}/identify",
        json={"resident_id": DEMO_RESIDENT_ID, "pin": DEMO_RESIDENT_PIN},
        headers=token,
        timeout=5,
    )
    session = {**token, "X-Resident-Session": identified.json()["session_token"]}
    assert requests.post(f"{terminal_api}/visits/{privileged}/open", headers=session, timeout=5).status_code == 200

    officer.fill("#password", central.secret("officer-password"))
    officer.click("#sign-in")
    wait_for(lambda: hook(officer, "officerView") == "dashboard", 10, "the officer's dashboard")
    privileged_row = officer.locator(row(officer, privileged))
    wait_for(privileged_row.is_visible, 5, "the privileged visit in today's list")
    assert PRIVILEGED_TEXT in privileged_row.inner_text() and "Live" in privileged_row.inner_text()
    assert privileged_row.locator('button[data-action="watch"]').count() == 0, "a privileged visit offers Watch"
    snap(officer, screens_folder / "officer-visits-privileged.png")

    # Even when the page believes it may (a list that says otherwise), central refuses and the page says why.
    def hide_privileged(route: Route) -> None:
        listed = route.fetch().json()
        for visit in listed:
            visit["privileged"] = False
        route.fulfill(json=listed)

    officer.route("**/api/v1/staff/visits", hide_privileged)
    watch = privileged_row.locator('button[data-action="watch"]')
    wait_for(lambda: watch.count() == 1, 5, "a list without the privileged mark")
    watch.click()
    notice = officer.locator("#notice")
    wait_for(notice.is_visible, 5, "the refusal")
    assert notice.inner_text().startswith(
        "This is a privileged visit (attorney or clergy). It is not recorded, and no one can watch it."
    )
    officer.unroute_all(behavior="wait")
    wait_for(lambda: watch.count() == 0, 5, "the privileged mark back")
    assert hook(officer, "watchState") == "idle" and not officer.locator("#watch").is_visible()
    assert hook(officer, "captureRequests") == 0
    snap(officer, screens_folder / "officer-privileged-refused.png")

    # Cancelling a visit still to come needs a reason; the visitor is told it.
    officer.click(f'{row(officer, to_cancel)} button[data-action="cancel"]')
    assert "Cancel this visit?" in shown(officer)
    officer.click("#dialog-confirm")
    assert officer.locator("#dialog-error").inner_text() == "Give a reason of at least 3 characters."
    officer.fill("#dialog-input", "Facility lockdown")
    snap(officer, screens_folder / "officer-cancel.png")
    officer.click("#dialog-confirm")
    wait_for(lambda: "Cancelled" in officer.locator(row(officer, to_cancel)).inner_text(), 5, "the cancelled visit")
    assert "Facility lockdown" in officer.locator(row(officer, to_cancel)).inner_text()
    status = requests.get(f"{central.url}{API_PREFIX}/visitor/status", params={"code": lucia_code}, timeout=5)
    summary = VisitorStatus.model_validate_json(status.content).visit
    assert (summary.status.value, summary.status_reason) == ("cancelled", "Facility lockdown")

    # A privileged visit can still be ended (its room goes with it); then the officer signs out.
    officer.click(f'{row(officer, privileged)} button[data-action="end"]')
    officer.fill("#dialog-input", "Legal call moved to the afternoon")
    officer.click("#dialog-confirm")
    wait_for(lambda: "Ended by staff" in officer.locator(row(officer, privileged)).inner_text(), 5, "the ended visit")
    officer.click("#sign-out")
    wait_for(lambda: hook(officer, "officerView") == "signin", 5, "the sign-in form again")
    assert "You are signed out." in shown(officer)
    listed = officer.evaluate("fetch('/api/v1/staff/visits').then(r => r.status)")
    assert listed == 401, "the session is still open after signing out"
    snap(officer, screens_folder / "officer-signed-out.png")


def test_the_watch_says_so_when_the_visit_ends_elsewhere(start_central, terminal, browsers, screens_folder):
    central = start_central()
    kiosk = terminal(central)
    officer = browsers.officer
    enter_visit(kiosk)  # the resident alone: the visitor has not come
    visit_id = kiosk.state.live.visit_id
    sign_in(officer, central)
    wait_for(lambda: officer.locator(row(officer, visit_id)).is_visible(), 10, "the live visit in today's list")
    officer.click(f'{row(officer, visit_id)} button[data-action="watch"]')
    wait_for(lambda: frames(officer, "Resident") > 30, 15, "the resident's video on the officer's page")
    assert officer.locator("#watch-grid .tile").count() == 1
    snap(officer, screens_folder / "officer-watch-resident-alone.png")

    # Another officer (here: the staff token) ends the visit: the watch stops and says why.
    ended = requests.post(
        f"{central.url}{API_PREFIX}/staff/visits/{visit_id}/end",
        json={"reason": "Unit lockdown"},
        headers={"Authorization": f"Bearer {central.secret('staff-token')}"},
        timeout=5,
    )
    assert ended.status_code == 204, ended.text
    wait_for(lambda: hook(officer, "watchState") == "ended", 3, "the watch to show the end")
    assert officer.locator("#watch-grid .tile").count() == 0 and officer.evaluate("window.watchSenders()") == 0
    wait_for(lambda: "Staff ended this visit: Unit lockdown" in shown(officer), 5, "the reason in the watch panel")
    assert "Unit lockdown" in officer.locator(row(officer, visit_id)).inner_text()
    snap(officer, screens_folder / "officer-watch-ended.png")
    officer.click("#stop-watching")
    wait_for(lambda: hook(officer, "watchState") == "idle", 2, "the watch panel to close")
    assert not officer.locator("#watch").is_visible()


def test_central_serves_the_officer_page_which_may_never_use_a_camera_or_microphone(start_central):
    central = start_central()
    page = requests.get(f"{central.url}/officer", timeout=5)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "camera=()" in page.headers["permissions-policy"] and "microphone=()" in page.headers["permissions-policy"]
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"
    for path in ("/pages/officer.js", "/pages/officer.css"):
        response = requests.get(f"{central.url}{path}", timeout=5)
        assert response.status_code == 200, (path, response.text[:200])
    # The visitor's page keeps its own policy: it needs the camera.
    assert "camera=(self)" in requests.get(f"{central.url}/visit", timeout=5).headers["permissions-policy"]


def test_staff_see_a_terminal_whose_software_keeps_failing(start_central, browsers, screens_folder, tmp_path):
    central = start_central()
    demo_terminal = CentralClient(central.url, central.secret("terminal-token"))
    demo_terminal.heartbeat(Heartbeat(version=__version__, health={"camera": "ok", "handset": "ok", "hook": "ok"}))
    officer = browsers.officer
    sign_in(officer, central)
    wait_for(lambda: officer.locator("#visit-rows tr").count() > 0, 10, "today's visits")
    wait_for(lambda: officer.evaluate("window.terminalsNeedingAttention") == [], 5, "the terminals' list")
    assert not officer.locator("#terminals-attention").is_visible(), "a terminal that is fine needs no word"

    # Its kiosk keeps failing; the out-of-service screen's helper tells central, as its unit runs it.
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    (credentials / "terminal-token").write_text(central.secret("terminal-token"))
    (credentials / "terminal-token").chmod(0o400)
    told = report(config_file(tmp_path, central.url, key=False), credentials)
    assert told.returncode == 0, told.stderr
    wait_for(lambda: officer.locator("#terminals-attention").is_visible(), 15, "the terminal in need of attention")
    card = officer.locator("#terminals-attention").inner_text()
    assert "B North terminal 1" in card and "Its software keeps failing" in card and "call a technician" in card
    snap(officer, screens_folder / "officer-terminal-out-of-service.png")


def test_staff_see_how_an_ended_visits_call_went_and_the_minutes_to_credit(start_central, browsers, screens_folder):
    central = start_central()
    demo_terminal = CentralClient(central.url, central.secret("terminal-token"))
    session = demo_terminal.identify(DEMO_RESIDENT_ID, DEMO_RESIDENT_PIN)
    visit_id = next(v.visit_id for v in session.visits if v.status.value == "ready")
    demo_terminal.open_visit(session.session_token, visit_id)
    seen = DirectionQuality(fps=27.6, freezes=3, frozen_s=1.4, packet_loss_pct=4.56, rtt_ms=38, jitter_ms=6.0)
    sent = DirectionQuality(fps=29.9, packet_loss_pct=2.1, rtt_ms=38)
    report = EndVisitRequest(
        reason=EndReason.HUNG_UP,
        media_lost_s=75.4,
        quality=VisitQuality(received=seen, sent=sent, reconnects=1, outages=2),
    )
    demo_terminal.end_visit(visit_id, report)
    officer = browsers.officer
    sign_in(officer, central)
    wait_for(lambda: officer.locator(row(officer, visit_id)).count() == 1, 10, "the ended visit's row")
    line = officer.locator(f"{row(officer, visit_id)} .quality").inner_text()
    assert line == "Call: 28 fps · 3 freezes · 4.6% loss · 38 ms round trip · 1 reconnect"
    credit = officer.locator(f"{row(officer, visit_id)} .credit").inner_text()
    assert credit == "Credit due: 2 minutes (media lost for 75 s)"
    snap(officer, screens_folder / "officer-visit-quality.png")
