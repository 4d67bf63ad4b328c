"""Network cuts of the terminal's link mid-visit, on the real stack: the terminal says "Reconnecting…" within 2 s,
its media is back within 2 s of the link's return with one rebuild at most, the visit's clock is untouched, and
the media lost that central records is the real outage."""

from __future__ import annotations

import pytest

from tests.faults.drills import terminal_link_cut

pytestmark = [pytest.mark.faults, pytest.mark.e2e, pytest.mark.slow]


@pytest.mark.parametrize("cut_s", [3, 10, 20, 60])
def test_a_cut_of_the_terminals_link_is_shown_at_once_and_survived(fault_stack, cut_s):
    result = terminal_link_cut(fault_stack(), cut_s)
    print(result)
    assert result.detected_s < 2.0, "Reconnecting… must show within 2 s of the cut"
    assert result.recovered_s < 2.0, "media must be back within 2 s of the link"
    assert result.rebuilds <= 1
    assert result.outcome == "went on, clock untouched"
    assert abs(result.lost_reported_s - result.lost_applied_s) <= 1.0
    assert result.events_lost == 0
