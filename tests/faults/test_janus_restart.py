"""Janus restarts mid-visit, on the real stack: central makes the visit's room anew, the terminal and the visitor
rejoin it within 10 s, the recording goes on in new files of the same visit, and nobody is told the visit ended."""

from __future__ import annotations

import pytest

from tests.faults.drills import janus_restart

pytestmark = [pytest.mark.faults, pytest.mark.e2e, pytest.mark.slow]


def test_a_janus_restart_is_rejoined_within_ten_seconds_and_the_visit_goes_on(fault_stack):
    result = janus_restart(fault_stack())
    print(result)
    assert result.recovered_s < 10.0
    assert result.outcome == "went on, recording in new files"
    assert result.events_lost == 0
