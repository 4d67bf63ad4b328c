"""The terminal limits glibc's malloc arenas before its threads start, so that the memory a visit frees is
reused by the next one: threads that allocate then share two arenas instead of taking one each."""

from __future__ import annotations

import subprocess
import sys

CHILD = """
import ctypes, ctypes.util, sys, threading, tempfile
from kiosk.malloc_arenas import limit_malloc_arenas
if sys.argv[1] == "limited":
    assert limit_malloc_arenas()
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


def _arenas(mode: str) -> int:
    done = subprocess.run([sys.executable, "-c", CHILD, mode], capture_output=True, text=True, check=True, timeout=30)
    return int(done.stdout)


def test_allocating_threads_share_two_arenas_instead_of_one_each():
    assert _arenas("default") > 4, "glibc alone gives new threads arenas of their own"
    assert _arenas("limited") <= 2
