"""The system being provisioned: `/`, or a folder standing for it (`--root DIR`), and how files are put there.

Every write compares first, so a second run changes nothing, and replaces a file in one rename, so a run cut
off half way leaves either the old file or the new one, never half of one.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

KIOSK_USER = "kiosk"
KIOSK_GROUPS = ("video", "audio", "input")  # the camera, the handset's sound card, the hook switch and touch

CONFIG = "/etc/kiosk/kiosk.toml"
TOKEN = "/etc/kiosk/terminal-token"
KEY = "/etc/kiosk/terminal.key"
FACILITY_CA = "/etc/kiosk/facility-ca.pem"
STATE = "/var/lib/kiosk"
IDENTITY = "/var/lib/kiosk/identity.json"
PENDING_GRANT = "/var/lib/kiosk/enrollment-answer.json"  # central's answer, until it is put into place
REPORT = "/var/lib/kiosk/provision-report.json"
SELF_TEST = "/var/lib/kiosk/self-test.json"


@dataclass(frozen=True)
class Account:
    uid: int
    gid: int
    groups: frozenset[str]


@dataclass(frozen=True)
class Target:
    root: Path

    def path(self, absolute: str) -> Path:
        """Where `absolute` (a path as the terminal sees it) is in this target."""
        return self.root / absolute.lstrip("/")

    def kiosk_account(self) -> Account | None:
        """The kiosk user as the target's own /etc/passwd and /etc/group know it."""
        passwd = self._table("/etc/passwd")
        entry = next((row for row in passwd if row[0] == KIOSK_USER), None)
        if entry is None or len(entry) < 4:
            return None
        groups = {row[0] for row in self._table("/etc/group") if len(row) > 3 and KIOSK_USER in row[3].split(",")}
        return Account(int(entry[2]), int(entry[3]), frozenset(groups))

    def groups(self) -> set[str]:
        return {row[0] for row in self._table("/etc/group")}

    def _table(self, absolute: str) -> list[list[str]]:
        try:
            text = self.path(absolute).read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        return [line.split(":") for line in text.splitlines() if line and not line.startswith("#")]

    def same(self, absolute: str, content: bytes, mode: int, owner: Account | None) -> bool:
        """Whether the file is already there with this content, mode and owner."""
        path = self.path(absolute)
        try:
            state = path.stat()
            if path.read_bytes() != content or state.st_mode & 0o7777 != mode:
                return False
        except FileNotFoundError:
            return False
        return owner is None or (state.st_uid, state.st_gid) == (owner.uid, owner.gid)

    def write(self, absolute: str, content: bytes, mode: int, owner: Account | None = None) -> bool:
        """Puts the file in place; False if it was already so. `owner`: the kiosk user (else root's)."""
        if self.same(absolute, content, mode, owner):
            return False
        path = self.path(absolute)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        try:
            os.fchmod(fd, mode)  # before any byte is written: a secret is never readable by others
            if owner is not None:
                os.fchown(fd, owner.uid, owner.gid)
            with os.fdopen(fd, "wb") as file:
                file.write(content)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return True
