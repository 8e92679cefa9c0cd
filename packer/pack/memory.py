"""Keep a pack's memory flat in the thread count: big buffers go back to the system when freed.

glibc serves a freed large block from the heap next time, raising its mmap threshold up to
32 MiB as it goes; each compression thread has its own arena, so every thread ends up
keeping tens of MiB of chunk and whole-file buffers (optimal level measured 272 MiB on 16
cores). A fixed threshold keeps blocks past it in their own mappings, unmapped when freed.
"""

from __future__ import annotations

import ctypes
import ctypes.util

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
BIG_BLOCK = 256 << 10


def return_big_buffers() -> bool:
    """Fix glibc's mmap and trim thresholds for this process; False where there is no glibc."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    ok = mallopt(M_MMAP_THRESHOLD, BIG_BLOCK) == 1
    return ok and mallopt(M_TRIM_THRESHOLD, 2 * BIG_BLOCK) == 1
