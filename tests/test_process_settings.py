"""The terminal sets up its process before its threads start: threads that allocate share one malloc arena
instead of taking one each, so the memory a visit frees is reused by the next one; a freed frame-sized block
is reused by the next frame instead of being handed back to the kernel and faulted in again; and no OpenCV
worker thread spins between frames."""

from __future__ import annotations

import subprocess
import sys

import pytest

FRAMES = """
import resource, sys
import numpy as np
from kiosk.process_settings import tune_process
if sys.argv[1] == "tuned":
    assert tune_process()
from ui.bridge import picture_to_screen_qimage
frame = np.zeros((720, 640), np.uint8)  # a decoded 640x480 visitor frame (I420)
picture_to_screen_qimage(frame, (1280, 800))  # scaled for the screen: 1 to 3 MB blocks
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(30):
    picture_to_screen_qimage(frame, (1280, 800))
print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) // 30)
"""

SCALING = """
import os, sys, time
import numpy as np
from kiosk.process_settings import tune_process
if sys.argv[1] == "tuned":
    assert tune_process()
from ui.bridge import picture_to_screen_qimage
def others_cpu_s():
    main, total = str(os.getpid()), 0
    for tid in os.listdir("/proc/self/task"):
        if tid != main:
            fields = open(f"/proc/self/task/{tid}/stat").read().rpartition(")")[2].split()
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")
frame = np.zeros((720, 640), np.uint8)  # a decoded 640x480 visitor frame (I420)
before = others_cpu_s()
for _ in range(120):  # 4 s of a visitor's video at 30 fps, scaled for the screen
    picture_to_screen_qimage(frame, (1280, 800))
    time.sleep(1 / 30)
print(round((others_cpu_s() - before) / 4 * 100, 1))
"""

RELEASING = """
import sys
from kiosk.process_settings import release_freed_memory, tune_process
assert tune_process()
def rss_mib():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) // 1024
"""

AFTER_A_VISIT = (
    RELEASING
    + """
frames = [bytearray(b"x" * 3_000_000) for _ in range(60)]  # a visit's worth of frame buffers, in the heap
frames.pop()  # the newest, still held, keeps them from the top of the heap
held = frames.pop()
del frames
kept = rss_mib()
if sys.argv[1] == "released":
    release_freed_memory()
print(kept - rss_mib())
"""
)

FREED_BY_ANOTHER_THREAD = (
    RELEASING
    + """
import threading
def decode():  # a visit's thread: its frames, touched, then all freed
    frames = [bytearray(b"x" * 3_000_000) for _ in range(15)]
    del frames
thread = threading.Thread(target=decode)
thread.start()
thread.join()
kept = rss_mib()
release_freed_memory()
print(kept - rss_mib())
"""
)

SET_ASIDE = """
import gc, weakref
from kiosk.process_settings import set_aside_startup_objects
class Node:
    pass
def cycle():
    a, b = Node(), Node()
    a.other, b.other = b, a
    return a
built = [cycle() for _ in range(50_000)]  # the terminal as built at start
set_aside_startup_objects()
scanned = sum(isinstance(o, Node) for o in gc.get_objects())
visit = cycle()  # garbage a visit leaves: a reference cycle
gone = weakref.ref(visit)
del visit
gc.collect()
print(scanned if gone() is None else -1)
"""

CHILD = """
import ctypes, ctypes.util, sys, threading, tempfile
from kiosk.process_settings import tune_process
if sys.argv[1] == "tuned":
    assert tune_process()
kept = []
together = threading.Barrier(8)
def allocate():
    kept.extend(bytearray(65536) for _ in range(20))  # malloc'd (not Python's small-object allocator, not mmap)
    together.wait()  # all alive at once, as a visit's threads are: none hands its arena back early
threads = [threading.Thread(target=allocate) for _ in range(8)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
libc = ctypes.CDLL(ctypes.util.find_library("c"))
libc.fopen.restype = ctypes.c_void_p
with tempfile.NamedTemporaryFile() as out:
    stream = libc.fopen(out.name.encode(), b"w")
    libc.malloc_info(0, ctypes.c_void_p(stream))
    libc.fclose(ctypes.c_void_p(stream))
    print(open(out.name).read().count("<heap nr="))
"""


def _run(child: str, mode: str) -> float:
    done = subprocess.run([sys.executable, "-c", child, mode], capture_output=True, text=True, check=True, timeout=30)
    return float(done.stdout)


def _arenas(mode: str) -> int:
    return _run(CHILD, mode)


def test_allocating_threads_share_one_arena_instead_of_one_each():
    assert _arenas("default") > 4, "glibc alone gives new threads arenas of their own"
    assert _arenas("tuned") == 1


@pytest.mark.slow  # two interpreters, each loading Qt and OpenCV to scale 31 frames
def test_a_freed_frame_is_reused_by_the_next_instead_of_faulted_in_from_the_kernel_again():
    assert _run(FRAMES, "default") > 20, "glibc alone hands some blocks back and faults them in again, every frame"
    assert _run(FRAMES, "tuned") < 5


@pytest.mark.slow  # two interpreters, each scaling 4 s of video in real time
def test_no_opencv_worker_spins_between_the_frames_it_scales():
    assert _run(SCALING, "default") >= 1, "OpenCV alone: its worker spins between frames (% of a core)"
    assert _run(SCALING, "tuned") == 0


def test_after_a_visit_the_memory_it_freed_goes_back_to_the_system():
    assert _run(AFTER_A_VISIT, "kept") < 10, "with frame-sized blocks kept in the heap, freeing alone returns nothing"
    assert _run(AFTER_A_VISIT, "released") > 100, "MiB handed back"


def test_memory_a_visits_thread_freed_goes_back_to_the_system_too():
    """What a thread of the visit freed last is the top of its arena: glibc hands back the top of the main arena
    only, which is why the threads share that one."""
    assert _run(FREED_BY_ANOTHER_THREAD, "released") > 35, "MiB handed back"


def test_what_the_terminal_built_at_start_is_no_longer_scanned_by_each_collection_but_a_visits_garbage_still_goes():
    assert _run(SET_ASIDE, "") == 0
