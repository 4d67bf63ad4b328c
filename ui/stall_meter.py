"""Measures how long the Qt UI thread is unable to process events, in the running app: the longest
stall, percentiles and the worst few with their time and cause, for tests, the bench and the logs.

How: a heartbeat. A `Qt.TimerType.PreciseTimer` on the UI thread fires every `interval_ms` and records
how late each firing comes (gap since the previous one minus the interval). A late firing means the
UI thread could not get back to its event loop and run Python, which every event of this app needs
(the activity filter on the application and `VideoView.paintEvent` are Python). The figure is a lower
bound: the true busy stretch lies within [stall, stall + interval].

Why not a watcher thread that posts a ping to the UI thread and times the reply: PySide6 6.12 keeps
the GIL during C++ calls such as `QPainter.drawImage` and `QImage.scaled`, so while the UI thread paints
the watcher cannot even post its ping; it posts it afterwards and the reply comes at once. With
`bench/ui_stall.py`, a 40 ms block of the UI thread reads 40 ms with the heartbeat in all three cases,
but with the ping (five runs, some with CPUs busy): 39 to 41 ms if it sleeps, 0.2 to 11 ms if a C call holds
the GIL, 7 to 27 ms if it runs Python.
Why not `QAbstractEventDispatcher.awake`/`aboutToBlock`: a loop that always has work never blocks, so
a responsive UI painting three feeds would read as one endless stall.

A watcher thread is kept for what the heartbeat cannot do, see *where* the UI thread is during a stall
(the heartbeat runs only once it is over): `stacks_over_ms` turns it on, for diagnosis. It samples the
UI thread's stack every interval while a stall lasts and names the one it saw most often.

Each stall is split (Linux schedstat) into the UI thread on a CPU (it computed: painting, layout),
queued for a CPU (other threads or processes had them) and blocked (waiting for the GIL, a lock, or
for Qt's own worker threads, as a smooth `drawImage` does).

Cost, with the UI thread otherwise idle on this 2-vCPU VM (`bench/ui_stall.py`, mostly timer wake-ups):
5 % of one core at 1 ms, 4-5 % at 2 ms, 3-4 % at 5 ms, 2 % at 10 ms; memory does not grow (a histogram
of 0.1 ms bins). Leave it on in production during visits at 5 ms and log the report when a visit ends;
use 1 ms when checking against a 16 ms frame.
"""

from __future__ import annotations

import os
import sys
import threading
import time
import traceback
from collections import Counter
from dataclasses import dataclass

from PySide6.QtCore import QCoreApplication, QObject, Qt, QThread, QTimer

FRAME_MS = 1000 / 60  # one frame at 60 Hz
_BIN_MS = 0.1
_BINS = 10_000  # up to 1 s in 0.1 ms bins; longer stalls share the last bin (the maximum stays exact)
_STACK_DEPTH = 10


@dataclass(frozen=True)
class Stall:
    """One late heartbeat: the UI thread could not process events for at least `ms`."""

    ms: float
    at_s: float  # when the UI thread was last free, in seconds since the meter started
    wall: float  # the same moment as time.time(), to line it up with logs
    cpu_ms: float  # the UI thread on a CPU: it computed (painted, scaled, laid out)
    queued_ms: float | None  # the UI thread ready to run but no CPU free (other processes); None if unknown
    stack: str = ""  # where the UI thread was during it (innermost last), when stack sampling is on

    @property
    def blocked_ms(self) -> float:
        """Neither running nor queued for a CPU: waiting for the GIL, a lock, Qt's worker threads, or asleep."""
        return max(0.0, self.ms - self.cpu_ms - (self.queued_ms or 0.0))

    def text(self) -> str:
        clock = time.strftime("%H:%M:%S", time.localtime(self.wall)) + f".{int(self.wall * 1000) % 1000:03d}"
        line = f"{self.ms:6.1f} ms at +{self.at_s:.3f} s ({clock}): UI thread on CPU {self.cpu_ms:.1f} ms"
        if self.queued_ms is not None:
            line += (
                f", queued for a CPU {self.queued_ms:.1f} ms, blocked {self.blocked_ms:.1f} ms (GIL, locks, Qt workers)"
            )
        return line + ("\n" + self.stack if self.stack else "")


