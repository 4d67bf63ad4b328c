"""A lossy link mid-visit, on the real stack: the in-visit chip says "weak" when the terminal's link loses a little,
"poor" when it loses a lot and "good" again when it is clean, and the visit's quality report reaches central with the
loss it saw."""

from __future__ import annotations

import pytest

from tests.faults.drills import lossy_link

pytestmark = [pytest.mark.faults, pytest.mark.e2e, pytest.mark.slow]


def test_the_chip_follows_the_links_loss_and_central_gets_the_visits_quality(fault_stack):
    result = lossy_link(fault_stack())
    print(result)
    assert result.outcome == "chip said weak, poor, good"
    loss = float(result.detail.split("freezes, ")[1].split("% loss")[0])
    assert loss > 1.0, "the report carries the loss the link made"
    assert result.events_lost == 0
