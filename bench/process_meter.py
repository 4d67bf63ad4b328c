"""CPU and memory of a set of processes over a stretch of time, read from /proc.

CPU is user + system time of every process in the set (all their threads); memory is the sum of their PSS
(each shared page counted once across them), sampled twice a second, and its peak.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

TICKS_PER_S = os.sysconf("SC_CLK_TCK")


def _cpu_ticks(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of proc(5))


def _pss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return 0


def descendants(pid: int) -> list[int]:
    """Every process started by `pid`, and by those, and so on."""
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            children += [int(child) for child in (task / "children").read_text().split()]
        except FileNotFoundError:
            continue
    return [grandchild for child in children for grandchild in [child, *descendants(child)]]


class ProcessMeter:
    """`pids()` names the processes to measure; read it again at each sample, as processes come and go."""

    def __init__(self, pids: Callable[[], list[int]]) -> None:
        self._pids = pids
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="process-meter", daemon=True)
        self._ticks_at_start: dict[int, int] = {}
        self.peak_pss_mib = 0.0
        self.cpu_s = 0.0

    def _sample(self) -> None:
        while not self._stop.wait(0.5):
            self.peak_pss_mib = max(self.peak_pss_mib, sum(_pss_kib(pid) for pid in self._pids()) / 1024)

    def start(self) -> None:
        self._ticks_at_start = {pid: _cpu_ticks(pid) for pid in self._pids()}
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        ticks = sum(_cpu_ticks(pid) - self._ticks_at_start.get(pid, 0) for pid in self._pids())
        self.cpu_s = ticks / TICKS_PER_S
