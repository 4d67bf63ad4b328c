"""The end reports of visits that central has not acknowledged yet: kept on disk from the moment a visit ends
until central has them, so that an expired resident session, central being away or restarting, or the terminal
itself restarting never loses how a visit ended and how much media it lost (central credits that time).

Each report is a small file (0600, written whole and fsynced) named after its visit; a full disk keeps it in
memory instead. Sending is retried with a growing pause; central takes a repeated report as the same one.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from kiosk.durable_file import write_durably
from kiosk.protocol import EndVisitRequest

log = logging.getLogger(__name__)
FIRST_RETRY_S = 1.0
LONGEST_RETRY_S = 30.0


@dataclass
class _Waiting:
    report: EndVisitRequest
    due_at: float = 0.0  # monotonic
    pause_s: float = FIRST_RETRY_S


class EndReports:
    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._folder = folder
        self._lock = threading.Lock()
        self._waiting: dict[int, _Waiting] = {}
        for leftover in folder.glob("visit-*.json.tmp"):  # a write cut short by a crash: its report was never kept
            leftover.unlink(missing_ok=True)
        for path in sorted(folder.glob("visit-*.json")):
            try:
                visit_id = int(path.stem.removeprefix("visit-"))
                self._waiting[visit_id] = _Waiting(EndVisitRequest.model_validate_json(path.read_bytes()))
            except (OSError, ValueError, ValidationError):
                log.warning("end report %s cannot be read: left out", path.name)

    def _path(self, visit_id: int) -> Path:
        return self._folder / f"visit-{visit_id}.json"

    def add(self, visit_id: int, report: EndVisitRequest) -> None:
        with self._lock:
            self._waiting[visit_id] = _Waiting(report)
        try:
            write_durably(self._path(visit_id), report.model_dump_json().encode())
        except OSError as exc:
            log.warning("end report of visit %d kept in memory only: %s", visit_id, exc.strerror)

    def due(self) -> list[tuple[int, EndVisitRequest]]:
        """The reports to send now, oldest visit first."""
        now = time.monotonic()
        with self._lock:
            return [(visit_id, w.report) for visit_id, w in sorted(self._waiting.items()) if w.due_at <= now]

    def next_due_in(self) -> float | None:
        """Seconds until the next report is due, if any waits."""
        with self._lock:
            if not self._waiting:
                return None
            return max(0.0, min(w.due_at for w in self._waiting.values()) - time.monotonic())

    def done(self, visit_id: int) -> None:
        """Central has it (or refused it for good): it is no longer kept."""
        with self._lock:
            self._waiting.pop(visit_id, None)
        try:
            self._path(visit_id).unlink(missing_ok=True)
        except OSError as exc:
            log.warning("end report of visit %d not removed: %s", visit_id, exc.strerror)

    def hurry(self) -> None:
        """Central answers again: every waiting report is due now, whatever its pause."""
        with self._lock:
            for waiting in self._waiting.values():
                waiting.due_at = 0.0
                waiting.pause_s = FIRST_RETRY_S

    def failed(self, visit_id: int) -> None:
        """Central could not be reached: try again after a pause that doubles each time."""
        with self._lock:
            waiting = self._waiting.get(visit_id)
            if waiting is not None:
                waiting.due_at = time.monotonic() + waiting.pause_s
                waiting.pause_s = min(LONGEST_RETRY_S, waiting.pause_s * 2)
