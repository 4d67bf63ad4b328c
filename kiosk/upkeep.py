"""The terminal's upkeep thread: uploads the audit journal, sends heartbeats with device health, and fetches
what the idle screen shows (the facility's notices, the visits ready here).

It never blocks the visit: it has its own thread and retries quietly while central is away.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from kiosk import __version__
from kiosk.audit_journal import AuditJournal
from kiosk.central_client import CentralClient, CentralError
from kiosk.protocol import AuditBatch, Heartbeat, IdleInfo

log = logging.getLogger(__name__)


class Upkeep:
    def __init__(
        self,
        central: CentralClient,
        journal: AuditJournal,
        health: Callable[[], dict[str, str]],
        idle_info: Callable[[IdleInfo], None] = lambda _info: None,
        upload_every_s: float = 5.0,
        heartbeat_every_s: float = 30.0,
    ) -> None:
        self._central = central
        self._journal = journal
        self._health = health
        self._idle_info = idle_info
        self._upload_every_s = upload_every_s
        self._heartbeat_every_s = heartbeat_every_s
        self._wake = threading.Event()
        self._beat_now = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="upkeep", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    def upload_soon(self) -> None:
        self._wake.set()

    def heartbeat_soon(self) -> None:
        """Central hears the devices' health now, not at the next regular heartbeat."""
        self._beat_now.set()
        self._wake.set()

    def upload_pending(self) -> int:
        """Uploads what the journal holds; returns how many events central took (new or repeated)."""
        sent = 0
        while True:
            events, lines = self._journal.pending()
            if lines == 0:
                return sent
            if events:
                self._central.upload_audit(AuditBatch(events=events))
            self._journal.mark_uploaded(lines)
            sent += len(events)

    def _run(self) -> None:
        since_heartbeat = self._heartbeat_every_s
        while not self._stopping.is_set():
            try:
                self.upload_pending()
                if since_heartbeat >= self._heartbeat_every_s or self._beat_now.is_set():
                    self._beat_now.clear()
                    self._central.heartbeat(Heartbeat(version=__version__, health=self._health()))
                    since_heartbeat = 0.0
                    self._idle_info(self._central.idle_info())
            except CentralError as exc:
                log.warning("upkeep: %s", exc)
            self._wake.wait(self._upload_every_s)
            self._wake.clear()
            since_heartbeat += self._upload_every_s
