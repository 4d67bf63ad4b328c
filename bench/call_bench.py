"""The call bench: a real visit on this machine, terminal ↔ Janus ↔ a simulated visitor, measured beside a
browser doing the terminal's job in the same kind of visit (`bench.browser_terminal`).

    ./dev.sh bench [--seconds 60] [--runs 3] [--size 640x480] [--no-browser] [--visits N] [--link PROFILE] [--write]

Each run adds a visit to central, starts the whole terminal in its own process (`bench.terminal_under_test`)
and the visitor in this one; then the same with headless Chromium on the visitor page in the terminal's place.
The two alternate, run after run. For each it measures:
  - cold start: the terminal's process start to its idle screen; the browser's launch to the page loaded;
  - set-up: from lifting the handset (the browser: opening the page) to the visitor's first frame shown, and
    to the subject's first frame decoded at the visitor;
  - capture to decoded frame, both ways, from the frame stamps (median and 95th percentile);
  - frames per second and freezes (gaps over 200 ms) both ways, counting every frame decoded;
  - mouth to ear both ways, from tone bursts through PulseAudio's null devices (`bench.tone_bursts`);
  - CPU (user + system of every process and thread, in % of one core) and memory (PSS of every process).
It prints one table of medians over the runs with the ratio terminal/browser; `--write` also puts it into
docs/performance.md. The browser runs at 640x480 only (the visitor page asks its camera for that).

`--link PROFILE` runs every visit on a bad link (`tests.faults.link_profiles`): the fault harness's stack, with
Janus, central, the subject and the visitor (this process) each in a network namespace of its own, and the
profile applied to the subject's link (or the visitor's). It adds how the call came through: tone bursts heard
whole, freezes in total, and the bitrate each side sent.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from bench.bench_stack import BenchStack, add_visit, retire_visit, start_link_stack, start_stack
from bench.browser_terminal import run_browser
from bench.call_figures import RunFigures, kbps, report_freezes, sound_figures, window
from bench.handset_rig import HandsetRig
from bench.process_meter import ProcessMeter, descendants
from bench.tone_bursts import BurstEar, BurstMicrophone
from central.demo import write_kiosk_config
from central.simulated_visitor import SimulatedVisitor
from tests.faults.link_profiles import PROFILES
from tests.pulse_server import PulseServer

PERFORMANCE_PAGE = Path(__file__).resolve().parent.parent / "docs" / "performance.md"
BROWSER_SIZE = (640, 480)
CHIME_HEARD_S = 0.4  # past the chimes' player's end: a burst is found only after 0.3 s of quiet in the earpiece
SETUP_ALLOWANCE_S = 60  # the tone bursts start before the call, and go on until it has been measured


class TerminalUnderTest:
    """The terminal's process (`bench.terminal_under_test`), told which visits to make, one at a time."""

    def __init__(
        self,
        stack: BenchStack,
        folder: Path,
        seconds: float,
        size: tuple[int, int],
        noise_suppression: bool = True,
    ) -> None:
        """Its handset's sound goes through PortAudio to the PulseAudio server of this process's environment."""
        devices = f"camera_width = {size[0]}\ncamera_height = {size[1]}\ncamera_fps = 30\n"
        devices += 'handset = "real"\nhandset_audio = "pulse"\n'
        devices += f"noise_suppression = {str(noise_suppression).lower()}"
        config = write_kiosk_config(folder, stack.central, devices, stack.ca_file)
        command = [*stack.subject_prefix, sys.executable, "-m", "bench.terminal_under_test", "--config", str(config)]
        self._stack = stack
        self.sent: dict[str, tuple[int, int] | None] = {}  # the bytes sent, read at "measuring" and "measured"
        self.log_path = folder / "terminal.log"
        self.spawned = time.time()
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [*command, "--seconds", str(seconds)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
                text=True,
            )
        self.meter = ProcessMeter(self._pids)
        self.idle_at = self._until("idle")["idle"]["wall"]

    def _pids(self) -> list[int]:
        return [self.process.pid, *descendants(self.process.pid)]

    def _until(self, last: str) -> dict[str, dict]:
        """Its reports up to the one named `last`, by name; measures CPU and memory while it measures."""
        assert self.process.stdout is not None
        events: dict[str, dict] = {}
        for line in self.process.stdout:
            event = json.loads(line)
            events[event["event"]] = event
            if event["event"] == "measuring":
                self.sent["measuring"] = self._stack.bytes_sent()
                self.meter = ProcessMeter(self._pids)
                self.meter.start()
            elif event["event"] == "measured":
                self.meter.stop()
                self.sent["measured"] = self._stack.bytes_sent()
            if event["event"] == last:
                return events
        raise RuntimeError(f"the terminal under test ended early: see {self.log_path}")

    def visit(self, visit_id: int) -> dict[str, dict]:
        assert self.process.stdin is not None
        self.process.stdin.write(f"{visit_id}\n")
        self.process.stdin.flush()
        return self._until("visit_done")

    def stop(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        finally:
            if self.process.poll() is None:
                self.process.kill()


def run_terminal(
    stack: BenchStack, pulse: PulseServer, folder: Path, seconds: float, size: tuple[int, int]
) -> RunFigures:
    """One visit of the terminal under test with a simulated visitor; its logs go to `folder`. Its handset is
    `pulse`'s fake microphone and speaker, where the bench's tone bursts are played and heard."""
    folder.mkdir(parents=True)
    visit_id, codes = add_visit(stack.central, seconds + 120, ["Maria"])
    mouth, ear = BurstMicrophone(), BurstEar()
    visitor = SimulatedVisitor(stack.central.url, codes["Maria"], size=size, voice=(mouth, ear))
    visitor.start()
    terminal = TerminalUnderTest(stack, folder, seconds, size)
    rig = HandsetRig(pulse, seconds + SETUP_ALLOWANCE_S)
    try:
        events = terminal.visit(visit_id)
    finally:
        rig.stop()
        terminal.stop()
        visitor.stop()
    measured = events["measured"]
    if not events["first_painted"]["shown"]:
        print("terminal run: no picture of the visitor within 30 s", flush=True)
    if playout := measured["playout"]:
        print(
            f"terminal run: its earpiece held {playout['buffered_ms']:.0f} ms for a target of "
            f"{playout['target_ms']:.0f} ms, with {playout['underruns']} underruns ({playout['concealed_ms']:.0f} ms "
            f"carried on), {playout['cuts']} cuts and {playout['shortened_ms']:.0f} ms taken out a period at a time",
            flush=True,
        )
    start, end = events["measuring"]["wall"], events["measured"]["wall"]
    heard_from = events["chimes_played"]["wall"] + CHIME_HEARD_S  # the visit's chimes masked the bursts until then
    received = visitor.received
    first_at_visitor = next((at for at in received.decoded_s if at >= events["lifted"]["wall"]), float("nan"))
    to_subject = window(measured["latencies_ms"], measured["arrivals_s"], measured["decoded_s"], start, end)
    to_visitor = window(received.latencies_ms, received.arrivals_s, received.decoded_s, start, end)
    report_freezes("terminal", {"visitor → subject": to_subject, "subject → visitor": to_visitor}, start)
    subject_kbps, visitor_kbps = kbps(terminal.sent["measured"], terminal.sent["measuring"], end - start)
    return RunFigures(
        cold_start_s=terminal.idle_at - terminal.spawned,
        setup_to_painted_s=events["first_painted"]["wall"] - events["lifted"]["wall"]
        if events["first_painted"]["shown"]
        else math.nan,
        setup_to_visitor_s=first_at_visitor - events["lifted"]["wall"],
        to_subject=to_subject.figures(end - start),
        to_visitor=to_visitor.figures(end - start),
        audio_to_subject=sound_figures(mouth.spoken_s, rig.ear.bursts, heard_from, end),
        audio_to_visitor=sound_figures(rig.mouth.onsets_s, ear.bursts, start, end),
        cpu_percent=100 * terminal.meter.cpu_s / (end - start),
        peak_pss_mib=terminal.meter.peak_pss_mib,
        peak_rss_mib=measured["peak_rss_kib"] / 1024,
        subject_sent_kbps=subject_kbps,
        visitor_sent_kbps=visitor_kbps,
    )


def run_series(stack: BenchStack, folder: Path, visits: int, size: tuple[int, int]) -> list[float]:
    """`visits` short visits (2 s of call each) in one terminal process; its RSS in MiB after each, read at the
    idle screen once the call has wound down. Each visit leaves the resident's list once done."""
    folder.mkdir(parents=True)
    terminal = TerminalUnderTest(stack, folder, 2.0, size)
    rss_mib = []
    try:
        for _ in range(visits):
            visit_id, codes = add_visit(stack.central, 600, ["Maria"])
            visitor = SimulatedVisitor(stack.central.url, codes["Maria"], size=size)
            visitor.start()
            try:
                rss_mib.append(terminal.visit(visit_id)["visit_done"]["rss_kib"] / 1024)
            finally:
                visitor.stop()
            retire_visit(stack.central, visit_id)
    finally:
        terminal.stop()
    return rss_mib


def series_text(rss_mib: list[float]) -> str:
    first = min(5, len(rss_mib))
    return (
        f"{len(rss_mib)} consecutive visits in one terminal process (2 s of call each; RSS read at the idle screen "
        f"once the call has wound down): RSS after visit {first} "
        f"{rss_mib[first - 1]:.0f} MiB, after visit {len(rss_mib)} {rss_mib[-1]:.0f} MiB, "
        f"growth {rss_mib[-1] - rss_mib[first - 1]:.1f} MiB\n\nRSS after each visit (MiB): "
        + ", ".join(f"{value:.0f}" for value in rss_mib)
    )


Row = tuple[str, str, Callable[[RunFigures], float], int]


def _both_ways(name: str, unit: str, key: str, digits: int, sound: bool = False) -> list[Row]:
    """The row of one figure for each way of the call: visitor → subject, then subject → visitor."""
    if sound:
        return [
            (f"visitor → subject, {name}", unit, lambda r: r.audio_to_subject[key], digits),
            (f"subject → visitor, {name}", unit, lambda r: r.audio_to_visitor[key], digits),
        ]
    return [
        (f"visitor → subject, {name}", unit, lambda r: r.to_subject[key], digits),
        (f"subject → visitor, {name}", unit, lambda r: r.to_visitor[key], digits),
    ]


ROWS: list[Row] = [
    ("cold start", "s", lambda r: r.cold_start_s, 2),
    ("set-up to the visitor's first frame shown", "s", lambda r: r.setup_to_painted_s, 2),
    ("set-up to the first frame at the visitor", "s", lambda r: r.setup_to_visitor_s, 2),
    *_both_ways("capture to decoded, median", "ms", "median_ms", 0),
    *_both_ways("capture to decoded, p95", "ms", "p95_ms", 0),
    *_both_ways("frames per second", "fps", "fps", 1),
    *_both_ways("freezes over 200 ms", "", "freezes", 0),
    *_both_ways("frozen in all", "s", "frozen_s", 2),
    *_both_ways("longest freeze", "ms", "longest_gap_ms", 0),
    *_both_ways("mouth to ear, median", "ms", "median_ms", 0, sound=True),
    *_both_ways("mouth to ear, p95", "ms", "p95_ms", 0, sound=True),
    *_both_ways("tone bursts heard", "%", "heard_percent", 1, sound=True),
    *_both_ways("tone bursts heard with a cut, or cut short", "", "broken", 0, sound=True),
    ("bitrate the subject sent", "kbps", lambda r: r.subject_sent_kbps, 0),
    ("bitrate the visitor sent", "kbps", lambda r: r.visitor_sent_kbps, 0),
    ("CPU, all its processes", "% of a core", lambda r: r.cpu_percent, 0),
    ("memory, PSS of all its processes (peak)", "MiB", lambda r: r.peak_pss_mib, 0),
    ("the terminal process's peak RSS", "MiB", lambda r: r.peak_rss_mib, 0),
]


def _median(runs: list[RunFigures], pick: Callable[[RunFigures], float]) -> float:
    return statistics.median(pick(run) for run in runs)


def _shown(value: float, digits: int) -> str:
    return "-" if math.isnan(value) else f"{value:.{digits}f}"


def table(
    terminal: list[RunFigures], browser: list[RunFigures], seconds: float, size: tuple[int, int], link: str = ""
) -> str:
    """Medians over the runs, the terminal's beside the browser's (when there are browser runs); `link` says what
    bad link they ran on."""
    lines = [
        f"{len(terminal)} run(s) of {seconds:.0f} s at {size[0]}x{size[1]}@30 each, medians over the runs; "
        "the subject is the terminal, or the browser in its place" + (f"; the link: {link}" if link else ""),
        "",
        "| figure | terminal | browser | terminal / browser | unit | terminal, each run | browser, each run |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, unit, pick, digits in ROWS:
        ours = _median(terminal, pick)
        theirs = _median(browser, pick) if browser else math.nan
        cells = [
            _shown(ours, digits),
            _shown(theirs, digits),
            _shown(ours / theirs if theirs else math.nan, 2),
            unit,
            ", ".join(_shown(pick(run), digits) for run in terminal),
            ", ".join(_shown(pick(run), digits) for run in browser) or "-",
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def markers(size: str) -> tuple[str, str]:
    return f"<!-- call-bench {size}:begin -->", f"<!-- call-bench {size}:end -->"


def write_to_page(text: str, command: str, key: str, title: str, path: Path = PERFORMANCE_PAGE) -> None:
    """Replaces the bench's part of the page named `key` (between its markers), or adds it at the end."""
    page = path.read_text()
    begin, end = markers(key)
    block = f"{begin}\n\n    {command}\n\n{text}\n\n{end}"
    if begin in page and end in page:
        page = page[: page.index(begin)] + block + page[page.index(end) + len(end) :]
    else:
        page = page.rstrip("\n") + f"\n\n## {title}\n\n" + block + "\n"
    path.write_text(page)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench", description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0, help="measured seconds of each visit")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--size", default="640x480", help="the cameras' size, WIDTHxHEIGHT")
    parser.add_argument("--out", type=Path, default=Path("build/bench"), help="logs of each run")
    parser.add_argument("--no-browser", action="store_true", help="measure the terminal only")
    parser.add_argument("--visits", type=int, default=0, help="instead: N short visits, for memory growth")
    parser.add_argument("--link", choices=sorted(PROFILES), help="every visit on this bad link")
    parser.add_argument("--write", action="store_true", help="also write the table into docs/performance.md")
    args = parser.parse_args(argv)
    width, _, height = args.size.partition("x")
    if not (width.isdigit() and height.isdigit()):
        parser.error(f"--size must be WIDTHxHEIGHT, like 640x480, not {args.size!r}")
    size = (int(width), int(height))
    command = "./dev.sh bench " + " ".join(sys.argv[1:] if argv is None else argv)
    with_browser = not args.no_browser and size == BROWSER_SIZE
    folder = (args.out / time.strftime("%Y%m%d-%H%M%S")).resolve()
    folder.mkdir(parents=True)
    logging.basicConfig(level=logging.ERROR)  # the visitor's call log would interleave with the table
    pulse = PulseServer()  # the subject's handset: a fake microphone and a speaker
    pulse.start()
    link = PROFILES[args.link] if args.link else None
    stack = start_link_stack(folder, link) if link else start_stack(folder)
    terminal: list[RunFigures] = []
    browser: list[RunFigures] = []
    try:
        if args.visits:
            text = series_text(run_series(stack, folder / "series", args.visits, size))
            print(text)
            if args.write:
                write_to_page(text, command, "visits", "Memory over consecutive visits")
            return 0
        for n in range(args.runs):  # alternating, so that both see the same machine over time
            terminal.append(run_terminal(stack, pulse, folder / f"terminal-{n}", args.seconds, size))
            if with_browser:
                browser.append(run_browser(stack, pulse, folder / f"browser-{n}", args.seconds))
    finally:
        if stack.network is not None:
            print(f"the link shaper, by queue (from the link, to it): {stack.network.heal()}", flush=True)
        stack.stop()
        pulse.stop()
    text = table(terminal, browser, args.seconds, size, link.says if link else "")
    print(text)
    if args.write:
        key, title = (f"link {link.name}", f"The call bench on a bad link: {link.name}") if link else (args.size, "")
        write_to_page(text, command, key, title or f"The call bench, {args.size}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
