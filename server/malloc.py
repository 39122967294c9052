"""The C allocator of a process that post-processes audio: large buffers reused, not re-mapped.

glibc serves an allocation above its mmap threshold (128 kB to start) with a fresh mapping and
unmaps it on free, and gives free memory at the top of the heap back above its trim threshold. The
DAW-ready chain makes temporaries of 4-8 MB per 10 s file (the K-filter's float64 rows, the
packed PCM, the hand-off's receive buffers, a model's outputs): where they come and go in a
changing order, each one is fresh pages, each page a kernel fault when first touched. Measured on
10 s of 48 kHz stereo (bench/writer.py), when the true-peak oversampling still made a whole 4x copy
of each channel: the chain and write took 48 ms with glibc's defaults and 37 ms with buffers up to
32 MB kept in the heap. (Since it goes in pieces, glibc's own adaptive threshold settles on the
chain's remaining buffers: tests/server/test_malloc.py.) The cost: up to `keep` bytes of freed
memory stay with the process instead of going back to the system at once.
"""
from __future__ import annotations

import ctypes
import sys

M_TRIM_THRESHOLD = -1  # glibc's mallopt parameters (malloc.h)
M_MMAP_THRESHOLD = -3
MAX_BUFFER = 32 * 1024 * 1024   # glibc's own cap for the mmap threshold on 64-bit
KEEP = 256 * 1024 * 1024


def keep_buffers(max_buffer: int = MAX_BUFFER, keep: int = KEEP) -> bool:
    """Keep freed buffers up to `max_buffer` bytes for reuse, and up to `keep` bytes of free heap.
    True when the allocator took it (glibc on Linux); elsewhere nothing changes."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, int(max_buffer))) and bool(mallopt(M_TRIM_THRESHOLD, int(keep)))
