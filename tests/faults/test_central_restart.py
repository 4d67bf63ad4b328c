"""Central goes away for a minute mid-visit and comes back, on the real stack: the call goes on and the screen does
not change, a staff end sent after central's return reaches the terminal within 2 s, and every audit event the
terminal made meanwhile reaches central exactly once."""

from __future__ import annotations

import pytest

from tests.faults.drills import central_away

pytestmark = [pytest.mark.faults, pytest.mark.e2e, pytest.mark.slow]


def test_central_away_for_a_minute_changes_nothing_on_screen_and_loses_nothing(fault_stack):
    result = central_away(fault_stack(), 60.0)
    print(result)
    assert result.outcome.startswith("screen unchanged"), result.outcome
    fps = float(result.outcome.split("video ")[1].split(" fps")[0])
    assert fps > 20, "the visitor's video went on while central was away"
    assert result.recovered_s < 2.0, "the staff end reaches the terminal within 2 s of central's return"
    assert result.events_lost == 0
