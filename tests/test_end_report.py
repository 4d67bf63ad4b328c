"""The end report of a visit reaches central on the real stack: after the resident session expired mid-visit,
and across central being away and the terminal restarting in the meantime.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import func, select

from central import schema
from central.server_process import CentralProcess
from central.simulated_visitor import SimulatedVisitor
from central.store import Store
from kiosk.config import KioskConfig
from kiosk.protocol import EndReason, VisitStatus
from kiosk.visit_machine import EndTapped, Screen
from tests.conftest import kiosk_config
from tests.terminal_harness import HarnessTerminal
from tests.test_e2e_visit import enter_visit
from tests.waiting import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SESSION_S = 5.0  # the resident session's lifetime on central, far shorter than the visit


class Stack:
    """Central (with the demo data), the simulated visitor Maria in the ready visit, and the terminals started
    against them; everything is stopped after the test."""

    def __init__(self, start_central: Callable[..., CentralProcess]) -> None:
        self._start_central = start_central
        self.terminals: list[HarnessTerminal] = []
        self.visitors: list[SimulatedVisitor] = []

    def central(self, *extra_args: str) -> CentralProcess:
        central = self._start_central(extra_args=extra_args)
        visitor = SimulatedVisitor(central.url, central.secret("visitor-code"))
        self.visitors.append(visitor)
        visitor.start()
        return central

    def terminal(self, config: KioskConfig, token: str) -> HarnessTerminal:
        kiosk = HarnessTerminal(config, token)
        self.terminals.append(kiosk)
        return kiosk

    def stop_terminal(self, kiosk: HarnessTerminal) -> None:
        """As the terminal's process ending: what it has not sent must be on disk by now."""
        self.terminals.remove(kiosk)
        kiosk.stop()

    def stop(self) -> None:
        for kiosk in self.terminals:
            kiosk.stop()
        for visitor in self.visitors:
            visitor.stop()


@pytest.fixture
def stack(start_central: Callable[..., CentralProcess]) -> Iterator[Stack]:
    made = Stack(start_central)
    yield made
    made.stop()


def _ended(store: Store, visit_id: int) -> EndReason | None:
    """How central recorded the visit's end, if it has."""
    visit = store.visit(visit_id)
    assert visit is not None
    return visit.end_reason if visit.status is VisitStatus.ENDED else None


def _live_sessions(store: Store) -> int:
    sessions = schema.resident_sessions.c
    with store.engine.connect() as db:
        return int(db.scalar(select(func.count()).where(sessions.expires_at > time.time())) or 0)


def test_the_end_report_arrives_although_the_resident_session_expired_mid_visit(stack: Stack) -> None:
    central = stack.central("--session-minutes", str(SESSION_S / 60))
    config = kiosk_config(central.url, central.state / "terminal-token", hangup_grace_s=0)
    kiosk = stack.terminal(config, central.secret("terminal-token"))
    store = Store(central.state / "central.sqlite3")
    enter_visit(kiosk)
    visit_id = kiosk.state.live.visit_id

    time.sleep(2 * SESSION_S)  # the visit goes on past the resident session's end: the point of this test
    assert kiosk.state.screen is Screen.IN_VISIT
    assert _live_sessions(store) == 0, "the resident session should have expired by now"
    assert store.visit(visit_id).status is VisitStatus.LIVE

    hung_up = time.monotonic()
    kiosk.handset.hook.hang_up()
    wait_for(lambda: _ended(store, visit_id) is not None, 2, "central to record the end of the visit")
    print(f"central recorded the end {time.monotonic() - hung_up:.2f} s after the hang-up")
    assert _ended(store, visit_id) is EndReason.HUNG_UP
    wait_for(lambda: not list((config.terminal.state_dir / "end-reports").iterdir()), 2, "the report to be let go")


def test_the_end_report_waits_out_central_and_a_terminal_restart(stack: Stack) -> None:
    central = stack.central()
    token = central.secret("terminal-token")
    config = kiosk_config(central.url, central.state / "terminal-token")
    kiosk = stack.terminal(config, token)
    enter_visit(kiosk)
    visit_id = kiosk.state.live.visit_id
    report = config.terminal.state_dir / "end-reports" / f"visit-{visit_id}.json"

    central.stop()
    kiosk.terminal.post(EndTapped())
    wait_for(lambda: kiosk.state.screen is Screen.ENDED, 5, "the terminal to show the end")
    wait_for(report.exists, 2, "the end report to be kept on disk")
    stack.stop_terminal(kiosk)
    assert report.exists(), "the report was let go while central was away"
    assert _ended(Store(central.state / "central.sqlite3"), visit_id) is None

    # The same central comes back on its database, as after a restart: the demo data is not seeded again.
    central.start()
    store = Store(central.state / "central.sqlite3")
    assert len(store.terminals()) == 1 and central.secret("terminal-token") == token
    assert store.visit(visit_id).status is VisitStatus.LIVE

    restarted = time.monotonic()
    stack.terminal(config, token)
    wait_for(lambda: _ended(store, visit_id) is not None, 5, "central to record the end after the restart")
    print(f"central recorded the end {time.monotonic() - restarted:.2f} s after the terminal restarted")
    assert _ended(store, visit_id) is EndReason.ENDED_BY_RESIDENT
    wait_for(lambda: not report.exists(), 2, "the report to be let go once central has it")
    assert not list(report.parent.iterdir())
