"""The one-screen report `kiosk-provision` ends with, and keeps (as JSON) for `kiosk-provision status`.

It says what the terminal is and how each step went; it never holds a secret (the token and key are only
said to be there or not).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from kiosk import __version__
from provisioning.self_test import Verdict
from provisioning.self_test_record import SelfTestRecord
from provisioning.steps import Identity, Outcome, Status
from provisioning.target import FACILITY_CA, KEY, REPORT, TOKEN, Target


def build_report(target: Target, outcomes: list[Outcome], dry_run: bool) -> dict[str, Any]:
    identity = Identity.read(target)
    failed = next((o for o in outcomes if o.status is Status.FAILED), None)
    pending = [o.step for o in outcomes if o.status is Status.WOULD_CHANGE]
    if failed is not None:
        result = f"not ready: {failed.step} failed"
    elif pending:
        result = f"dry run: would change {', '.join(pending)}"
    else:
        result = "ready"
        record = SelfTestRecord.read(target)
        untested = [c.part for c in record.checks if c.verdict is Verdict.NOT_CHECKED] if record else []
        if untested:
            result += f"; at the terminal, `kiosk-provision self-test` checks the {', '.join(untested)}"
    return {
        "result": result,
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "version": __version__,
        "root": str(target.root),
        "dry_run": dry_run,
        "terminal": identity.__dict__ if identity else None,
        "credentials": {
            "key": target.path(KEY).exists(),
            "token": target.path(TOKEN).exists(),
            "facility_ca": target.path(FACILITY_CA).exists(),
        },
        "steps": [{"step": o.step, "status": o.status.value, "detail": o.detail} for o in outcomes],
        "self_test": self_test_json(target),
    }


def self_test_json(target: Target) -> dict[str, Any] | None:
    record = SelfTestRecord.read(target)
    return record.as_json() if record else None


def save_report(target: Target, report: dict[str, Any]) -> None:
    target.write(REPORT, (json.dumps(report, indent=2, ensure_ascii=False) + "\n").encode(), 0o644)


def read_report(target: Target) -> dict[str, Any] | None:
    try:
        found = json.loads(target.path(REPORT).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None
    return found if isinstance(found, dict) else None


_CREDENTIALS = {"key": "key", "token": "token", "facility_ca": "facility CA"}


def render(report: dict[str, Any], with_steps: bool) -> str:
    """The report on one screen; `with_steps` when the steps were not just printed one by one."""
    terminal = report.get("terminal") or {}
    have = report.get("credentials", {})
    steps = [f"  {s['status']:>12}  {s['step']}: {s['detail']}" for s in report.get("steps", [])]
    credentials = [f"{_CREDENTIALS.get(name, name)} {'present' if ok else 'missing'}" for name, ok in have.items()]
    tested = report.get("self_test") or {}
    checks = [f"  {c['verdict']:>12}  {c['part']}: {c['detail']}" for c in tested.get("checks", [])]
    self_test = [f"Self-test:  {tested.get('mode', '')} test, {tested.get('when', '')}", *checks] if tested else []
    lines = [
        "",
        f"Terminal:   {terminal.get('name', '(not enrolled)')}",
        f"Where:      {terminal.get('location', '-')}",
        f"Facility:   {terminal.get('facility', '-')}  {terminal.get('housing_unit', '')}".rstrip(),
        f"Central:    {terminal.get('central_url', '-')}  (terminal {terminal.get('terminal_id', '-')})",
        f"Identity:   {', '.join(credentials)}",
        f"Software:   kiosk {report.get('version', '?')}",
        *(["", *steps] if with_steps else []),
        *(["", *self_test] if self_test else []),
        "",
        f"Result:     {report.get('result', '?')}  ({report.get('when', '')})",
    ]
    return "\n".join(lines)
