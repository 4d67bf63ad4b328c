"""The fault bench: every fault drill of `tests.faults.drills` run several times on a fresh fault-harness stack
each (real Janus, central and visitor in namespaces of their own, the terminal core here), and the table of their
medians: how soon the fault was shown, how soon media came back, the media lost as the terminal or visitor page
reported it against the outage as applied (their ratio is the figure compared), the visit's outcome and the audit
events lost.

    ./dev.sh bench --faults [--runs 3] [--only cut] [--write]
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.call_bench import write_to_page
from central.private_network import enter_private_network
from tests.faults.drills import (
    FaultResult,
    central_away,
    full_disk,
    janus_restart,
    lossy_link,
    start_visit,
    terminal_link_cut,
    visitor_page_cut,
)
from tests.faults.stack import FaultStack, start_fault_stack
from tests.waiting import wait_for

Drill = Callable[[Path], list[FaultResult]]


def _on_a_stack(folder: Path, run: Callable[[FaultStack], list[FaultResult]], **options: object) -> list[FaultResult]:
    stack = start_fault_stack(folder, **options)  # type: ignore[arg-type]
    try:
        return run(stack)
    finally:
        stack.stop()


def _visitor_page(stack: FaultStack) -> list[FaultResult]:
    page = stack.visitor_page()
    start_visit(stack)
    wait_for(lambda: page.evaluate("window.framesReceived") > 60, 20, "the resident's video on the page")
    return [visitor_page_cut(stack, page, "terminal", 5.0), visitor_page_cut(stack, page, "visitor", 5.0)]


def _terminal_cut(seconds: float) -> Drill:
    return lambda folder: _on_a_stack(folder, lambda stack: [terminal_link_cut(stack, seconds)])


DRILLS: dict[str, Drill] = {
    **{f"cut {seconds}": _terminal_cut(seconds) for seconds in (3, 10, 20, 60)},
    "visitor page": lambda f: _on_a_stack(f, _visitor_page, simulated_visitor=False),
    "janus restart": lambda f: _on_a_stack(f, lambda st: [janus_restart(st)]),
    "central away 60": lambda f: _on_a_stack(f, lambda st: [central_away(st, 60.0)]),
    "disk full": lambda f: _on_a_stack(f, lambda st: [full_disk(st)], state_size="1m"),
    "loss": lambda f: _on_a_stack(f, lambda st: [lossy_link(st)]),
}


def _median(values: list[float | None], unit: str = " s") -> str:
    known = [v for v in values if v is not None]
    return f"{statistics.median(known):.2f}{unit}" if known else "-"


def table(results: dict[str, list[FaultResult]]) -> str:
    lines = [
        "| fault | shown after | media back after | media lost: reported / applied (ratio) | rebuilds | outcome "
        "| events lost | runs |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for fault, runs in results.items():
        reported = [r.lost_reported_s for r in runs]
        applied = [r.lost_applied_s for r in runs]
        ratios = [a / b for a, b in zip(reported, applied, strict=True) if a is not None and b]
        lost = "-"
        if ratios:
            lost = f"{_median(reported)} / {_median(applied)} ({statistics.median(ratios):.2f})"
        rebuilds = [r.rebuilds for r in runs if r.rebuilds is not None]
        outcomes = sorted({r.outcome for r in runs})
        events = [r.events_lost for r in runs if r.events_lost is not None]
        lines.append(
            f"| {fault} | {_median([r.detected_s for r in runs])} | {_median([r.recovered_s for r in runs])} "
            f"| {lost} | {max(rebuilds) if rebuilds else '-'} | {'; '.join(outcomes)} "
            f"| {sum(events) if events else '-'} | {len(runs)} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="bench --faults", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3, help="runs of each drill (the table shows medians)")
    parser.add_argument("--only", default="", help=f"only the drills whose name holds this: {', '.join(DRILLS)}")
    parser.add_argument("--write", action="store_true", help="also write the table into docs/performance.md")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    enter_private_network()  # as the test session: nothing the drills start can reach beyond this machine
    results: dict[str, list[FaultResult]] = {}
    with tempfile.TemporaryDirectory(prefix="fault-bench-") as temporary:
        for name, drill in DRILLS.items():
            if args.only not in name:
                continue
            for n in range(args.runs):
                started = time.monotonic()
                for result in drill(Path(temporary) / f"{name.replace(' ', '-')}-{n}"):
                    results.setdefault(result.fault, []).append(result)
                    print(f"{result.fault}, run {n + 1}: {result} ({time.monotonic() - started:.0f} s)", flush=True)
    text = table(results)
    print(text)
    if args.write:
        command = "./dev.sh bench --faults " + " ".join(sys.argv[1:] if argv is None else argv)
        write_to_page(text, command, "faults", "Faults: detection, recovery and media lost")
    return 0


if __name__ == "__main__":
    sys.exit(main())
