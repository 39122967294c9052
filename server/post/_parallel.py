"""Channels side by side: the chain's soxr steps (the true-peak oversampling, soxr HQ, the heaviest;
the VHQ sample-rate conversion) run one channel per thread when the machine has cores to spare.

soxr releases the GIL and filters each channel on its own, so two threads take those steps in
about half the wall time, with the same samples: 10 s stereo oversampled 10.8 -> 4.3 ms; 2.5 s of
stereo converted 44.1 -> 48 kHz 2.7 -> 1.8 ms, the transposes included. Each row's reductions run
in its thread too. That is time to file, the figure a producer waits on (the chain of a 2.5 s
stable-audio one-shot: 7.8 -> 5.3 ms). The CPU work is unchanged; but where a model runs at the
same time (a pipelined lane writes one job while its model makes the next, in this process or,
through `share_models_running`, in the lane's model process) and the machine has few cores, the
extra thread only takes a core from the model (measured with bench/pipeline.py on 2 cores: 8
back-to-back requests 15 % slower), so then the channels stay in one thread: see
`model_running`. Short rows stay in the calling thread too (the hand-off would cost more than the
work). DAWGEN_POST_THREADS=1 (or THREADS = 1, as bench/writer.py's one-core figure does) turns it off.
"""
from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

__all__ = ["map_rows", "model_running", "share_models_running", "side_by_side", "THREADS"]

T = TypeVar("T")
R = TypeVar("R")

def _threads_from_env() -> int:
    default = min(4, os.cpu_count() or 1)
    raw = os.environ.get("DAWGEN_POST_THREADS", "").strip()
    try:
        return max(1, int(raw)) if raw else default
    except ValueError:
        logging.getLogger(__name__).warning("DAWGEN_POST_THREADS=%r is not a number; using %d", raw, default)
        return default


THREADS = _threads_from_env()
MIN_FRAMES = 1 << 16  # rows shorter than this (1.4 s at 48 kHz) are done in the calling thread
MANY_CORES = 4  # from this many cores on, a running model leaves enough for the channel threads

_pool: ThreadPoolExecutor | None = None
_lock = threading.Lock()
_models_running = 0
_shared: Any = None  # a multiprocessing.Value("i") the lane's model and writer processes both hold


def share_models_running(value: Any) -> None:
    """Count running models in `value`, shared with another process: the writer process
    (server/writer_process.py) reads what its model process marks."""
    global _shared
    _shared = value


@contextmanager
def model_running() -> Iterator[None]:
    """Marks a model at work in this process (the model process's job thread wraps its runs)."""
    global _models_running
    with _lock:
        _models_running += 1
    _add_shared(1)
    try:
        yield
    finally:
        with _lock:
            _models_running -= 1
        _add_shared(-1)


def _add_shared(n: int) -> None:
    if _shared is not None:
        with _shared.get_lock():
            _shared.value += n


def side_by_side(rows: int, frames: int) -> bool:
    """Whether map_rows would run `rows` rows of `frames` frames in parallel threads now."""
    return THREADS >= 2 and rows >= 2 and frames >= MIN_FRAMES and _cores_to_spare()


def map_rows(fn: Callable[[T], R], rows: Sequence[T], frames: int) -> list[R]:
    """[fn(row) for row in rows], in parallel threads when there are several long rows and cores
    to spare."""
    if not side_by_side(len(rows), frames):
        return [fn(row) for row in rows]
    return list(_executor().map(fn, rows))


def _cores_to_spare() -> bool:
    running = _models_running if _shared is None else _shared.value
    return running == 0 or (os.cpu_count() or 1) >= MANY_CORES


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="dawgen-post")
        return _pool
