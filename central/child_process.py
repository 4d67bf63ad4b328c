"""Starting helper processes (Janus, central, the simulated visitor) tied to their parent's life.

The kernel sends each child SIGTERM when its parent dies, so a crashed test run or demo leaves no
Janus or central behind (util-linux's `setpriv --pdeathsig`, part of every Debian system).
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import requests


def start_tied(args: list[str], log_path: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            ["setpriv", "--pdeathsig", "TERM", "--", *args], stdout=log, stderr=subprocess.STDOUT, env=env
        )


def stop(process: subprocess.Popen[bytes] | None, timeout: float = 5.0) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def wait_until_answering(
    process: subprocess.Popen[bytes], name: str, url: str, timeout: float, log_path: Path, verify: bool | str = True
) -> None:
    """Waits until `url` answers 2xx (`verify`: the CA file for HTTPS, if not the system's); RuntimeError
    naming the log if the child exits or stays silent."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited at start; see {log_path}")
        try:
            if requests.get(url, timeout=1, verify=verify).ok:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    stop(process)
    raise RuntimeError(f"{name} did not answer within {timeout:.0f} s; see {log_path}")
