"""Janus and central for the call bench, on a perfect link or with the subject behind a bad one, and the visits it
adds for each run."""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import update

from central import schema
from central.demo_data import DEMO_RESIDENT_ID
from central.janus_server import JanusServer, JanusSettings
from central.private_network import enter_private_network
from central.server_process import CentralProcess, free_port
from central.store import Store
from tests.browser import CHROMIUM
from tests.faults.link_profiles import LinkProfile
from tests.faults.network import FaultNetwork
from tests.faults.stack import start_fault_stack


@dataclass
class BenchStack:
    """Where the bench's visits run: central (with Janus behind it), and how the subject (the terminal, or the
    browser in its place) is started where its link is. The simulated visitor runs in the bench's own process."""

    central: CentralProcess
    stop: Callable[[], None] = lambda: None
    subject_prefix: tuple[str, ...] = ()  # a command behind it runs on the subject's link
    ca_file: Path | None = None  # the CA of central's and Janus's certificates, when they serve HTTPS
    chromium: Path = CHROMIUM
    chromium_args: tuple[str, ...] = ()
    network: FaultNetwork | None = field(default=None, repr=False)

    def bytes_sent(self) -> tuple[int, int] | None:
        """The bytes the subject and the visitor have sent so far, when their links are counted."""
        if self.network is None:
            return None
        through = self.network.bytes_through()
        return through["terminal"][0], through["visitor"][0]


def start_stack(folder: Path) -> BenchStack:
    """Janus and central in a private network, on loopback-fast links, for every run of the bench."""
    network = enter_private_network()
    settings = JanusSettings(network.media_interface, http_port=free_port(), admin_key=secrets.token_hex(12))
    janus = JanusServer(settings, log_path=folder / "janus.log")
    janus.start()
    central = CentralProcess(folder / "central", janus.url, settings.admin_key)
    central.start()

    def stop() -> None:
        central.stop()
        janus.stop()

    return BenchStack(central, stop)


def start_link_stack(folder: Path, profile: LinkProfile) -> BenchStack:
    """The fault harness's stack (each role in a namespace of its own, central and Janus on HTTPS), with this
    process as the visitor and `profile` applied to its link for every run of the bench."""
    enter_private_network()
    stack = start_fault_stack(folder, simulated_visitor=False, terminal=False, home="visitor")
    try:
        stack.network.shape(profile.role, profile.shape)
    except BaseException:
        stack.stop()
        raise
    os.environ["REQUESTS_CA_BUNDLE"] = str(stack.authority)  # the simulated visitor, in this process
    chromium, trust = stack.chromium_in("terminal")
    return BenchStack(
        stack.central,
        stack.stop,
        subject_prefix=tuple(stack.network["terminal"].command()),
        ca_file=stack.authority,
        chromium=chromium,
        chromium_args=trust,
        network=stack.network,
    )


def add_visit(central: CentralProcess, seconds: float, visitors: list[str]) -> tuple[int, dict[str, str]]:
    """A visit open now for the demo resident with these visitors; its id and each visitor's code."""
    codes = {name: secrets.token_hex(8) for name in visitors}
    store = Store(central.state / "central.sqlite3")
    try:
        now = time.time()
        by_id = {store.add_visitor(name): code for name, code in codes.items()}
        visit_id = store.add_visit(DEMO_RESIDENT_ID, now - 60, now + seconds, by_id)
    finally:
        store.dispose()
    return visit_id, codes


def retire_visit(central: CentralProcess, visit_id: int) -> None:
    """Moves a finished visit two hours back, out of the resident's list (which keeps the last hour's), so that
    a long series of visits does not grow the list the terminal shows, as no resident's real day would."""
    store = Store(central.state / "central.sqlite3")
    visits = schema.visits
    back = 2 * 3600
    try:
        with store.engine.begin() as db:
            db.execute(
                update(visits)
                .where(visits.c.id == visit_id)
                .values(starts_at=visits.c.starts_at - back, ends_at=visits.c.ends_at - back)
            )
    finally:
        store.dispose()
