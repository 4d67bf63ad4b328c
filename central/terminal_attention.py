"""What staff must know about a terminal that cannot take visits as it should, in sentences for the officers'
page: a terminal central has stopped hearing from, and a part (the camera, the handset, its hook switch, the
touchscreen, its disk, or the terminal's software itself) that its last heartbeat reported as not working. A
terminal that is fine needs no sentence; a retired one is gone and needs none either.
"""

from __future__ import annotations

from typing import Any

from kiosk.protocol import SOFTWARE_PART, STORAGE_PART

SILENT_AFTER_S = 120.0  # four missed heartbeats: a terminal sends one every 30 s
_NAMES = {"hook": "handset's hook switch"}  # a part's name for staff, where its key is not that already


def _ago(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes} minutes"
    hours = minutes // 60
    return "1 hour" if hours == 1 else f"{hours} hours"


def attention(terminal: dict[str, Any], now: float) -> list[str]:
    """The sentences for one terminal row (`Store.terminals()`), most serious first; empty when all is well."""
    if terminal.get("retired_at") is not None:
        return []
    last_seen = terminal.get("last_seen")
    if last_seen is None:
        return ["Central has never heard from it. It may not be switched on or connected yet."]
    health: dict[str, str] = terminal.get("health") or {}
    sentences = []
    if health.get(SOFTWARE_PART, "ok") != "ok":
        # Said once, when the out-of-service screen came up; it holds until the kiosk's own heartbeat returns.
        sentences.append(
            "Its software keeps failing, so it shows “out of service”. It tries again by itself every 15 minutes; "
            "if it stays like this, call a technician."
        )
    if now - last_seen > SILENT_AFTER_S:
        silent = _ago(now - last_seen)
        sentences.append(f"Central has not heard from it for {silent}. It may be off or cut off from the network.")
        return sentences  # what its devices last said is out of date
    for part, state in sorted(health.items()):
        if part == SOFTWARE_PART or state == "ok":
            continue
        if part == STORAGE_PART:
            sentences.append(
                "Its disk is full or failing. Visits go on and its records still reach central; "
                "call a technician to free space."
            )
            continue
        name = _NAMES.get(part, part)
        how = "is not working well" if state == "degraded" else "is not working"
        sentences.append(f"The {name} {how}.")
    return sentences
