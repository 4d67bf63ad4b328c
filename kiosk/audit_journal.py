"""The terminal's audit journal: every audit event is written to disk (fsync) before anything else,
then uploaded to central at least once; central stores each event id once, so retries are harmless.

It holds no names, IDs or PINs of residents: a visit id and what happened, nothing more.
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path

from pydantic import ValidationError

from kiosk.protocol import AuditEvent

_COMPACT_BYTES = 1 << 20


class AuditJournal:
    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._lines = folder / "audit.jsonl"
        self._cursor = folder / "audit.uploaded"
        self._lock = threading.Lock()

    def record(self, kind: str, visit_id: int | None = None, **detail: str | int | float | bool) -> None:
        event = AuditEvent(
            event_id=str(uuid.uuid4()), kind=kind, at=datetime.now(UTC), visit_id=visit_id, detail=detail
        )
        line = event.model_dump_json() + "\n"
        with self._lock:
            fd = os.open(self._lines, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                os.write(fd, line.encode())
                os.fsync(fd)
            finally:
                os.close(fd)

    def _uploaded(self) -> int:
        try:
            return int(self._cursor.read_text())
        except (OSError, ValueError):
            return 0

    def _write_cursor(self, value: int) -> None:
        temporary = self._cursor.with_suffix(".tmp")
        temporary.write_text(str(value))
        os.replace(temporary, self._cursor)

    def pending(self, limit: int = 100) -> tuple[list[AuditEvent], int]:
        """Events not yet uploaded, oldest first, and how many journal lines they span (for
        `mark_uploaded`). A line torn by a crash mid-write is skipped."""
        with self._lock:
            try:
                lines = self._lines.read_text().splitlines()
            except OSError:
                return [], 0
            window = lines[self._uploaded() :][:limit]
        events = []
        for line in window:
            try:
                events.append(AuditEvent.model_validate(json.loads(line)))
            except (ValueError, ValidationError):
                continue
        return events, len(window)

    def mark_uploaded(self, count: int) -> None:
        """Moves the cursor past `count` more lines; compacts the file once everything is uploaded."""
        with self._lock:
            uploaded = self._uploaded() + count
            self._write_cursor(uploaded)
            try:
                lines = self._lines.read_text().splitlines()
            except OSError:
                return
            if uploaded >= len(lines) and self._lines.stat().st_size > _COMPACT_BYTES:
                # Cursor first: a crash between the two steps re-uploads (harmless), never skips.
                self._write_cursor(0)
                self._lines.write_text("")
