"""The kiosk's side of systemd's notify protocol, against a real unix datagram socket set as NOTIFY_SOCKET:
READY=1 once the first screen is up, STATUS= as it changes, and WATCHDOG=1 only while both the UI thread and
the core loop are alive."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from pathlib import Path

import pytest

from kiosk.liveness import CORE_LOOP, UI_THREAD, UPKEEP, Liveness
from kiosk.service_notify import ServiceNotifier
from kiosk.service_status import status_line
from kiosk.visit_machine import Screen, TerminalState
from tests.waiting import wait_for


def test_ready_status_and_pings_reach_the_socket(notify_socket):
    path, received = notify_socket
    notifier = ServiceNotifier(path)
    notifier.ready("Idle: ready for visits")
    notifier.status("In a\nvisit")  # one line, whatever it is given
    notifier.watchdog()
    notifier.stopping()
    wait_for(lambda: len(received.messages) == 4, 5, "four datagrams")
    assert received.texts() == [
        "READY=1\nSTATUS=Idle: ready for visits",
        "STATUS=In a visit",
        "WATCHDOG=1",
        "STOPPING=1",
    ]


def test_an_abstract_socket_is_reached_too():
    name = f"kiosk-notify-test-{os.getpid()}"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind("\0" + name)
    server.settimeout(5)
    try:
        ServiceNotifier("@" + name).watchdog()
        assert server.recv(64) == b"WATCHDOG=1"
    finally:
        server.close()


def test_the_environment_is_read_once_and_not_handed_to_children(monkeypatch, notify_socket):
    path, _received = notify_socket
    monkeypatch.setenv("NOTIFY_SOCKET", path)
    monkeypatch.setenv("WATCHDOG_USEC", "20000000")
    monkeypatch.setenv("WATCHDOG_PID", "1")  # cage's, the unit's main process: the kiosk is its child
    notifier = ServiceNotifier.from_environment()
    assert notifier.enabled and notifier.watchdog_s == 20.0
    assert not {"NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"} & set(os.environ)


def test_a_gone_socket_is_logged_once_and_never_raises(tmp_path: Path, caplog):
    notifier = ServiceNotifier(str(tmp_path / "no-such-socket"), "not a number")
    assert notifier.watchdog_s is None
    with caplog.at_level(logging.WARNING, logger="kiosk.service_notify"):
        for _ in range(3):
            notifier.watchdog()
    assert len(caplog.records) == 1 and "could not notify systemd" in caplog.text


def test_pings_stop_while_one_part_does_not_beat_and_come_back_with_it(notify_socket):
    path, received = notify_socket
    liveness = Liveness(ServiceNotifier(path), watchdog_s=0.8)  # beats due every 0.2 s, stale after 0.4 s
    hung = threading.Event()
    stop = threading.Event()

    def part(name: str) -> None:
        while not stop.wait(0.05):
            if not (name == UI_THREAD and hung.is_set()):
                liveness.beat(name)

    beaters = [threading.Thread(target=part, args=(name,), daemon=True) for name in (UI_THREAD, CORE_LOOP)]
    for thread in beaters:
        thread.start()
    liveness.start()
    try:
        wait_for(lambda: received.pings_between(0, time.monotonic()) >= 3, 5, "pings while both parts beat")
        hung.set()
        since = time.monotonic()
        wait_for(lambda: "STATUS=Not responding: UI thread" in received.texts(), 5, "the hang reported")
        reported = time.monotonic()
        hung_for = 1.0
        time.sleep(hung_for)  # the UI thread stays hung this long
        assert received.pings_between(reported, reported + hung_for) == 0
        assert reported - since < 0.4 + 0.2 + 0.3, "reported within the stale time and one check"
        hung.clear()
        back = time.monotonic()
        wait_for(lambda: received.pings_between(back, time.monotonic()) >= 1, 5, "pings again once it beats")
    finally:
        stop.set()
        liveness.stop()


def test_a_network_thread_may_be_silent_for_its_allowance_and_no_longer(notify_socket):
    path, received = notify_socket
    allowance = 1.2  # the upkeep's round may wait this long on central; the UI and loop only 0.4 s
    liveness = Liveness(
        ServiceNotifier(path), watchdog_s=0.8, parts=(UI_THREAD, UPKEEP), allowances={UPKEEP: allowance}
    )
    stop = threading.Event()

    def ui_thread() -> None:
        while not stop.wait(0.05):
            liveness.beat(UI_THREAD)

    threading.Thread(target=ui_thread, daemon=True).start()
    liveness.start()
    try:
        silent_from = time.monotonic()  # the upkeep thread never beats from here on: hung
        wait_for(lambda: "STATUS=Not responding: upkeep thread" in received.texts(), 5, "the hang reported")
        reported = time.monotonic()
        assert received.pings_between(silent_from + 0.3, silent_from + allowance - 0.3) >= 2, "pinged while allowed"
        assert allowance <= reported - silent_from < allowance + 0.5
    finally:
        stop.set()
        liveness.stop()


def test_the_status_line_says_what_the_screen_is_without_a_name():
    visit = TerminalState(screen=Screen.IN_VISIT, resident_name="Daniel Reyes")
    assert status_line(visit) == "In a visit"
    broken = TerminalState(screen=Screen.OUT_OF_SERVICE, out_of_service=("camera", "handset"))
    assert status_line(broken) == "Out of service: camera, handset"
    assert all(status_line(TerminalState(screen=screen)) for screen in Screen)


# -- the whole kiosk ---------------------------------------------------------------------------------


@pytest.mark.ui
@pytest.mark.e2e
def test_the_kiosk_is_ready_with_its_idle_screen_and_a_hung_ui_or_loop_stops_the_pings(
    monkeypatch, notify_socket, start_central, start_kiosk, qtbot
):
    path, received = notify_socket
    monkeypatch.setenv("NOTIFY_SOCKET", path)
    monkeypatch.setenv("WATCHDOG_USEC", "1000000")  # beats every 0.25 s, stale after 0.5 s
    central = start_central()
    kiosk = start_kiosk(central.url, central.state / "terminal-token")
    qtbot.waitUntil(lambda: "READY=1\nSTATUS=Idle: ready for visits" in received.texts(), timeout=10_000)
    assert kiosk.window.current is Screen.IDLE
    qtbot.waitUntil(lambda: received.pings_between(0, time.monotonic()) >= 3, timeout=5_000)

    start = time.monotonic()
    time.sleep(1.5)  # the UI thread hangs: this test runs on it, and Qt's events wait
    assert received.pings_between(start + 1.0, start + 1.5) == 0, "no ping while the UI thread hangs"
    qtbot.waitUntil(lambda: received.pings_between(start + 1.5, time.monotonic()) >= 1, timeout=5_000)

    kiosk.core.call_soon(time.sleep, 1.5)  # the core loop hangs; Qt's events go on
    start = time.monotonic()
    qtbot.waitUntil(lambda: "STATUS=Not responding: core loop" in received.texts(), timeout=5_000)
    qtbot.wait(500)
    assert received.pings_between(start + 1.0, start + 1.4) == 0, "no ping while the core loop hangs"
    qtbot.waitUntil(lambda: received.pings_between(start + 1.6, time.monotonic()) >= 1, timeout=5_000)
