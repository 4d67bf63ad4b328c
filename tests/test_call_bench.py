"""A short run of the call bench's harness, so it cannot rot: the whole terminal in its own process, a real
Janus and central, a simulated visitor; every figure it reports is there and plausible."""

from __future__ import annotations

import math

import pytest

from bench.call_bench import markers, run_terminal, table, write_to_page

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.ui]


def test_a_short_bench_run_measures_every_figure(start_central, tmp_path):
    central = start_central()
    figures = run_terminal(central, tmp_path / "run", seconds=4, size=(640, 480))
    assert 0 < figures.cold_start_s < 10
    assert 0 < figures.setup_to_painted_s < 5 and 0 < figures.setup_to_visitor_s < 5
    for direction in (figures.to_terminal, figures.to_visitor):
        assert 0 < direction["median_ms"] <= direction["p95_ms"] < 500
        assert direction["fps"] > 10, "video flowed through the measured seconds"
        assert not math.isnan(direction["longest_gap_ms"])
    assert 1 < figures.cpu_percent < 200 and 50 < figures.peak_rss_mib < 2000
    text = table([figures], 4, (640, 480))
    assert "lift to first visitor frame painted" in text and "terminal process CPU" in text


def test_the_table_replaces_only_its_own_part_of_the_page(tmp_path):
    page = tmp_path / "performance.md"
    page.write_text("# Performance\n\nearlier figures\n")
    write_to_page("| first |", "./dev.sh bench", "640x480", page)
    write_to_page("| large |", "./dev.sh bench --size 1280x720", "1280x720", page)
    write_to_page("| second |", "./dev.sh bench --runs 5", "640x480", page)
    text = page.read_text()
    assert text.startswith("# Performance\n\nearlier figures\n")
    assert "| second |" in text and "| first |" not in text and "--runs 5" in text
    assert "| large |" in text, "each camera size keeps its own table"
    for begin, end in (markers("640x480"), markers("1280x720")):
        assert text.count(begin) == 1 and text.count(end) == 1
