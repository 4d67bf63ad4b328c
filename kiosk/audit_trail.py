"""Which audit events a step of the visit state machine makes: a pure function of the state before,
the event and the state after, so the rules are tested without a terminal.

Entries carry a visit id and what happened; never a resident's ID, name or PIN.
"""

from __future__ import annotations

from dataclasses import dataclass

from kiosk.visit_machine import CallStatusChanged, Event, RequestFailed, Screen, TechnicianPinChecked, TerminalState


@dataclass(frozen=True)
class AuditEntry:
    kind: str
    visit_id: int | None = None
    detail: tuple[tuple[str, str | int | float | bool], ...] = ()


def audit_entries(before: TerminalState, event: Event, after: TerminalState) -> list[AuditEntry]:
    entries: list[AuditEntry] = []
    if before.screen is Screen.IDENTIFY and after.screen is Screen.VISIT_LIST:
        entries.append(AuditEntry("signed_in"))
    if isinstance(event, RequestFailed) and before.screen is Screen.IDENTIFY and after.problem is not None:
        entries.append(AuditEntry("sign_in_refused", detail=(("problem", after.problem.value),)))
    if after.live is not None and before.live is None:
        # From the idle screen only after a restart: the visit was taken up again, not opened.
        kind = "visit_resumed" if before.screen is Screen.IDLE else "visit_opened"
        entries.append(AuditEntry(kind, after.live.visit_id))
    if isinstance(event, CallStatusChanged) and after.live is not None and before.call is not after.call:
        entries.append(AuditEntry("call_status", after.live.visit_id, (("status", event.status.value),)))
    if before.live is not None and after.screen is Screen.ENDED and after.ended is not None:
        detail = (("reason", after.ended.reason.value), ("duration_s", round(after.ended.duration_s, 1)))
        entries.append(AuditEntry("visit_ended", after.ended.visit_id, detail))
    unsigned = (Screen.OUT_OF_SERVICE, Screen.TECHNICIAN, Screen.TECHNICIAN_PIN)  # nobody signed in there
    if before.screen is not Screen.IDLE and after.screen is Screen.IDLE and before.screen not in unsigned:
        entries.append(AuditEntry("session_ended"))
    if after.screen is not before.screen and Screen.TECHNICIAN in (before.screen, after.screen):
        entries.append(AuditEntry("technician_mode" if after.screen is Screen.TECHNICIAN else "technician_mode_left"))
    if isinstance(event, TechnicianPinChecked) and not event.ok and before.busy:
        entries.append(AuditEntry("technician_pin_refused"))
    if after.out_of_service != before.out_of_service:
        if after.out_of_service:
            entries.append(AuditEntry("out_of_service", detail=(("missing", " ".join(after.out_of_service)),)))
        else:
            entries.append(AuditEntry("back_in_service"))
    return entries
