"""Short runs of the call bench's harness, so it cannot rot: the whole terminal in its own process, and
headless Chromium in its place, each in a visit through a real Janus and central with a simulated visitor,
their sound through real PulseAudio; every figure is there and plausible, and the table sets them side by
side. The tone bursts' onsets and their pairing are checked on their own."""

from __future__ import annotations

import math

import pytest

from bench.bench_stack import BenchStack
from bench.browser_terminal import capture_to_decoded, run_browser
from bench.call_bench import markers, run_series, run_terminal, series_text, table, write_to_page
from bench.call_figures import Direction, RunFigures, report_freezes, window
from drivers.frame_stamp import FrameStamp, StampLog, now_ms, write_stamp
from drivers.simulated_camera import SimulatedCamera

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.audio]


def _plausible(figures: RunFigures) -> None:
    assert 0 < figures.cold_start_s < 15
    assert 0 < figures.setup_to_painted_s < 10 and 0 < figures.setup_to_visitor_s < 10
    for direction in (figures.to_subject, figures.to_visitor):
        # Plausible, not fast (the bench measures speed): a frame matched to the wrong capture is seconds off, while
        # the first of 4 s on a loaded machine have reached 525 ms.
        assert 0 < direction["median_ms"] <= direction["p95_ms"] < 1000, "capture to decoded, from the stamps"
        assert direction["fps"] > 10, "video flowed through the measured seconds"
        assert not math.isnan(direction["longest_gap_ms"])
    for sound in (figures.audio_to_subject, figures.audio_to_visitor):
        assert sound["bursts"] >= 2, "a tone burst a second, heard through the measured seconds"
        assert 0 < sound["median_ms"] <= sound["p95_ms"] < 400, "mouth to ear, from the bursts' onsets"
    assert 1 < figures.cpu_percent < 400 and 50 < figures.peak_pss_mib < 4000


@pytest.mark.ui
def test_a_short_run_of_the_terminal_measures_every_figure(start_central, pulse, tmp_path):
    figures = run_terminal(BenchStack(start_central()), pulse, tmp_path / "run", seconds=4, size=(640, 480))
    _plausible(figures)
    assert 50 < figures.peak_rss_mib < 2000
    text = table([figures], [], 4, (640, 480))
    assert "set-up to the visitor's first frame shown" in text and "CPU, all its processes" in text


@pytest.mark.ui
def test_consecutive_visits_in_one_terminal_process_report_its_memory_after_each(start_central, pulse, tmp_path):
    rss_mib = run_series(BenchStack(start_central()), tmp_path / "series", visits=2, size=(640, 480))
    assert len(rss_mib) == 2 and all(50 < value < 2000 for value in rss_mib)
    assert "after visit 2" in series_text(rss_mib)


@pytest.mark.browser
def test_a_short_run_of_the_browser_in_the_terminals_place_measures_the_same_figures(start_central, pulse, tmp_path):
    stack = BenchStack(start_central())
    figures = run_browser(stack, pulse, tmp_path / "browser", seconds=4)
    _plausible(figures)
    assert math.isnan(figures.peak_rss_mib), "no one process to speak of"
    terminal = run_terminal(stack, pulse, tmp_path / "terminal", seconds=4, size=(640, 480))
    row = next(line for line in table([terminal], [figures], 4, (640, 480)).splitlines() if "CPU" in line)
    ratio = float(row.split("|")[4])
    assert ratio == pytest.approx(terminal.cpu_percent / figures.cpu_percent, abs=0.006)  # shown to 2 places


def test_the_table_replaces_only_its_own_part_of_the_page(tmp_path):
    page = tmp_path / "performance.md"
    page.write_text("# Performance\n\nearlier figures\n")
    write_to_page("| first |", "./dev.sh bench", "640x480", "The call bench, 640x480", page)
    write_to_page("| large |", "./dev.sh bench --size 1280x720", "1280x720", "The call bench, 1280x720", page)
    write_to_page("| second |", "./dev.sh bench --runs 5", "640x480", "The call bench, 640x480", page)
    text = page.read_text()
    assert text.startswith("# Performance\n\nearlier figures\n")
    assert "| second |" in text and "| first |" not in text and "--runs 5" in text
    assert "| large |" in text and text.count("## The call bench, 640x480") == 1, "each size keeps its own table"
    for begin, end in (markers("640x480"), markers("1280x720")):
        assert text.count(begin) == 1 and text.count(end) == 1


def test_a_browser_frame_is_matched_to_its_own_capture_not_to_one_a_loop_of_the_file_earlier():
    captured = [[5, 1000.0, 1], [5, 6000.0, 1], [6, 6033.0, 1]]  # counter 5 captured twice, the file looped
    assert capture_to_decoded(captured, [5, 6, 7], [6.012, 6.050, 6.080]) == [12, 17, -1]
    assert capture_to_decoded(captured, [5], [12.0]) == [-1], "its capture was not seen: unknown, not 6 s"
    assert Direction([12, -1, 17], [1.0, 1.1, 1.2], [1.0, 1.1, 1.2]).figures(1.0)["median_ms"] == 14.5, "unknowns out"


def test_frames_whose_stamp_the_codec_blurred_still_count_for_the_frame_rate_not_for_latency():
    log = StampLog()
    stamped = SimulatedCamera().render(0)
    write_stamp(stamped, FrameStamp(7, now_ms()))
    for image in (stamped, SimulatedCamera().render(1), stamped):  # the middle one carries no stamp
        log.record(image)
    assert len(log.counters) == 2 and log.unreadable == 1 and len(log.decoded_s) == 3
    figures = window(log.latencies_ms, log.arrivals_s, log.decoded_s, 0, log.decoded_s[-1] + 1).figures(1.0)
    assert figures["fps"] == 3 and 0 <= figures["median_ms"] < 100


def test_each_freeze_is_reported_with_when_it_came_and_how_long_it_lasted(capsys):
    arrivals = [100.0, 100.033, 100.5, 100.533, 101.2, 101.233]  # two gaps over 200 ms, of 467 and 667 ms
    direction = Direction([], [], arrivals)
    assert direction.figures(1.3)["freezes"] == 2
    report_freezes("terminal", {"visitor → subject": direction}, start=99.9)
    assert capsys.readouterr().out.splitlines() == [
        "terminal run: visitor → subject froze 0.13 s in, for 467 ms",
        "terminal run: visitor → subject froze 0.63 s in, for 667 ms",
    ]
