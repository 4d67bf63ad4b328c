"""The visitor page in a real headless Chromium, against the real stack: central, Janus and the terminal
core. The browser's fake camera plays stamped frames that the terminal reads; the page shows the
terminal's stamped video, the names, the time left and the end with its reason.
"""

from __future__ import annotations

import itertools
import re
import secrets
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Page

from central.demo_data import DEMO_RESIDENT_ID, DEMO_RESIDENT_PIN
from central.server_process import CentralProcess
from central.simulated_visitor import SimulatedVisitor
from central.store import Store
from central.visits import VisitRules
from drivers.frame_stamp import read_stamp
from drivers.y4m import read_y4m
from kiosk.protocol import API_PREFIX, EndReason, VisitorStatus
from kiosk.visit_machine import CredentialsEntered, NoticeAccepted, Screen, StartTapped, VisitChosen
from tests.browser import HeadlessChromium, fake_camera_file, hook, shown, stamped_frame
from tests.conftest import staff_call
from tests.test_e2e_visit import enter_visit
from tests.waiting import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.slow]

LOOP_FRAMES = 90  # the fake camera's file: counters 0..89, then again from 0


@pytest.fixture(scope="session")
def fake_camera(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return fake_camera_file(tmp_path_factory.mktemp("fake-camera"), "Maria (browser)", LOOP_FRAMES)


@pytest.fixture
def browser(fake_camera: Path, tmp_path: Path) -> Iterator[Page]:
    chromium = HeadlessChromium(fake_camera, tmp_path / "chromium-profile")
    try:
        yield chromium.start()
    finally:
        # Shown by pytest when the test failed.
        print("\n".join(["browser console:", *chromium.console[-60:]]))
        chromium.stop()


def wait_for_state(page: Page, state: str, timeout: float) -> None:
    wait_for(lambda: hook(page, "visitState") == state, timeout, f"the page to be '{state}'")


def assert_counters_loop(counters: list[int]) -> None:
    """The browser's looping file: each counter follows the one before by a small step, modulo the loop.

    Chromium's file camera sends the file's first frame twice each time it starts the file again.
    """
    assert counters and all(0 <= c < LOOP_FRAMES for c in counters), counters[:20]
    pairs = list(itertools.pairwise(counters))
    steps = [(b - a) % LOOP_FRAMES for a, b in pairs]
    moving = all(1 <= step <= 10 or (step == 0 and b == 0) for step, (_, b) in zip(steps, pairs, strict=True))
    assert moving, f"video stuck, reordered or dropping frames: {counters}"
    assert any(b < a for a, b in pairs), "the looping file never started again"


def visit_url(central: CentralProcess, code: str) -> str:
    return f"{central.url}/visit?code={code}"


def test_the_page_waits_shows_the_visit_both_ways_and_staffs_reason_within_two_seconds(
    start_central, terminal, browser, screens_folder
):
    central = start_central()
    kiosk = terminal(central)
    page = browser
    page.goto(visit_url(central, central.secret("visitor-code")))

    # Before the resident starts: in the room, waiting, with the camera preview and the names.
    wait_for(lambda: "You are ready" in shown(page), 15, "the page to wait in the visit's room")
    assert hook(page, "visitState") == "waiting"
    text = shown(page)
    assert "Waiting for the visit to start" in text and "Maria (you)" in text
    assert page.evaluate("document.getElementById('preview').videoWidth") == 640
    screenshot_path = screens_folder / "visitor-waiting.png"
    page.screenshot(path=screenshot_path)

    enter_visit(kiosk)
    wait_for_state(page, "live", 10)
    # Frames flow both ways: the terminal reads the browser's stamps, the page decodes the resident's video.
    wait_for(lambda: len(kiosk.received.counters) > 120, 15, "the browser's video at the terminal")
    wait_for(lambda: hook(page, "framesReceived") > 60, 10, "the resident's video in the page")
    assert_counters_loop(kiosk.received.counters[-120:])
    received = kiosk.received
    print(f"terminal: {len(received.counters)} stamped frames from the browser, {received.unreadable} unreadable")
    # The page shows the terminal's own stamped camera, live: it moves on, and it is fresh.
    shown_frames = []
    for _ in range(5):
        shown_frames.append(stamped_frame(page, "#resident-video", timeout_s=5))
        time.sleep(0.2)
    counters = [f.stamp.counter for f in shown_frames]
    assert all(b > a for a, b in itertools.pairwise(counters)), counters
    ages = sorted(f.age_ms for f in shown_frames)
    print(f"terminal camera to the page's video element: {ages} ms")
    assert ages[len(ages) // 2] < 500

    # The names and a countdown that counts down.
    text = shown(page)
    assert "Maria (you)" in text and "The person you are visiting" in text
    countdown = page.locator("#countdown").inner_text()
    assert re.fullmatch(r"\d+:\d\d left", countdown), countdown
    left = hook(page, "secondsLeft")
    time.sleep(1.1)
    assert 0.9 < left - hook(page, "secondsLeft") < 1.6
    page.screenshot(path=screens_folder / "visitor-live.png")

    # Staff end the visit with a reason: the page shows it within 2 s, and stops its camera.
    visit_id = kiosk.state.live.visit_id
    asked = time.monotonic()
    response = staff_call(central, "POST", f"/visits/{visit_id}/end", json={"reason": "Count time in the unit"})
    assert response.status_code == 204, response.text
    wait_for_state(page, "ended", 2)
    took = time.monotonic() - asked
    print(f"staff end to the page showing it: {took * 1000:.0f} ms")
    assert took < 2
    assert hook(page, "endMessage") == "Staff ended the visit: Count time in the unit"
    assert hook(page, "endReason") == EndReason.ENDED_BY_STAFF.value
    text = shown(page)
    assert "The visit has ended" in text and "Staff ended the visit: Count time in the unit" in text
    videos_off = "['preview', 'self-view', 'resident-video'].every(id => !document.getElementById(id).srcObject)"
    assert page.evaluate(videos_off), "the page still shows or sends video"
    page.screenshot(path=screens_folder / "visitor-ended.png")


def test_a_visitor_can_leave_and_join_again_and_the_page_ends_at_the_scheduled_time(
    start_central, terminal, browser, screens_folder
):
    central = start_central(visit_seconds=30)
    kiosk = terminal(central)
    page = browser
    code = central.secret("visitor-code")
    page.goto(visit_url(central, code))
    wait_for(lambda: "You are ready" in shown(page), 15, "the page to wait in the visit's room")
    enter_visit(kiosk)
    wait_for_state(page, "live", 10)
    wait_for(lambda: hook(page, "framesReceived") > 30, 10, "the resident's video in the page")
    # Less than a minute left from the start: the last warning shows.
    assert hook(page, "warningS") == 60
    assert "1 minute left in this visit" in shown(page)
    page.screenshot(path=screens_folder / "visitor-live-warning.png")

    # Leaving asks first, turns the camera off and offers to join again; the visit goes on meanwhile.
    page.click("#leave")
    assert page.locator("#leave-dialog").is_visible()
    page.screenshot(path=screens_folder / "visitor-leave-dialog.png")
    page.click("#confirm-leave")
    wait_for_state(page, "left", 2)
    assert "You left the visit" in shown(page)
    page.screenshot(path=screens_folder / "visitor-left.png")
    assert page.evaluate("!document.getElementById('self-view').srcObject")
    page.click("#rejoin")
    wait_for_state(page, "live", 10)
    frames = hook(page, "framesReceived")
    wait_for(lambda: hook(page, "framesReceived") > frames + 15, 10, "the resident's video again")

    status = requests.get(f"{central.url}{API_PREFIX}/visitor/status", params={"code": code}, timeout=5)
    ends_at = VisitorStatus.model_validate_json(status.content).visit.ends_at.timestamp()
    wait_for_state(page, "ended", 30)
    print(f"page ended {time.time() - ends_at:+.2f} s from the scheduled end")
    assert abs(time.time() - ends_at) < 1.0
    assert hook(page, "endMessage") == "The scheduled time is over."
    assert "The scheduled time is over." in shown(page)
    page.screenshot(path=screens_folder / "visitor-ended-time-up.png")


def test_the_page_waits_for_a_visit_that_has_not_opened_and_joins_when_it_opens(start_central, browser, screens_folder):
    central = start_central()
    page = browser
    page.goto(visit_url(central, "NoSuchCode123"))
    wait_for_state(page, "problem", 10)
    assert "This visit link is not valid" in shown(page)
    page.screenshot(path=screens_folder / "visitor-link-not-valid.png")

    # A visit that opens (a few minutes before its start) a few seconds from now, for a visitor of its own.
    store = Store(central.state / "central.sqlite3")
    code = secrets.token_hex(8)
    opens_at = time.time() + 6
    starts_at = opens_at + VisitRules().join_early_s
    store.add_visit(DEMO_RESIDENT_ID, starts_at, starts_at + 1800, {store.add_visitor("Lucia"): code})
    page.goto(visit_url(central, code))

    wait_for(lambda: "Your visit opens at" in shown(page), 10, "the page to say the visit is not open yet")
    assert hook(page, "visitState") == "waiting"
    text = shown(page)
    assert "Waiting for the visit to start" in text and "Lucia (you)" in text
    page.screenshot(path=screens_folder / "visitor-not-open.png")

    wait_for(lambda: "You are ready" in shown(page), 15, "the page to join by itself when the visit opens")
    assert time.time() >= opens_at
    assert hook(page, "visitState") == "waiting"


def test_central_serves_the_page_with_safe_headers_and_janus_js_from_debian(start_central):
    central = start_central()
    page = requests.get(f"{central.url}/visit", params={"code": "abcdef123"}, timeout=5)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert page.headers["referrer-policy"] == "no-referrer", "the visit code in the address must not leak"
    assert "script-src 'self'" in page.headers["content-security-policy"]
    for path in ("/pages/visit.js", "/pages/visit.css", "/vendor/janus.js", "/vendor/adapter.js"):
        response = requests.get(f"{central.url}{path}", timeout=5)
        assert response.status_code == 200, (path, response.text[:200])
    assert "Janus.init" in requests.get(f"{central.url}/vendor/janus.js", timeout=5).text
    for path in ("/vendor/jquery.js", "/vendor/..%2Fjanus.py", "/pages/../web.py"):
        assert requests.get(f"{central.url}{path}", timeout=5).status_code == 404, path


def test_the_fake_camera_file_loops_stamped_frames(fake_camera):
    frames = read_y4m(fake_camera)
    assert len(frames) == LOOP_FRAMES and frames[0].shape == (480, 640, 3)
    assert [read_stamp(image).counter for image in frames] == list(range(LOOP_FRAMES))


def test_three_visitors_from_three_places_all_see_the_resident_and_each_other(
    start_central, terminal, browser, screens_folder
):
    central = start_central()
    store = Store(central.state / "central.sqlite3")
    now = time.time()
    codes = {name: secrets.token_hex(8) for name in ("Ana", "Ben", "Cai")}
    visit_id = store.add_visit(
        DEMO_RESIDENT_ID, now - 60, now + 600, {store.add_visitor(name): code for name, code in codes.items()}
    )
    store.dispose()
    ana = SimulatedVisitor(central.url, codes["Ana"], label="Ana (simulated)")
    ben = SimulatedVisitor(central.url, codes["Ben"], label="Ben (simulated)")
    kiosk = terminal(central)
    try:
        for visitor in (ana, ben):
            visitor.start()
        page = browser
        page.goto(visit_url(central, codes["Cai"]))
        kiosk.terminal.post(StartTapped())
        kiosk.terminal.post(CredentialsEntered(DEMO_RESIDENT_ID, DEMO_RESIDENT_PIN))
        wait_for(lambda: kiosk.state.screen is Screen.VISIT_LIST, 10, "the visit list")
        kiosk.terminal.post(VisitChosen(visit_id))
        kiosk.terminal.post(NoticeAccepted())
        wait_for(lambda: kiosk.state.notice_accepted, 5, "the notice")
        kiosk.handset.hook.lift()
        everyone = {"Resident", "Ana", "Ben", "Cai"}

        def sees_all(counts: Counter[str], me: str) -> bool:
            return all(counts[name] > 30 for name in everyone - {me})

        wait_for(lambda: sees_all(kiosk.frames_from, "Resident"), 20, "the resident to see all three visitors")
        wait_for(lambda: sees_all(ana.frames_from, "Ana"), 20, "Ana to see the resident, Ben and Cai")
        wait_for(lambda: sees_all(ben.frames_from, "Ben"), 20, "Ben to see the resident, Ana and Cai")
        # Cai's page: the resident large, the two other visitors small, all moving.
        wait_for(lambda: hook(page, "framesReceived") > 30, 10, "the resident's video in Cai's page")
        small = "[...document.querySelectorAll('#side figure.tile-small:not(.tile-self)')]"
        playing = f"{small}.filter(t => {{ const v = t.querySelector('video'); return v && v.currentTime > 0.5; }})"
        wait_for(lambda: page.evaluate(f"{playing}.length") == 2, 10, "the other two visitors' tiles to play")
        assert sorted(page.evaluate(f"{small}.map(t => t.innerText.trim())")) == ["Ana", "Ben"]
        page.screenshot(path=screens_folder / "visitor-three-visitors.png")
    finally:
        ana.stop()
        ben.stop()
