"""The kiosk is killed (kill -9) mid-visit, on the real stack, and started again as systemd would (2 s later): with
the handset still lifted it is back in the same visit, on the same clock, within 5 s of its start, and the dead
session does not keep a place in the room; with the handset hung up it goes to idle and central hears how the
visit ended."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from central.store import Store
from kiosk.protocol import EndReason, VisitStatus
from tests.faults.drills import publishers
from tests.faults.stack import FaultStack
from tests.waiting import wait_for

pytestmark = [pytest.mark.faults, pytest.mark.e2e, pytest.mark.slow]

RESTART_S = 2.0  # kiosk.service's RestartSec


class TerminalProcess:
    """`tests.faults.terminal_process` running against the stack; `shown` is what it printed last."""

    def __init__(self, stack: FaultStack, log: Path, *flags: str) -> None:
        command = [
            sys.executable,
            "-m",
            "tests.faults.terminal_process",
            "--central",
            stack.central.url,
            "--token-file",
            str(stack.central.state / "terminal-token"),
            "--ca-file",
            str(stack.authority),
            *flags,
        ]
        with open(log, "ab") as errors:
            self._process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors, text=True)
        self.shown: dict[str, object] = {}
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self._process.stdout is not None
        for line in self._process.stdout:
            self.shown = json.loads(line)

    def kill(self) -> None:
        os.kill(self._process.pid, signal.SIGKILL)
        self._process.wait()

    def stop(self) -> None:
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()


@pytest.fixture
def terminals(fault_stack):
    started: list[TerminalProcess] = []
    stack: FaultStack = fault_stack(terminal=False)

    def start(*flags: str) -> TerminalProcess:
        process = TerminalProcess(stack, stack.folder / "terminal.log", *flags)
        started.append(process)
        return process

    yield stack, start
    for process in started:
        process.stop()


def _in_the_visit(terminal: TerminalProcess, frames: int = 0) -> bool:
    shown = terminal.shown
    return shown.get("screen") == "in_visit" and shown.get("call") == "connected" and shown["frames"] > frames


def test_a_kiosk_killed_mid_visit_is_back_in_it_within_five_seconds_with_the_handset_still_lifted(terminals):
    stack, start = terminals
    first = start("--enter")
    wait_for(lambda: _in_the_visit(first, 60), 30, "the visit with the visitor's video")
    visit_id, seconds_left = first.shown["visit_id"], first.shown["seconds_left"]
    killed_at = time.monotonic()
    first.kill()
    time.sleep(RESTART_S)  # systemd's pause before it starts the kiosk again
    started_at = time.monotonic()
    second = start("--lifted")
    wait_for(lambda: _in_the_visit(second), 5, "the restarted kiosk to be back in the visit with video")
    back_s = time.monotonic() - started_at
    print(f"killed mid-visit: back in the visit {back_s:.2f} s after the restart")
    assert second.shown["visit_id"] == visit_id
    expected_left = seconds_left - (time.monotonic() - killed_at)
    assert abs(second.shown["seconds_left"] - expected_left) < 1.0, "the visit's clock moved"
    store = Store(stack.central.state / "central.sqlite3")
    try:
        room = store.visit(visit_id).room
    finally:
        store.dispose()
    wait_for(lambda: publishers(stack, room) == ["Maria", "Resident"], 5, "one resident in the room, not two")


def test_a_kiosk_killed_mid_visit_and_restarted_with_the_handset_down_ends_it_and_tells_central(terminals):
    stack, start = terminals
    first = start("--enter")
    wait_for(lambda: _in_the_visit(first, 30), 30, "the visit with the visitor's video")
    visit_id = first.shown["visit_id"]
    first.kill()
    time.sleep(RESTART_S)
    second = start()  # the person hung up and left meanwhile
    wait_for(lambda: second.shown.get("screen") == "idle" and not second.shown["busy"], 5, "the idle screen")
    store = Store(stack.central.state / "central.sqlite3")
    try:
        wait_for(lambda: store.visit(visit_id).status is VisitStatus.ENDED, 5, "central to hear how the visit ended")
        assert store.visit(visit_id).end_reason is EndReason.HUNG_UP
    finally:
        store.dispose()
