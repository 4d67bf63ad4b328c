"""Fewer malloc arenas, so that memory freed after a visit is reused by the next one instead of piling up.

glibc gives threads arenas of their own, up to eight per core. Every visit starts new threads (aiortc's
decoders and encoders, the executor's workers), which took new arenas and left freed memory scattered across
them: over 20 short visits in one terminal process, RSS grew 56 MiB with glibc's default and 14 MiB with two
arenas (`./dev.sh bench --visits 20`, with MALLOC_ARENA_MAX=2 in the environment).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger(__name__)

M_ARENA_MAX = -8  # from glibc's malloc.h
ARENAS = 2


def limit_malloc_arenas(arenas: int = ARENAS) -> bool:
    """Call before the process starts its threads; False where the C library is not glibc."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"))
        done = bool(libc.mallopt(M_ARENA_MAX, arenas))
    except (OSError, AttributeError):
        done = False
    if not done:
        log.warning("could not limit malloc arenas: memory may grow from visit to visit")
    return done
