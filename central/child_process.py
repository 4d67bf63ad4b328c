"""Starting helper processes (Janus, central, the simulated visitor) tied to their parent's life.

The kernel sends each child SIGTERM when its parent dies, so a crashed test run or demo leaves no
Janus or central behind (util-linux's `setpriv --pdeathsig`, part of every Debian system).
"""

from __future__ import annotations

import subprocess
from pathlib import Path


def start_tied(args: list[str], log_path: Path) -> subprocess.Popen[bytes]:
    with open(log_path, "ab") as log:
        return subprocess.Popen(["setpriv", "--pdeathsig", "TERM", "--", *args], stdout=log, stderr=subprocess.STDOUT)


def stop(process: subprocess.Popen[bytes] | None, timeout: float = 5.0) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
