"""Settings of the terminal's process for handling video frames on a small machine, made before its threads
start (`tune_process`).

glibc's malloc: memory a visit frees is reused by the next visit, and a frame's buffers by the next frame.

Arenas: glibc gives threads arenas of their own, up to eight per core. Every visit starts new threads
(aiortc's decoders and encoders, the executor's workers), which took new arenas and left freed memory
scattered across them: over 20 short visits in one terminal process, RSS grew 56 MiB with glibc's default and
14 MiB with two arenas (`./dev.sh bench --visits 20`, with MALLOC_ARENA_MAX=2 in the environment). With two,
RSS between visits still swung by up to 17 MiB: malloc_trim hands back the free top of the main arena only,
and how much of the second arena's top the last frames had left free was chance. With one arena it stays
within 2 MiB over 20 visits, 20 MiB lower, and the CPU figure is unchanged (`./dev.sh bench`).

Large blocks: glibc maps every block over its mmap threshold (128 KiB at first) fresh from the kernel and
hands it back when freed. A video frame's buffers are 0.3 to 3 MiB, so every frame paid for page faults and
for the kernel clearing the pages (transparent huge pages make that 2 MiB at a time): scaling one visitor's
frame for the screen took 11 ms instead of 0.7 ms. Kept in the heap, a freed frame's memory serves the next.

After each visit (`release_freed_memory`), what the visit freed is handed back to the system: kept, the heap
settled tens of MiB above what the terminal uses between visits.

Garbage collection: see `set_aside_startup_objects`.

OpenCV: its pool of worker threads, one per core, spins on sched_yield after each job, waiting for the next
one. With a frame to convert every few milliseconds, the worker never slept: 7 % of a core, most of it in the
kernel, to share out conversions that take a fraction of a millisecond (2.5 % since a visitor's frame takes
one conversion instead of three). One thread does them where called.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import gc
import logging

import cv2

log = logging.getLogger(__name__)

# From glibc's malloc.h.
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8

ARENAS = 1
MMAP_THRESHOLD = 32 * 1024 * 1024  # glibc's largest: blocks up to this come from the heap
TRIM_THRESHOLD = 64 * 1024 * 1024  # free memory at the top of the heap kept for the next frames


def tune_process() -> bool:
    """False (and a log line) where glibc's malloc could not be set."""
    cv2.setNumThreads(1)
    return tune_malloc()


def tune_malloc() -> bool:
    """Call before the process starts its threads; False where the C library is not glibc."""
    settings = ((M_ARENA_MAX, ARENAS), (M_MMAP_THRESHOLD, MMAP_THRESHOLD), (M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    mallopt = getattr(_libc(), "mallopt", None)
    done = mallopt is not None and all(mallopt(option, value) for option, value in settings)
    if not done:
        log.warning("could not tune malloc: memory may grow from visit to visit, and frames cost more")
    return done


def set_aside_startup_objects() -> None:
    """Takes everything made so far (modules, classes, the screens) out of the garbage collector's sight. They live
    as long as the process, and scanning them made each full collection hold Python's lock for 100 ms: the one
    after each visit, and any the interpreter starts during a visit, which stops the UI and the call as long.
    Call it once, when the terminal is built and before its threads start. (Screens replaced when the language
    changes are still freed, except any reference cycles among the first ones: a few KiB, once.)"""
    gc.freeze()  # not collecting first: that is 70 ms of the cold start, and it finds about ten objects


def release_freed_memory() -> None:
    """Frees what a finished visit left (its peer connections hold reference cycles) and hands the free pages of
    every malloc arena back to the system. A few milliseconds; call it between visits, not during one."""
    gc.collect()
    malloc_trim = getattr(_libc(), "malloc_trim", None)
    if malloc_trim is not None:  # glibc's; other C libraries hand memory back their own way
        malloc_trim(0)


@functools.cache
def _libc() -> ctypes.CDLL | None:
    """The C library, found once: finding it runs ldconfig, which has no place on the core thread each visit."""
    try:
        return ctypes.CDLL(ctypes.util.find_library("c"))
    except OSError:
        return None
