"""The terminal's disk fills up mid-visit, on the real stack (its state folder is a small tmpfs, filled for real):
the visit goes on, staff see the disk under the terminals that need attention, and no audit event is lost."""

from __future__ import annotations

import pytest

from tests.faults.drills import full_disk

pytestmark = [pytest.mark.faults, pytest.mark.e2e, pytest.mark.slow]


def test_a_full_disk_mid_visit_loses_no_event_and_staff_are_told(fault_stack):
    result = full_disk(fault_stack(state_size="1m"))
    print(result)
    assert result.outcome == "went on; staff told"
    assert result.detected_s < 10.0
    assert result.events_lost == 0
