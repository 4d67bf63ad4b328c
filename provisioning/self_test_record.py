"""The last self-test's results, kept with the devices they were for: setup does not ask the technician to
repeat a test that passed for the same devices, and `status` and the diagnostics bundle show them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from kiosk.config import DevicesSection
from provisioning.self_test import Check, Verdict
from provisioning.target import SELF_TEST, Target

FULL, AUTOMATIC = "full", "automatic"  # with a technician at the terminal, or unattended


@dataclass(frozen=True)
class SelfTestRecord:
    when: str
    mode: str
    devices: dict[str, Any]
    checks: list[Check]

    @staticmethod
    def new(mode: str, devices: DevicesSection, checks: list[Check]) -> SelfTestRecord:
        when = datetime.now(UTC).isoformat(timespec="seconds")
        return SelfTestRecord(when, mode, devices.model_dump(mode="json"), checks)

    @staticmethod
    def read(target: Target) -> SelfTestRecord | None:
        try:
            raw = json.loads(target.path(SELF_TEST).read_text(encoding="utf-8"))
            checks = [Check(c["part"], Verdict(c["verdict"]), c["detail"]) for c in raw["checks"]]
            return SelfTestRecord(raw["when"], raw["mode"], raw["devices"], checks)
        except (FileNotFoundError, ValueError, KeyError, TypeError):
            return None

    def write(self, target: Target) -> None:
        target.write(SELF_TEST, (json.dumps(self.as_json(), indent=2) + "\n").encode(), 0o644)

    def as_json(self) -> dict[str, Any]:
        checks = [{"part": c.part, "verdict": c.verdict.value, "detail": c.detail} for c in self.checks]
        return {"when": self.when, "mode": self.mode, "devices": self.devices, "checks": checks}

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if c.verdict is Verdict.FAILED]

    def covers(self, mode: str, devices: DevicesSection) -> bool:
        """Whether this record passed a test at least as thorough as `mode`, of these same devices."""
        thorough = self.mode == FULL or mode == AUTOMATIC
        return thorough and not self.failed and self.devices == devices.model_dump(mode="json")
