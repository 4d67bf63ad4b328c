"""The UI thread goes ahead of the media threads when it is permitted, and only it does; without the
permission the terminal says so in its log and runs at normal priority.

Each case runs in a child process without capabilities, as the terminal's unit starts it. The unit permits
real-time scheduling with LimitRTPRIO=1; this machine's root cannot raise resource limits (it lacks
CAP_SYS_RESOURCE), so the permitted case grants the other permission the kernel accepts, CAP_SYS_NICE alone.
Both lead to the same call succeeding; what is tested is what the terminal does with it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

CHILD = """
import json, logging, os, sys, threading
logging.basicConfig(level=logging.INFO, stream=sys.stderr)
from ui.ui_thread_priority import put_this_thread_first
permitted = put_this_thread_first()
started = {}
thread = threading.Thread(target=lambda: started.update(policy=os.sched_getscheduler(0)))
thread.start()
thread.join()
print(json.dumps({
    "permitted": permitted,
    "ui_policy": os.sched_getscheduler(0) & ~os.SCHED_RESET_ON_FORK,
    "ui_priority": os.sched_getparam(0).sched_priority,
    "started_policy": started["policy"],
    "switch_interval": sys.getswitchinterval(),
}))
"""


def _run_unprivileged(may_use_realtime: bool) -> tuple[dict[str, object], str]:
    if os.geteuid() != 0:
        pytest.skip("starting a child with chosen capabilities needs root, as the suite is run (README)")
    caps = "-all,+sys_nice" if may_use_realtime else "-all"
    command = [
        *("setpriv", f"--inh-caps={caps}", f"--ambient-caps={caps}", f"--bounding-set={caps}"),
        *("--", sys.executable, "-c", CHILD),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=30, check=True)
    return json.loads(done.stdout), done.stderr


def test_when_permitted_only_the_ui_thread_is_real_time():
    result, log = _run_unprivileged(may_use_realtime=True)
    assert result["permitted"] is True
    assert result["ui_policy"] == os.SCHED_RR and result["ui_priority"] == 1
    assert result["started_policy"] == os.SCHED_OTHER, "threads it starts (core, media) stay normal"
    assert result["switch_interval"] == pytest.approx(0.001)
    assert "real-time priority 1" in log


def test_without_permission_the_ui_thread_stays_normal_and_the_log_says_why():
    result, log = _run_unprivileged(may_use_realtime=False)
    assert result["permitted"] is False
    assert result["ui_policy"] == os.SCHED_OTHER
    assert result["switch_interval"] == pytest.approx(0.001), "the switch interval needs no permission"
    assert "not permitted" in log and "LimitRTPRIO=1" in log
