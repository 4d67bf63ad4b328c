"""The terminal's upkeep thread: sends the end reports of visits, uploads the audit journal, sends heartbeats with
device health, and fetches what the idle screen shows (the facility's notices, the visits ready here).

It never blocks the visit: it has its own thread and retries quietly while central is away.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from kiosk import __version__
from kiosk.audit_journal import AuditJournal
from kiosk.central_client import CentralClient, CentralError
from kiosk.end_reports import EndReports
from kiosk.protocol import STORAGE_PART, AuditBatch, ErrorCode, Heartbeat, IdleInfo

log = logging.getLogger(__name__)
MAX_BATCH = 100  # events in one upload, as central takes them


class Upkeep:
    ROUND_S = 5.0  # the longest pause between rounds

    def __init__(
        self,
        central: CentralClient,
        journal: AuditJournal,
        end_reports: EndReports,
        health: Callable[[], dict[str, str]],
        idle_info: Callable[[IdleInfo], None] = lambda _info: None,
        upload_every_s: float = ROUND_S,
        heartbeat_every_s: float = 30.0,
        beat: Callable[[], None] = lambda: None,
    ) -> None:
        """`beat`: called at every round, for the watchdog (`kiosk.liveness`)."""
        self._central = central
        self._journal = journal
        self._end_reports = end_reports
        self._device_health = health
        self._idle_info = idle_info
        self._upload_every_s = upload_every_s
        self._heartbeat_every_s = heartbeat_every_s
        self._beat = beat
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
        """Uploads what the journal holds, on disk and (while the disk refuses writes) in memory; returns how
        many events central took (new or repeated)."""
        self._journal.write_held()
        sent = 0
        while True:
            events, lines = self._journal.pending()
            if lines == 0:
                break
            if events:
                self._central.upload_audit(AuditBatch(events=events))
            self._journal.mark_uploaded(lines)
            sent += len(events)
        held = self._journal.held()[:MAX_BATCH]
        while held:
            self._central.upload_audit(AuditBatch(events=held))
            self._journal.forget_held(held)
            sent += len(held)
            held = self._journal.held()[:MAX_BATCH]
        return sent

    def send_end_reports(self) -> None:
        for visit_id, report in self._end_reports.due():
            try:
                self._central.end_visit(visit_id, report)
            except CentralError as exc:
                if exc.code is not ErrorCode.UNKNOWN_VISIT:
                    # Not reached, or refused for a reason that can pass (the terminal's clock, central's own
                    # trouble): it may work next time.
                    self._end_reports.failed(visit_id)
                    raise
                # The visit is not live on this terminal at central: sending it again changes nothing.
                log.warning("central refused the end report of visit %d: %s", visit_id, exc.code.value)
            self._end_reports.done(visit_id)

    def _health(self) -> dict[str, str]:
        health = self._device_health()
        if not self._journal.storage_ok:
            health[STORAGE_PART] = "degraded"
        return health

    def _run(self) -> None:
        since_heartbeat, central_away, storage_told = self._heartbeat_every_s, False, True
        while not self._stopping.is_set():
            self._beat()
            try:
                self.send_end_reports()
                self.upload_pending()
                self._end_reports.hurry()  # central answers again: reports pausing after failures go now
                storage_changed = self._journal.storage_ok != storage_told
                if since_heartbeat >= self._heartbeat_every_s or self._beat_now.is_set() or storage_changed:
                    self._beat_now.clear()
                    storage_now = self._journal.storage_ok
                    self._central.heartbeat(Heartbeat(version=__version__, health=self._health()))
                    storage_told = storage_now  # staff hear of a full disk at once, not at the next heartbeat
                    since_heartbeat = 0.0
                    self._idle_info(self._central.idle_info())
            except CentralError as exc:
                if not central_away:  # once per outage: the log must not fill while central is away
                    log.warning("upkeep: %s", exc)
                central_away = True
            except Exception:
                # Whatever else went wrong (a full disk, a bug), heartbeats and uploads must go on.
                log.exception("upkeep round failed")
            else:
                if central_away:
                    log.info("upkeep: central answers again")
                central_away = False
            started = time.monotonic()
            report_due = self._end_reports.next_due_in()
            self._wake.wait(self._upload_every_s if report_due is None else min(report_due, self._upload_every_s))
            self._wake.clear()
            since_heartbeat += time.monotonic() - started
