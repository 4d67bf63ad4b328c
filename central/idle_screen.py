"""What a terminal's idle screen shows: the facility's notices, and call-outs for the visits ready at that
terminal that name the resident no more than the facility's privacy level allows.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from central.store import Store, Visit
from central.visits import Visits
from kiosk.protocol import CalloutPrivacy, IdleInfo, VisitCallout

ID_TAIL_DIGITS = 3


def _capital(letter: str) -> str:
    upper = letter.upper()
    return upper if len(upper) == 1 else letter  # "ß" stays one letter


def initials(name: str) -> str:
    """The first letters of a name's first and last words ("Juan Carlos Ramirez" is "J. R."), never more."""
    words = [word for word in (w.strip(".,'-()") for w in name.split()) if word and word[0].isalpha()]
    if not words:
        return ""
    letters = [words[0][0]] if len(words) == 1 else [words[0][0], words[-1][0]]
    return " ".join(f"{_capital(letter)}." for letter in letters)


def id_tail(number: str) -> str:
    """The last digits of a resident ID, always fewer than the whole ID (so a short ID is never shown whole)."""
    keep = min(ID_TAIL_DIGITS, len(number) - 1)
    return number[len(number) - keep :] if keep > 0 else ""


def _callout(store: Store, visit: Visit, privacy: CalloutPrivacy) -> VisitCallout:
    starts_at = datetime.fromtimestamp(visit.starts_at, tz=UTC)
    if privacy is CalloutPrivacy.BOOKING_NUMBER_TAIL:
        return VisitCallout(starts_at=starts_at, booking_number_tail=id_tail(visit.resident))
    resident = store.resident(visit.resident)
    return VisitCallout(starts_at=starts_at, initials=initials(resident.display_name) if resident else "")


def idle_info(store: Store, visits: Visits, terminal_id: int, now: float | None = None) -> IdleInfo:
    now = time.time() if now is None else now
    settings = store.facility_settings()
    privacy = settings.callout_privacy
    ready = [] if privacy is CalloutPrivacy.NONE else visits.ready_at(terminal_id, now)
    return IdleInfo(
        notices=settings.notices,
        callout_privacy=privacy,
        callouts=[_callout(store, visit, privacy) for visit in ready],
    )