@dataclass(frozen=True)
class StallReport:
    seconds: float
    interval_ms: int
    count: int  # heartbeats measured
    max_ms: float
    p99_ms: float
    p95_ms: float
    p50_ms: float
    over_frame: int  # heartbeats late by a frame (16.7 ms) or more
    worst: tuple[Stall, ...]

    def text(self) -> str:
        head = (
            f"UI-thread stalls over {self.seconds:.1f} s ({self.count} heartbeats every {self.interval_ms:g} ms): "
            f"max {self.max_ms:.1f} ms, p99 {self.p99_ms:.1f} ms, p95 {self.p95_ms:.1f} ms, p50 {self.p50_ms:.1f} ms;"
            f" {self.over_frame} of a frame or more"
        )
        return "\n".join([head, *("  " + stall.text().replace("\n", "\n  ") for stall in self.worst)])


class StallMeter(QObject):
    """Start and stop it on the UI thread; `report()` may be read from any thread while it runs."""

    def __init__(self, interval_ms: int = 2, keep: int = 5, stacks_over_ms: float | None = None) -> None:
        super().__init__()
        if interval_ms < 1:
            raise ValueError("Qt's timers count whole milliseconds; the interval must be 1 ms or more")
        self.interval_ms = interval_ms
        self._keep = keep
        self._stacks_over_s = None if stacks_over_ms is None else stacks_over_ms / 1000
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._beat)
        self._lock = threading.Lock()
        self._watcher: threading.Thread | None = None
        self._stopping = threading.Event()
        self._ui_thread = 0
        self._clock = _ThreadClock(None)  # the UI thread's, opened by start()
        self._sample: tuple[int, str] = (-1, "")  # (heartbeat number, UI thread's stack), from the watcher
        self.reset()

    @property
    def running(self) -> bool:
        return self._timer.isActive()

    def start(self) -> None:
        app = QCoreApplication.instance()
        if app is None or QThread.currentThread() is not app.thread():
            raise RuntimeError("the stall meter measures the UI thread; start it there")
        self._clock.close()
        self._clock = _ThreadClock.of_this_thread()
        self.reset()
        self._ui_thread = threading.get_ident()
        self._timer.start()
        if self._stacks_over_s is not None:
            self._stopping.clear()
            self._watcher = threading.Thread(target=self._watch, name="stall-meter", daemon=True)
            self._watcher.start()

    def stop(self) -> StallReport:
        self._timer.stop()
        self._clock.close()
        self._stopping.set()
        if self._watcher is not None:
            self._watcher.join()
            self._watcher = None
        return self.report()

    def reset(self) -> None:
        """Starts a new measurement window (for instance, one per visit); on the UI thread."""
        with self._lock:
            self._started = time.perf_counter()
            self._wall_offset = time.time() - self._started
            self._last = self._started
            self._last_cpu, self._last_queued = self._clock.read()
            self._beats = 0
            self._bins = [0] * _BINS
            self._max = 0.0
            self._over_frame = 0
            self._worst: list[Stall] = []

    # -- on the UI thread -------------------------------------------------------------------------

    def _beat(self) -> None:
        now, (cpu, queued) = time.perf_counter(), self._clock.read()
        last, late = self._last, (now - self._last) * 1000 - self.interval_ms
        cpu_ms, queued_ms = (cpu - self._last_cpu) * 1000, (queued - self._last_queued) * 1000
        self._last, self._last_cpu, self._last_queued = now, cpu, queued
        with self._lock:
            self._beats += 1
            if late <= 0:
                self._bins[0] += 1
                return
            self._bins[min(int(late / _BIN_MS), _BINS - 1)] += 1
            self._max = max(self._max, late)
            self._over_frame += late >= FRAME_MS
            if len(self._worst) == self._keep and late <= self._worst[-1].ms:
                return
            beat, stack = self._sample
            at, wall = last - self._started, last + self._wall_offset
            queued_or_none = queued_ms if self._clock.knows_queueing else None
            stall = Stall(late, at, wall, cpu_ms, queued_or_none, stack if beat == self._beats else "")
            self._worst = sorted([*self._worst, stall], key=lambda s: -s.ms)[: self._keep]

    # -- on the watcher thread (stack sampling only) ----------------------------------------------

    def _watch(self) -> None:
        # Sampled all through a stall, and the stack seen most often kept: a stall can open with unrelated
        # work (the machine busy, the event loop between events) before whatever holds the thread longest.
        assert self._stacks_over_s is not None
        seen: Counter[str] = Counter()
        sampled = -1
        while not self._stopping.wait(self.interval_ms / 1000):
            beat, last = self._beats + 1, self._last  # the heartbeat that will close this stall
            if time.perf_counter() - last < self._stacks_over_s:
                continue
            if beat != sampled:
                seen.clear()
                sampled = beat
            stack = _stack_of(self._ui_thread)
            if stack:
                seen[stack] += 1
                self._sample = (beat, seen.most_common(1)[0][0])

    # -- reading ----------------------------------------------------------------------------------

    def report(self) -> StallReport:
        with self._lock:
            bins, beats = list(self._bins), self._beats
            seconds = self._last - self._started
            worst, high, over = tuple(self._worst), self._max, self._over_frame

        def percentile(p: float) -> float:
            rank, seen = p * beats, 0
            for index, n in enumerate(bins):
                seen += n
                if seen >= rank and n:
                    return min(high, (index + 1) * _BIN_MS) if index else 0.0
            return high

        return StallReport(
            seconds=seconds,
            interval_ms=self.interval_ms,
            count=beats,
            max_ms=high,
            p99_ms=percentile(0.99),
            p95_ms=percentile(0.95),
            p50_ms=percentile(0.50),
            over_frame=over,
            worst=worst,
        )


