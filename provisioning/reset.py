"""`kiosk-provision reset`: the factory reset. The kiosk is stopped and disabled, the terminal leaves central
(after handing over the audit events it still holds), then its identity, configuration and local state are
wiped, so the next `kiosk-provision setup` starts from a freshly imaged terminal. The kiosk user and the OS stay.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable

from drivers.touchscreen import RULES_PATH as TOUCHSCREEN_RULES
from kiosk.audit_journal import AuditJournal
from kiosk.central_client import CentralError
from kiosk.protocol import AuditBatch
from provisioning.services import ServiceError, manager_running, start_setup_screen, stop_and_disable
from provisioning.steps import Identity, enrolled_client
from provisioning.target import CONFIG, FACILITY_CA, KEY, STATE, TOKEN, Target
from provisioning.udev_rules import PERMISSIONS_RULES

CONFIRMATION = "RESET"
WIPED_FILES = (CONFIG, TOKEN, KEY, FACILITY_CA, PERMISSIONS_RULES, TOUCHSCREEN_RULES)


class ResetRefused(Exception):
    """Why nothing was wiped, in a sentence saying what to do."""


def _leave_central(target: Target, identity: Identity) -> int:
    """Hands central the audit events not sent yet, then leaves it; the number of events handed over."""
    client = enrolled_client(target, identity, None)
    journal = AuditJournal(target.path(STATE) / "audit")
    sent = 0
    try:
        while True:
            events, count = journal.pending()
            if not events:
                break
            client.upload_audit(AuditBatch(events=events))
            journal.mark_uploaded(count)
            sent += len(events)
        client.leave()
    except CentralError as exc:
        raise ResetRefused(
            f"central did not answer ({exc}): nothing was wiped. Check the network and try again, or use "
            "--offline (the audit events not sent yet are then lost, and the admin must retire the terminal)"
        ) from None
    return sent


def reset(target: Target, offline: bool, show: Callable[[str], None]) -> None:
    # First, so that no audit event is written after the hand-over, and the kiosk does not start again
    # without an identity.
    try:
        if stopped := stop_and_disable(target):
            show(f"{'stopped and ' if manager_running(target) else ''}disabled {', '.join(stopped)}")
    except ServiceError as exc:
        raise ResetRefused(f"the kiosk could not be stopped ({exc}): nothing was wiped") from None
    identity = Identity.read(target)
    if identity is not None and not offline:
        sent = _leave_central(target, identity)
        events = f"{sent} audit event{'' if sent == 1 else 's'}"
        show(f"left central as terminal {identity.terminal_id}, after handing over {events} it still held")
    elif identity is not None:
        show(f"central was not told: ask the admin to retire terminal {identity.terminal_id}")
    for absolute in WIPED_FILES:
        path = target.path(absolute)
        if path.exists():
            path.unlink()
            show(f"removed {absolute}")
    state = target.path(STATE)
    if state.exists():
        for entry in sorted(state.iterdir()):
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
        show(f"emptied {STATE}")
    try:
        if start_setup_screen(target):
            show("tty1 offers the set-up again")
    except ServiceError as exc:
        show(f"the set-up screen did not start ({exc}): it comes with the next boot")
