"""The crash-safe record of the visit in progress: which visit, when it ends, and when the terminal was last alive
in it. After a crash (the kiosk killed, power lost) the restarted terminal reads it to take the visit up again, or
to tell central how it ended. It holds no PIN, no name and no room secret: central hands the room out again.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from kiosk.durable_file import write_durably

log = logging.getLogger(__name__)
RESUME_WITHIN_S = 60.0  # a crash longer ago than this ends the visit instead: the person has likely left
ALIVE_EVERY_S = 5.0  # how often the record says the terminal is alive


class _Stored(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    visit_id: int
    ends_at: float  # wall clock, seconds since the epoch
    alive_at: float


@dataclass(frozen=True)
class VisitInProgress:
    visit_id: int
    ends_at: float
    alive_at: float

    def resumable(self, now: float, handset_lifted: bool) -> bool:
        """The visit is still on, the crash was a moment ago, and the person is still at the handset."""
        return handset_lifted and now - self.alive_at < RESUME_WITHIN_S and now < self.ends_at - 1.0


class VisitRecord:
    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._path = folder / "visit-in-progress.json"

    def read(self) -> VisitInProgress | None:
        try:
            stored = _Stored.model_validate_json(self._path.read_bytes())
        except FileNotFoundError:
            return None
        except (OSError, ValueError, ValidationError):
            log.warning("the record of the visit in progress cannot be read: left out")
            self.clear()
            return None
        return VisitInProgress(stored.visit_id, stored.ends_at, stored.alive_at)

    def write(self, visit_id: int, ends_at: float) -> None:
        """The visit is in progress and the terminal alive in it now (written whole and fsynced)."""
        stored = _Stored(visit_id=visit_id, ends_at=ends_at, alive_at=time.time())
        try:
            write_durably(self._path, stored.model_dump_json().encode())
        except OSError as exc:  # a full disk: a crash now could not resume the visit, which goes on regardless
            log.warning("the record of the visit in progress was not written: %s", exc.strerror)

    def clear(self) -> None:
        try:
            self._path.unlink(missing_ok=True)
        except OSError as exc:
            log.warning("the record of the visit in progress was not removed: %s", exc.strerror)
