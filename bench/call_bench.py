"""The call bench: a real visit, terminal ↔ Janus ↔ a simulated visitor, all on this machine, measured.

    ./dev.sh bench [--seconds 60] [--runs 3] [--size 640x480] [--write]

For each run it adds a visit to central, starts the whole terminal in its own process
(`bench.terminal_under_test`) and the visitor in this one, and measures:
  - set-up: from lifting the handset to the visitor's first frame painted on the terminal's screen, and to
    the terminal's first frame decoded at the visitor;
  - capture to decoded frame, both ways, from the frame stamps (median and 95th percentile);
  - frames delivered per second and freezes (gaps over 200 ms) both ways;
  - the terminal process's CPU (user + system, all threads, in % of one core) and its peak RSS;
  - the terminal's cold start, from starting its process to the idle screen.
It prints one table of medians over the runs; `--write` also puts it into docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import secrets
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from central.demo import write_kiosk_config
from central.demo_data import DEMO_RESIDENT_ID
from central.janus_server import JanusServer, JanusSettings
from central.private_network import enter_private_network
from central.server_process import CentralProcess, free_port
from central.simulated_visitor import SimulatedVisitor
from central.store import Store

FREEZE_S = 0.200
PERFORMANCE_PAGE = Path(__file__).resolve().parent.parent / "docs" / "performance.md"


@dataclass
class RunFigures:
    cold_start_s: float
    setup_to_painted_s: float
    setup_to_visitor_s: float
    to_terminal: dict[str, float]
    to_visitor: dict[str, float]
    cpu_percent: float
    peak_rss_mib: float


@dataclass
class Direction:
    """What one receiver saw over the measured seconds."""

    latencies_ms: list[int] = field(default_factory=list)
    arrivals_s: list[float] = field(default_factory=list)

    def figures(self, seconds: float) -> dict[str, float]:
        gaps = [b - a for a, b in zip(self.arrivals_s, self.arrivals_s[1:], strict=False)]
        ordered = sorted(self.latencies_ms) or [0]
        return {
            "median_ms": statistics.median(ordered),
            "p95_ms": ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))],
            "fps": len(self.arrivals_s) / seconds,
            "freezes": sum(gap > FREEZE_S for gap in gaps),
            "longest_gap_ms": 1000 * max(gaps, default=0.0),
        }


def _window(latencies_ms: list[int], arrivals_s: list[float], start: float, end: float) -> Direction:
    """The frames that arrived between `start` and `end` (wall clock)."""
    kept = [(lat, at) for lat, at in zip(latencies_ms, arrivals_s, strict=True) if start <= at <= end]
    return Direction([lat for lat, _ in kept], [at for _, at in kept])


def start_stack(folder: Path) -> tuple[JanusServer, CentralProcess]:
    """Janus and central in a private network, for every run of the bench."""
    network = enter_private_network()
    settings = JanusSettings(network.media_interface, http_port=free_port(), admin_key=secrets.token_hex(12))
    janus = JanusServer(settings, log_path=folder / "janus.log")
    janus.start()
    central = CentralProcess(folder / "central", janus.url, settings.admin_key)
    central.start()
    return janus, central


def add_visit(central: CentralProcess, seconds: float) -> tuple[int, str]:
    """A visit open now for the demo resident with one visitor; its id and the visitor's code."""
    code = secrets.token_hex(8)
    store = Store(central.state / "central.sqlite3")
    try:
        now = time.time()
        visit_id = store.add_visit(DEMO_RESIDENT_ID, now - 60, now + seconds, {store.add_visitor("Maria"): code})
    finally:
        store.dispose()
    return visit_id, code


def run_terminal(central: CentralProcess, folder: Path, seconds: float, size: tuple[int, int]) -> RunFigures:
    """One visit of the terminal under test with a simulated visitor; its logs go to `folder`."""
    folder.mkdir(parents=True)
    visit_id, code = add_visit(central, seconds + 120)
    visitor = SimulatedVisitor(central.url, code, size=size)
    visitor.start()
    camera = f"camera_width = {size[0]}\ncamera_height = {size[1]}\ncamera_fps = 30"
    config = write_kiosk_config(folder, central, camera)
    command = [sys.executable, "-m", "bench.terminal_under_test", "--config", str(config)]
    command += ["--visit-id", str(visit_id), "--seconds", str(seconds)]
    spawned = time.time()
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    with open(folder / "terminal.log", "wb") as log:
        terminal = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, env=env)
    events: dict[str, dict] = {}
    try:
        assert terminal.stdout is not None
        for line in terminal.stdout:
            event = json.loads(line)
            events[event["event"]] = event
        if terminal.wait(timeout=60) != 0 or "measured" not in events:
            raise RuntimeError(f"the terminal under test failed: see {folder / 'terminal.log'}")
    finally:
        if terminal.poll() is None:
            terminal.kill()
        visitor.stop()
    measured = events["measured"]
    start, end = events["measuring"]["wall"], events["measured"]["wall"]
    first_at_visitor = next((at for at in visitor.received.arrivals_s if at >= events["lifted"]["wall"]), float("nan"))
    return RunFigures(
        cold_start_s=events["idle"]["wall"] - spawned,
        setup_to_painted_s=events["first_painted"]["wall"] - events["lifted"]["wall"],
        setup_to_visitor_s=first_at_visitor - events["lifted"]["wall"],
        to_terminal=_window(measured["latencies_ms"], measured["arrivals_s"], start, end).figures(end - start),
        to_visitor=_window(visitor.received.latencies_ms, visitor.received.arrivals_s, start, end).figures(end - start),
        cpu_percent=100 * measured["cpu_s"] / measured["seconds"],
        peak_rss_mib=measured["peak_rss_kib"] / 1024,
    )


