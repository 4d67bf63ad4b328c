"""What the officers' page says about a terminal (central.terminal_attention): nothing when all is well, and a
plain sentence for a terminal central stopped hearing from, a failing program or a part that does not work."""

from __future__ import annotations

from typing import Any

from central.terminal_attention import SILENT_AFTER_S, attention

NOW = 1_800_000_000.0


def terminal(last_seen: float | None = NOW - 10, **health: str) -> dict[str, Any]:
    return {"name": "B North 7", "last_seen": last_seen, "health": health, "retired_at": None}


def test_a_terminal_that_is_fine_needs_no_sentence():
    assert attention(terminal(camera="ok", handset="ok", hook="ok"), NOW) == []


def test_a_silent_terminal_says_for_how_long_and_forgets_its_devices_old_news():
    said = attention(terminal(last_seen=NOW - SILENT_AFTER_S - 60, handset="missing"), NOW)
    assert said == ["Central has not heard from it for 3 minutes. It may be off or cut off from the network."]
    hours = attention(terminal(last_seen=NOW - 2 * 3600 - 5), NOW)
    assert hours[0].startswith("Central has not heard from it for 2 hours.")
    assert attention(terminal(last_seen=None), NOW)[0].startswith("Central has never heard from it.")


def test_failing_software_comes_first_and_stays_while_the_terminal_is_silent():
    failing = terminal(last_seen=NOW - 5, software="lost")
    assert attention(failing, NOW) == [
        "Its software keeps failing, so it shows “out of service”. It tries again by itself every 15 minutes; "
        "if it stays like this, call a technician."
    ]
    later = attention(terminal(last_seen=NOW - 600, software="lost"), NOW)
    assert len(later) == 2 and later[0].startswith("Its software keeps failing")
    assert later[1].startswith("Central has not heard from it for 10 minutes.")


def test_each_part_that_does_not_work_is_named_in_plain_words():
    said = attention(terminal(camera="degraded", handset="ok", hook="missing", touchscreen="lost"), NOW)
    assert said == [
        "The camera is not working well.",
        "The handset's hook switch is not working.",
        "The touchscreen is not working.",
    ]


def test_a_retired_terminal_needs_nothing():
    retired = {**terminal(last_seen=None), "retired_at": NOW - 100}
    assert attention(retired, NOW) == []
