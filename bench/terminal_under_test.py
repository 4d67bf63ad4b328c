"""The terminal as the call bench runs it: the whole kiosk (window, painting, simulated devices) in a process
of its own, walked by touch into each visit whose id it reads from standard input (one a line). It writes what
it measured as one JSON object per line on standard output; `bench.call_bench` starts it and reads them.

    echo 7 | python -m bench.terminal_under_test --config kiosk.toml --seconds 60
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import numpy as np
from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication

from central.demo_data import DEMO_RESIDENT_ID, DEMO_RESIDENT_PIN
from drivers.frame_stamp import StampLog
from kiosk.call_engine import RemoteFeed
from kiosk.config import load_config, read_token
from kiosk.logs import configure_logging
from kiosk.pictures import luma_of
from kiosk.visit_machine import Screen
from ui.app import KioskApp
from ui.qt_process import load_fonts
from ui.touch_script import tap, type_digits, wait_until

FIRST_FRAME_WAIT_S = 30.0


def _report(event: str, **fields: object) -> None:
    print(json.dumps({"event": event, "wall": time.time(), **fields}), flush=True)


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    return 0


def _painted(kiosk: KioskApp) -> int:
    return sum(view.frames_painted for view in kiosk.window.in_visit.remote_views())


def _run_qt_for(seconds: float) -> None:
    """Qt's own event loop, as the kiosk runs, not a test's polling."""
    loop = QEventLoop()
    QTimer.singleShot(round(1000 * seconds), loop.quit)
    loop.exec()


def _run_qt_until(done: Callable[[], bool], seconds: float) -> bool:
    """Qt's event loop until `done()` or `seconds` have passed; whether it was done."""
    deadline = time.monotonic() + seconds
    while not done() and time.monotonic() < deadline:
        _run_qt_for(0.02)
    return done()


def _visit(kiosk: KioskApp, visit_id: int, seconds: float, received: list[StampLog]) -> None:
    """Signs in, opens the visit by touch, lifts the handset, measures `seconds` of it, ends it, and is back
    at the idle screen."""
    window = kiosk.window
    tap(window, "start")
    type_digits(window, DEMO_RESIDENT_ID)
    tap(window, "continue")
    type_digits(window, DEMO_RESIDENT_PIN)
    tap(window, "continue")
    wait_until(lambda: window.current is Screen.VISIT_LIST, 10, "the visit list")
    tap(window, f"choose-{visit_id}")
    wait_until(lambda: window.current is Screen.PRE_VISIT, 5, "the notice before the visit")
    tap(window, "accept")
    wait_until(lambda: kiosk.terminal.machine.snapshot().notice_accepted, 5, "the notice to be accepted")
    finished_before = kiosk.terminal.calls_finished  # a count the core only ever raises
    _report("lifted")
    kiosk.handset.hook.lift()
    painted = _run_qt_until(lambda: _painted(kiosk) > 0, FIRST_FRAME_WAIT_S)
    _report("first_painted", shown=painted)  # on a link too thin for it, the run measures no picture at all
    received[0] = StampLog()  # the measured seconds' frames only
    _report("measuring")
    started = time.monotonic()
    # The visit's own chimes (connected, and a warning for a visit this short) play over the visitor's first
    # words: no burst can be told from them, so the sound heard is counted from when they have played.
    _run_qt_until(lambda: not kiosk.terminal.chimes.playing, seconds)
    _report("chimes_played")
    _run_qt_for(seconds - (time.monotonic() - started))
    _report(
        "measured",
        seconds=time.monotonic() - started,
        peak_rss_kib=_status_kib("VmHWM"),
        counters=received[0].counters,
        latencies_ms=received[0].latencies_ms,
        arrivals_s=received[0].arrivals_s,
        decoded_s=received[0].decoded_s,
        playout=asdict(kiosk.handset.audio.earpiece.stats()) if kiosk.handset.audio else None,
    )
    tap(window, "end-visit")
    tap(window, "confirm-end")
    wait_until(lambda: window.current is Screen.ENDED, 10, "the end of the visit")
    kiosk.handset.hook.hang_up()
    tap(window, "done")
    wait_until(lambda: window.current is Screen.IDLE, 10, "the idle screen after the visit")
    wait_until(lambda: kiosk.terminal.calls_finished > finished_before, 20, "the call to wind down")
    _report("visit_done", rss_kib=_status_kib("VmRSS"))


def run(config_path: Path, seconds: float) -> None:
    """Starts the terminal, then makes one visit for each visit id read from standard input."""
    config = load_config(config_path)
    qt = QApplication(sys.argv[:1])
    load_fonts()
    kiosk = KioskApp(config, read_token(config))
    qt.installEventFilter(activity := kiosk.window.activity_filter())
    received = [StampLog()]  # replaced at the start of each measured stretch
    show_remote = kiosk.bridge.on_remote_video

    def measure_then_show(feed: RemoteFeed, i420: np.ndarray) -> None:
        received[0].record(luma_of(i420))  # on the core thread, as the frame leaves the decoder
        show_remote(feed, i420)

    kiosk.bridge.on_remote_video = measure_then_show  # type: ignore[method-assign]
    kiosk.start()
    window = kiosk.window
    try:
        wait_until(lambda: window.current is Screen.IDLE and window.isVisible(), 10, "the idle screen")
        _report("idle")
        for line in sys.stdin:
            _visit(kiosk, int(line), seconds, received)
    finally:
        del activity
        kiosk.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args(argv)
    configure_logging()  # to standard error, which the bench keeps in the run's terminal.log
    run(args.config, args.seconds)


if __name__ == "__main__":
    main()
