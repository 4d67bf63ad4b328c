"""The terminal's audit journal: every audit event is written to disk (fsync) before anything else,
then uploaded to central at least once; central stores each event id once, so retries are harmless.

It holds no names, IDs or PINs of residents: a visit id and what happened, nothing more. When the disk
refuses a write (full, or failing) the events wait in memory, in order, until the disk takes them again
or central has them: a full disk costs no event.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path

from pydantic import ValidationError

from kiosk.durable_file import write_durably
from kiosk.protocol import AuditEvent

_COMPACT_BYTES = 1 << 20
log = logging.getLogger(__name__)


def _truncate(path: Path, size: int) -> None:
    fd = os.open(path, os.O_WRONLY)
    try:
        os.ftruncate(fd, size)
        os.fsync(fd)
    finally:
        os.close(fd)


class AuditJournal:
    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._folder = folder
        self._lines = folder / "audit.jsonl"
        self._cursor = folder / "audit.uploaded"
        self._lock = threading.Lock()
        self._held: list[AuditEvent] = []  # recorded, but the disk refused them: oldest first
        self._refusing = False  # the disk refused the last write
        self._cursor_now: int | None = None  # lines uploaded: the file's cursor, or ahead of it on a full disk
        self._cut_torn_tail()

    # -- writing ----------------------------------------------------------------------------------

    def _cut_torn_tail(self) -> None:
        """Power lost mid-write leaves a last line without its newline; the next event appended to it would
        be lost with it. The torn part is cut off (and the cut made durable) before anything is appended."""
        try:
            data = self._lines.read_bytes()
        except FileNotFoundError:
            return
        if not data or data.endswith(b"\n"):
            return
        keep = data.rfind(b"\n") + 1
        log.warning("audit journal: a torn last line (%d bytes) was cut off", len(data) - keep)
        _truncate(self._lines, keep)

    def record(self, kind: str, visit_id: int | None = None, **detail: str | int | float | bool) -> None:
        event = AuditEvent(
            event_id=str(uuid.uuid4()), kind=kind, at=datetime.now(UTC), visit_id=visit_id, detail=detail
        )
        with self._lock:
            self._held.append(event)
            self._write_held()

    def write_held(self) -> bool:
        """Tries again to write what the disk refused; True when nothing is held any more."""
        with self._lock:
            return self._write_held()

    def _write_held(self) -> bool:
        if not self._held:
            if self._refusing:
                self._refusing = not self._disk_takes_a_page()
            return not self._refusing
        data = "".join(e.model_dump_json() + "\n" for e in self._held).encode()
        try:
            fd = os.open(self._lines, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        except OSError as exc:
            return self._refused(exc)
        try:
            size = os.fstat(fd).st_size
            try:
                written = os.write(fd, data)
                if written != len(data):
                    raise OSError(28, "short write")
                os.fsync(fd)
            except OSError as exc:
                # A part written before the disk filled would be a torn line: take it back.
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, size)
                return self._refused(exc)
        finally:
            os.close(fd)
        if self._refusing:
            log.info("audit journal: the disk takes writes again; %d held events written", len(self._held))
        self._held.clear()
        self._refusing = False
        return True

    def _refused(self, exc: OSError) -> bool:
        if not self._refusing:  # once per episode: a full disk must not flood the log
            log.warning("audit journal: the disk refused a write (%s); events are held in memory", exc.strerror)
        self._refusing = True
        return False

    def _disk_takes_a_page(self) -> bool:
        """Whether the disk has room again, when no event waits to prove it."""
        probe = self._folder / "space.probe"
        try:
            fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                written = os.write(fd, bytes(4096))
                os.fsync(fd)
                return written == 4096
            finally:
                os.close(fd)
                probe.unlink(missing_ok=True)
        except OSError:
            return False

    @property
    def storage_ok(self) -> bool:
        """False while the disk refuses the journal's writes (even once central has every event it held)."""
        with self._lock:
            return not self._refusing

    def held(self) -> list[AuditEvent]:
        """Events the disk refused, oldest first: newer than every event on disk."""
        with self._lock:
            return list(self._held)

    def forget_held(self, uploaded: list[AuditEvent]) -> None:
        """Central has these held events: they need not wait for the disk any more."""
        ids = {e.event_id for e in uploaded}
        with self._lock:
            self._held = [e for e in self._held if e.event_id not in ids]

    # -- uploading --------------------------------------------------------------------------------

    def _uploaded(self) -> int:
        if self._cursor_now is None:
            try:
                self._cursor_now = int(self._cursor.read_text())
            except (OSError, ValueError):
                self._cursor_now = 0
        return self._cursor_now

    def _write_cursor(self, value: int) -> None:
        write_durably(self._cursor, str(value).encode())

    def pending(self, limit: int = 100) -> tuple[list[AuditEvent], int]:
        """Events on disk not yet uploaded, oldest first, and how many journal lines they span (for
        `mark_uploaded`). A line that cannot be read (torn before this version cut torn tails) is skipped."""
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
        """Moves the cursor past `count` more lines; compacts the file once everything is uploaded.
        Both steps are durable: a power cut after either re-uploads (harmless), never skips."""
        with self._lock:
            uploaded = self._cursor_now = self._uploaded() + count
            try:
                self._write_cursor(uploaded)
                lines = self._lines.read_text().splitlines()
                if uploaded >= len(lines) and self._lines.stat().st_size > _COMPACT_BYTES:
                    self._write_cursor(0)
                    _truncate(self._lines, 0)
                    self._cursor_now = 0
            except OSError as exc:
                # The cursor moves on in memory; on disk it stays behind until the disk takes it, so after a
                # restart those events are sent again, and central drops the repeats.
                if not self._refusing:
                    log.warning("audit journal: the upload cursor was not saved (%s)", exc.strerror)
                self._refusing = True
