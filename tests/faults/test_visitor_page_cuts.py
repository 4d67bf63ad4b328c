"""Network cuts seen from the visitor page, in Chromium on the real stack: when the resident's link drops, the page
says "Reconnecting…" over the resident's picture within 2 s (never "Connected" over a frozen picture) and shows it
moving again within 2 s of the link's return; when the visitor's own link drops, the page says so, recovers as
fast, and central records that visitor's outage, while the terminal's call is untouched. A cut is not a thin link:
the resident's video keeps its bitrate through both."""

from __future__ import annotations

import pytest

from tests.browser import hook
from tests.faults.drills import start_visit, terminal_video_target, visitor_page_cut
from tests.waiting import wait_for

pytestmark = [pytest.mark.faults, pytest.mark.e2e, pytest.mark.browser, pytest.mark.slow]


def test_the_visitor_page_shows_each_sides_cut_and_comes_back(fault_stack, screens_folder):
    stack = fault_stack(simulated_visitor=False)
    page = stack.visitor_page()
    start_visit(stack)
    wait_for(lambda: hook(page, "framesReceived") > 60 and hook(page, "connectionText") == "Connected", 20, "video")
    video_before = terminal_video_target(stack)

    resident = visitor_page_cut(stack, page, "terminal", 5.0, screens_folder / "visitor-resident-reconnecting.png")
    print(resident)
    assert resident.detected_s < 2.0 and resident.recovered_s < 2.0
    assert float(hook(page, "mediaLostS")) == 0.0, "the resident's outage is not the visitor's"

    own = visitor_page_cut(stack, page, "visitor", 5.0, screens_folder / "visitor-own-link-reconnecting.png")
    print(own)
    assert own.detected_s < 2.0 and own.recovered_s < 2.0
    assert own.outcome == "went on; the terminal's call untouched"
    assert abs(own.lost_reported_s - own.lost_applied_s) <= 1.0
    after = terminal_video_target(stack)
    assert after >= video_before, f"the resident's video fell from {video_before} to {after} bit/s after two cuts"
