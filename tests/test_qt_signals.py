"""Qt's signals, which carry every frame and state from the core to the screen, must not leak: PySide6
6.12.0 dropped a reference to True on each emit, and the terminal aborted ('bool_dealloc') a few minutes
into a visit. Run in a child process, since the failure is an abort."""

from __future__ import annotations

import subprocess
import sys

EMITS = 20_000  # several times what it took 6.12.0 to abort

CHILD = f"""
import sys
from PySide6.QtCore import QCoreApplication, QObject, Signal

class Bridge(QObject):
    frame = Signal(object)
    state = Signal(int, str)

app = QCoreApplication([])
bridge = Bridge()
bridge.frame.connect(lambda image: None)
bridge.state.connect(lambda number, text: None)
before = sys.getrefcount(True)
for number in range({EMITS}):
    bridge.frame.emit(number)
    bridge.state.emit(number, "x")
print(sys.getrefcount(True) - before)
"""


def test_emitting_signals_many_times_neither_leaks_nor_aborts():
    child = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=60, check=False)
    assert child.returncode == 0, child.stderr[-500:]
    assert abs(int(child.stdout.strip())) < 10
