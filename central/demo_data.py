"""The demo data set: one facility's terminal, a resident, visitors, a visit ready now and one later,
and the idle screen's notices.

Secrets it creates (the terminal's token, the staff token, the visitor's code) go to 0600 files.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from central.secrets_store import write_secret_file
from central.store import Store
from kiosk.protocol import CalloutPrivacy, FacilitySettings, Notice

DEMO_RESIDENT_ID = "1001"
DEMO_RESIDENT_PIN = "2468"  # demo data only; documented in the README so a person can log in
FACILITY = "Harbor County Detention Center"
HOUSING_UNIT = "Unit B North"
DEMO_OFFICER = "officer.reyes"
DEMO_SETTINGS = FacilitySettings(
    notices=[
        Notice(
            title="Report sexual abuse or harassment",
            body="Call the hotline: dial 7233 from any unit phone. Calls are free and confidential.",
        ),
        Notice(
            title="Visits are recorded",
            body="Visits may be recorded and watched by staff, except visits with your attorney or clergy.",
        ),
    ],
    callout_privacy=CalloutPrivacy.INITIALS,
)


@dataclass(frozen=True)
class DemoSecrets:
    terminal_token_file: Path
    staff_token_file: Path
    visitor_code_file: Path
    officer_password_file: Path
    ready_visit_id: int
    later_visit_id: int


def seed(store: Store, folder: Path, visit_seconds: float, now: float | None = None) -> DemoSecrets:
    now = time.time() if now is None else now
    _, terminal_token = store.add_terminal("B North terminal 1", f"{FACILITY}, {HOUSING_UNIT}", HOUSING_UNIT)
    store.add_resident(DEMO_RESIDENT_ID, "Daniel", DEMO_RESIDENT_PIN, HOUSING_UNIT)
    store.save_facility_settings(DEMO_SETTINGS)
    maria = store.add_visitor("Maria")
    rosa = store.add_visitor("Rosa")
    code = secrets.token_hex(8)
    ready = store.add_visit(DEMO_RESIDENT_ID, now - 60, now + visit_seconds, {maria: code}, place_unit=HOUSING_UNIT)
    later = store.add_visit(DEMO_RESIDENT_ID, now + 3 * 3600, now + 3 * 3600 + 1800, {rosa: secrets.token_hex(8)})
    found = DemoSecrets(
        terminal_token_file=folder / "terminal-token",
        staff_token_file=folder / "staff-token",
        visitor_code_file=folder / "visitor-code",
        officer_password_file=folder / "officer-password",
        ready_visit_id=ready,
        later_visit_id=later,
    )
    write_secret_file(found.terminal_token_file, terminal_token)
    write_secret_file(found.staff_token_file, secrets.token_urlsafe(32))
    write_secret_file(found.visitor_code_file, code)
    officer_password = secrets.token_urlsafe(12)
    store.add_officer(DEMO_OFFICER, "Officer Reyes", officer_password)
    write_secret_file(found.officer_password_file, officer_password)
    return found