def _median(runs: list[RunFigures], pick: Callable[[RunFigures], float]) -> float:
    return statistics.median(pick(run) for run in runs)


def table(runs: list[RunFigures], seconds: float, size: tuple[int, int]) -> str:
    rows = [
        ("cold start to idle screen", "s", lambda r: r.cold_start_s, 2),
        ("lift to first visitor frame painted", "s", lambda r: r.setup_to_painted_s, 2),
        ("lift to first terminal frame at the visitor", "s", lambda r: r.setup_to_visitor_s, 2),
        ("visitor → terminal, capture to decoded, median", "ms", lambda r: r.to_terminal["median_ms"], 0),
        ("visitor → terminal, capture to decoded, p95", "ms", lambda r: r.to_terminal["p95_ms"], 0),
        ("terminal → visitor, capture to decoded, median", "ms", lambda r: r.to_visitor["median_ms"], 0),
        ("terminal → visitor, capture to decoded, p95", "ms", lambda r: r.to_visitor["p95_ms"], 0),
        ("visitor → terminal, frames per second", "fps", lambda r: r.to_terminal["fps"], 1),
        ("terminal → visitor, frames per second", "fps", lambda r: r.to_visitor["fps"], 1),
        ("freezes over 200 ms, both ways", "", lambda r: r.to_terminal["freezes"] + r.to_visitor["freezes"], 0),
        ("terminal process CPU", "% of a core", lambda r: r.cpu_percent, 0),
        ("terminal process peak RSS", "MiB", lambda r: r.peak_rss_mib, 0),
    ]
    lines = [
        f"{len(runs)} run(s) of {seconds:.0f} s at {size[0]}x{size[1]}@30, medians over the runs",
        "",
        "| figure | terminal | unit | each run |",
        "| --- | --- | --- | --- |",
    ]
    for name, unit, pick, digits in rows:
        each = ", ".join(f"{pick(run):.{digits}f}" for run in runs)
        lines.append(f"| {name} | {_median(runs, pick):.{digits}f} | {unit} | {each} |")
    return "\n".join(lines)


def markers(size: str) -> tuple[str, str]:
    return f"<!-- call-bench {size}:begin -->", f"<!-- call-bench {size}:end -->"


def write_to_page(text: str, command: str, size: str, path: Path = PERFORMANCE_PAGE) -> None:
    """Replaces the bench's part of the page for this camera size (between its markers), or adds it at the end."""
    page = path.read_text()
    begin, end = markers(size)
    block = f"{begin}\n\n    {command}\n\n{text}\n\n{end}"
    if begin in page and end in page:
        page = page[: page.index(begin)] + block + page[page.index(end) + len(end) :]
    else:
        page = page.rstrip("\n") + f"\n\n## The call bench, {size}\n\n" + block + "\n"
    path.write_text(page)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench", description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0, help="measured seconds of each visit")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--size", default="640x480", help="the cameras' size, WIDTHxHEIGHT")
    parser.add_argument("--out", type=Path, default=Path("build/bench"), help="logs of each run")
    parser.add_argument("--write", action="store_true", help="also write the table into docs/performance.md")
    args = parser.parse_args(argv)
    width, height = (int(n) for n in args.size.split("x"))
    folder = (args.out / time.strftime("%Y%m%d-%H%M%S")).resolve()
    folder.mkdir(parents=True)
    logging.basicConfig(level=logging.ERROR)  # the visitor's call log would interleave with the table
    janus, central = start_stack(folder)
    try:
        runs = [run_terminal(central, folder / f"run-{n}", args.seconds, (width, height)) for n in range(args.runs)]
    finally:
        central.stop()
        janus.stop()
    text = table(runs, args.seconds, (width, height))
    print(text)
    if args.write:
        write_to_page(text, "./dev.sh bench " + " ".join(argv if argv is not None else sys.argv[1:]), args.size)
    return 0


if __name__ == "__main__":
    sys.exit(main())
