"""What `kiosk-provision setup` must be told: central's address, the enrollment code, the terminal's name and
location, and (when central's certificate comes from the facility's own CA) that CA.

Answers come from flags, from an answers file (TOML, for unattended installs) or from the technician at the
keyboard; each is checked the moment it is given, and a wrong one is asked again (or, unattended, refused
before anything changes).
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path

from kiosk.config import central_url_problem
from kiosk.protocol import ENROLLMENT_CODE_ALPHABET, ENROLLMENT_CODE_LENGTH, normalise_enrollment_code

MAX_TEXT = 200


class AnswersError(Exception):
    """An answer that cannot be used, in a sentence naming it."""


@dataclass(frozen=True)
class Answers:
    central_url: str
    enrollment_code: str
    name: str
    location: str
    ca_file: Path | None = None  # the facility CA (PEM) that signs central's certificate; None: the system's CAs
    devices: str = "detect"  # or "simulated": a training terminal without the hardware
    touchscreen_rotation: int = 0  # degrees clockwise the panel is mounted turned


def _code_problem(code: str) -> str | None:
    typed = normalise_enrollment_code(code)
    if len(typed) != ENROLLMENT_CODE_LENGTH or any(c not in ENROLLMENT_CODE_ALPHABET for c in typed):
        return f"must be the {ENROLLMENT_CODE_LENGTH}-character code from the facility's admin, like K7QM-9XTD-3HPA"
    return None


def _text_problem(text: str) -> str | None:
    if not text.strip():
        return "must not be empty"
    if len(text) > MAX_TEXT or any(ord(c) < 32 or ord(c) == 127 for c in text) or text != text.strip():
        return f"must be one line of at most {MAX_TEXT} characters, without spaces at either end"
    return None


def _ca_problem(path: str) -> str | None:
    if not path:
        return None  # none: central's certificate is trusted by the system's CAs
    try:
        text = Path(path).read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError):
        return f"cannot read {path}"
    return None if "-----BEGIN CERTIFICATE-----" in text else f"{path} holds no PEM certificate"


def _devices_problem(choice: str) -> str | None:
    return None if choice in ("detect", "simulated") else "must be detect or simulated"


def _rotation_problem(degrees: str) -> str | None:
    return None if degrees in ("0", "90", "180", "270") else "must be 0, 90, 180 or 270 (degrees clockwise)"


PROBLEMS: dict[str, Callable[[str], str | None]] = {
    "central_url": lambda url: central_url_problem(url.strip()),
    "enrollment_code": _code_problem,
    "name": _text_problem,
    "location": _text_problem,
    "ca_file": _ca_problem,
    "devices": _devices_problem,
    "touchscreen_rotation": _rotation_problem,
}
NOT_ASKED = ("devices", "touchscreen_rotation")  # at the keyboard, taken as their default unless given
QUESTIONS = {
    "central_url": "Central's address (https://…)",
    "enrollment_code": "Enrollment code from the facility's admin",
    "name": "This terminal's name (as staff will see it)",
    "location": "Where it stands (building, unit, room)",
    "ca_file": "The facility CA file (PEM), or Enter for the system's CAs",
    "devices": "Devices: detect, or simulated for a training terminal",
    "touchscreen_rotation": "How far the touchscreen is turned, clockwise: 0, 90, 180 or 270",
}


def read_answers_file(path: Path) -> dict[str, str]:
    """The answers in a TOML file: keys as in `Answers`, all strings."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise AnswersError(f"cannot read the answers file {path}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise AnswersError(f"the answers file {path} is not valid TOML: {exc}") from exc
    unknown = sorted(set(raw) - set(PROBLEMS))
    if unknown:
        raise AnswersError(f"the answers file {path} has unknown keys: {', '.join(unknown)}")
    if any(not isinstance(value, str) for value in raw.values()):
        raise AnswersError(f"every answer in {path} must be a string in quotes")
    return dict(raw)


def gather(given: dict[str, str], ask: Callable[[str], str] | None) -> Answers:
    """The answers from `given`, asking (with `ask`) for each one missing or wrong; without `ask`, a missing or
    wrong answer is an AnswersError naming it."""
    found: dict[str, str] = {}
    for field in fields(Answers):
        value = given.get(field.name, str(field.default) if field.name in NOT_ASKED else None)
        problem = None if value is None else PROBLEMS[field.name](value)
        while value is None or problem:
            if ask is None:
                if value is None and field.name == "ca_file":
                    break
                raise AnswersError(f"{field.name}: {problem or 'missing'}")
            if problem:
                print(f"  {QUESTIONS[field.name]}: {problem}")
            value = ask(f"{QUESTIONS[field.name]}: ").strip()
            problem = PROBLEMS[field.name](value)
        if value:
            found[field.name] = value.strip()
    return Answers(
        central_url=found["central_url"].rstrip("/"),
        enrollment_code=normalise_enrollment_code(found["enrollment_code"]),
        name=found["name"],
        location=found["location"],
        ca_file=Path(found["ca_file"]).resolve() if found.get("ca_file") else None,
        devices=found["devices"],
        touchscreen_rotation=int(found["touchscreen_rotation"]),
    )
