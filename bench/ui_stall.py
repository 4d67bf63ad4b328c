"""Bench for ui/stall_meter.py and for the cost of painting video on the UI thread: does the meter see
a blocked UI thread, what does it cost, and how long does one VideoView paint hold the UI thread.

    QT_QPA_PLATFORM=offscreen .venv/bin/python -m bench.ui_stall [--busy N]

`--busy N` runs N processes spinning on a CPU meanwhile, as a loaded terminal would have.
"""

from __future__ import annotations

import argparse
import ctypes
import multiprocessing
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
from PySide6.QtCore import QCoreApplication, QEvent, QEventLoop, QObject, QRect, QSize, Qt, QTimer
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QApplication

from ui.bridge import to_qimage
from ui.stall_meter import StallMeter

BLOCK_S = 0.040
SCREEN = QSize(1280, 800)  # the default screen (kiosk/config.py)
CAMERA = (480, 640)  # the default camera, so the visitor's picture too


def _run_loop(seconds: float) -> None:
    loop = QEventLoop()
    QTimer.singleShot(round(seconds * 1000), loop.quit)
    loop.exec()


# -- 1. accuracy: the meter against a watcher thread's ping -----------------------------------------


class _PingMeter(QObject):
    """The alternative the meter's docstring turns down: a thread posts a ping, the UI thread answers.

    Posted as an event: PySide6 6.12's `Signal.emit` drops a reference to True at each call (on Python 3.11,
    where True is not immortal, the process aborts once the count reaches zero).
    """

    def __init__(self) -> None:
        super().__init__()
        self.worst_ms = 0.0
        self._posted = 0.0
        self._answered = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def event(self, event: QEvent) -> bool:
        if event.type() != QEvent.Type.User:
            return super().event(event)
        self.worst_ms = max(self.worst_ms, (time.perf_counter() - self._posted) * 1000)
        self._answered.set()
        return True

    def _run(self) -> None:
        while not self._stop.wait(0.001):
            self._answered.clear()
            self._posted = time.perf_counter()
            QCoreApplication.postEvent(self, QEvent(QEvent.Type.User))
            self._answered.wait(1.0)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.worst_ms


def block_asleep() -> None:
    time.sleep(BLOCK_S)  # releases the GIL: the UI thread waits, nothing else does


def block_holding_the_gil() -> None:
    # A C call that keeps the GIL, as PySide6 does around QPainter.drawImage: no other Python thread runs.
    ctypes.PyDLL(None).usleep(int(BLOCK_S * 1_000_000))


def block_computing() -> None:
    end = time.perf_counter() + BLOCK_S
    while time.perf_counter() < end:
        pass


def accuracy() -> None:
    print(f"1. A {BLOCK_S * 1000:.0f} ms block of the UI thread, as read by each way of measuring")
    for block in (block_asleep, block_holding_the_gil, block_computing):
        meter, ping = StallMeter(interval_ms=1), _PingMeter()
        meter.start()
        ping.start()
        _run_loop(0.2)
        QTimer.singleShot(0, block)
        _run_loop(0.3)
        print(f"   {block.__name__:14s} heartbeat {meter.stop().max_ms:5.1f} ms   watcher's ping {ping.stop():5.1f} ms")


# -- 2. cost ----------------------------------------------------------------------------------------


def cost(seconds: float = 5.0) -> None:
    print("2. The meter's cost: this process's CPU while the UI thread idles, in % of one core")
    for interval in (None, 1, 2, 5, 10):
        meter = StallMeter(interval_ms=interval) if interval else None
        if meter:
            meter.start()
        before = time.process_time()
        _run_loop(seconds)
        used = (time.process_time() - before) / seconds * 100
        if meter:
            meter.stop()
        print(f"   {'off' if interval is None else f'every {interval} ms':12s} {used:4.1f} %")


# -- 3. one VideoView paint ---------------------------------------------------------------------------


def _fitted(image: QSize, box: QSize) -> QRect:
    size = image.scaled(box, Qt.AspectRatioMode.KeepAspectRatio)
    return QRect(0, 0, size.width(), size.height())


def _paint_once(device: QImage, image: QImage, target: QRect, smooth: bool) -> tuple[float, float, float]:
    wall, own, process = time.perf_counter(), time.thread_time(), time.process_time()
    painter = QPainter(device)
    if smooth:
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    painter.drawImage(target, image)
    painter.end()
    return (
        (time.perf_counter() - wall) * 1000,
        (time.thread_time() - own) * 1000,
        (time.process_time() - process) * 1000,
    )


def painting(frames: int = 60) -> None:
    print("3. One VideoView paint of a 640x480 frame on the 1280x800 screen, ms per paint (p50 / max)")
    print("   wall = how long the UI thread is held, with the GIL; own = its CPU; all = every thread's CPU")
    rgb = np.random.default_rng(1).integers(0, 255, (*CAMERA, 3), dtype=np.uint8)
    rgb888 = to_qimage(rgb)  # what ui/bridge.py hands over today
    rgb32 = rgb888.convertToFormat(QImage.Format.Format_RGB32)
    device = QImage(SCREEN, QImage.Format.Format_ARGB32_Premultiplied)  # as the offscreen backing store
    one, three = SCREEN, QSize(SCREEN.width() // 2 - 3, SCREEN.height() // 2 - 3)
    cases: list[tuple[str, QImage, QRect, bool]] = [
        ("1 feed, RGB888, smooth (today)", rgb888, _fitted(rgb888.size(), one), True),
        ("1 feed, RGB888, no smoothing", rgb888, _fitted(rgb888.size(), one), False),
        ("1 feed, RGB32, smooth", rgb32, _fitted(rgb32.size(), one), True),
        ("1 feed, RGB32, already scaled", None, _fitted(rgb32.size(), one), True),
        ("3 feeds, RGB888, smooth (today), each", rgb888, _fitted(rgb888.size(), three), True),
        ("3 feeds, RGB32, already scaled, each", None, _fitted(rgb32.size(), three), True),
    ]
    for name, image, target, smooth in cases:
        if image is None:  # scaled off the UI thread, where the frame is converted: painting only copies
            image = rgb32.scaled(
                target.size(), Qt.AspectRatioMode.IgnoreAspectRatio, Qt.TransformationMode.SmoothTransformation
            )
        runs = sorted(_paint_once(device, image, target, smooth) for _ in range(frames))
        p50, worst = runs[len(runs) // 2], runs[-1]
        print(f"   {name:40s} wall {p50[0]:5.1f} / {worst[0]:5.1f}   own {p50[1]:4.1f}   all {p50[2]:4.1f}")


# -- main -----------------------------------------------------------------------------------------------


def _spin() -> None:
    while True:
        pass


@contextmanager
def _busy(processes: int) -> Iterator[None]:
    spinners = [multiprocessing.Process(target=_spin, daemon=True) for _ in range(processes)]
    for spinner in spinners:
        spinner.start()
    try:
        yield
    finally:
        for spinner in spinners:
            spinner.terminate()
            spinner.join()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--busy", type=int, default=0, help="processes spinning on a CPU meanwhile")
    args = parser.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    app = QApplication(sys.argv[:1])
    print(f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}, {args.busy} spinning processes")
    steps: list[Callable[[], None]] = [accuracy, cost, painting]
    with _busy(args.busy):
        for step in steps:
            step()
    QCoreApplication.processEvents()
    del app


if __name__ == "__main__":
    main()
