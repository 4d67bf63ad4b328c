"""Janus and central for the call bench, and the visits it adds for each run."""

from __future__ import annotations

import secrets
import time
from pathlib import Path

from sqlalchemy import update

from central import schema
from central.demo_data import DEMO_RESIDENT_ID
from central.janus_server import JanusServer, JanusSettings
from central.private_network import enter_private_network
from central.server_process import CentralProcess, free_port
from central.store import Store


def start_stack(folder: Path) -> tuple[JanusServer, CentralProcess]:
    """Janus and central in a private network, for every run of the bench."""
    network = enter_private_network()
    settings = JanusSettings(network.media_interface, http_port=free_port(), admin_key=secrets.token_hex(12))
    janus = JanusServer(settings, log_path=folder / "janus.log")
    janus.start()
    central = CentralProcess(folder / "central", janus.url, settings.admin_key)
    central.start()
    return janus, central


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