class _ThreadClock:
    """The calling thread's time on a CPU and time queued for one (Linux schedstat), in seconds.

    Without /proc, only the CPU time is known (time.thread_time) and queueing reads as 0.
    """

    def __init__(self, schedstat: int | None) -> None:
        self._fd = schedstat

    @classmethod
    def of_this_thread(cls) -> _ThreadClock:
        try:
            return cls(os.open(f"/proc/self/task/{threading.get_native_id()}/schedstat", os.O_RDONLY))
        except OSError:
            return cls(None)

    @property
    def knows_queueing(self) -> bool:
        return self._fd is not None

    def read(self) -> tuple[float, float]:
        if self._fd is None:
            return time.thread_time(), 0.0
        on_cpu, queued, _ = os.pread(self._fd, 64, 0).split()
        return int(on_cpu) / 1e9, int(queued) / 1e9

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _stack_of(thread: int) -> str:
    """The thread's Python stack, innermost last, holding its frames for as short a time as possible.

    A held frame keeps its locals alive after the function returns: a QPainter made in a paintEvent would
    outlive the paint and crash Qt. So only names and numbers are copied here; source lines are read after.
    """
    frame = sys._current_frames().get(thread)
    where: list[tuple[str, int, str]] = []
    while frame is not None and len(where) < _STACK_DEPTH:
        where.append((frame.f_code.co_filename, frame.f_lineno or 0, frame.f_code.co_name))
        frame = frame.f_back
    del frame
    summary = [traceback.FrameSummary(file, line, name) for file, line, name in reversed(where)]
    return "".join(traceback.format_list(summary)).rstrip()
