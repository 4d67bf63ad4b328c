"""The UI thread ahead of the terminal's own media threads, so video never holds up a touch or a paint.

Two causes made the UI thread miss a frame during a visit (bench/test_ui_stall_visit.py): it waited for a CPU
behind the threads that receive and decode video, and it waited for Python's lock while one of them held it.
Round-robin real-time scheduling at the lowest real-time priority puts it first in the queue for a CPU; a
1 ms switch interval makes a thread holding the lock hand it over after 1 ms instead of Python's 5.

Threads the UI thread starts afterwards are reset to normal scheduling (SCHED_RESET_ON_FORK): only the UI
thread itself is ahead. The terminal's systemd unit permits it with LimitRTPRIO=1; without that permission
the UI thread stays at normal priority and the terminal runs as before.
"""

from __future__ import annotations

import logging
import os
import sys

log = logging.getLogger(__name__)

SWITCH_INTERVAL_S = 0.001
REALTIME_PRIORITY = 1  # the lowest: above every normal thread, below the kernel's own


def put_this_thread_first() -> bool:
    """Call on the UI thread before it starts other threads; whether real-time scheduling was permitted."""
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    try:
        os.sched_setscheduler(0, os.SCHED_RR | os.SCHED_RESET_ON_FORK, os.sched_param(REALTIME_PRIORITY))
    except PermissionError:
        log.warning("UI thread at normal priority: real-time scheduling not permitted (the unit sets LimitRTPRIO=1)")
        return False
    log.info("UI thread at real-time priority %d (round robin)", REALTIME_PRIORITY)
    return True
