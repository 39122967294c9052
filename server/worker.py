"""Scheduling and execution: a priority FIFO shared by one worker thread per compute device.

Generation never runs on a network thread: front doors submit, workers take jobs from here.
"""
from __future__ import annotations

import heapq
import logging
import threading
import time
from typing import Any, Callable

from .backends.base import RunContext
from .jobs import DawgenError, ErrorCode, Event, EventKind, Job, JobCancelled, JobState

log = logging.getLogger("dawgen.worker")

PROGRESS_INTERVAL = 0.1  # seconds between progress events of one job (stage changes always go out)


class Scheduler:
    """Highest priority first, then first come first served. Thread-safe."""

    def __init__(self) -> None:
        self._heap: list[tuple[int, int, str]] = []
        self._jobs: dict[str, Job] = {}
        self._running: dict[str, Job] = {}
        self._cond = threading.Condition()
        self._closed = False

    def put(self, job: Job) -> int:
        with self._cond:
            self._jobs[job.id] = job
            heapq.heappush(self._heap, (-job.priority, job.seq, job.id))
            self._cond.notify()
            return self._position_locked(job)

    def take(self, timeout: float = 0.5) -> Job | None:
        """The next job (marked running in the scheduler), or None when closed / timed out."""
        with self._cond:
            deadline = time.monotonic() + timeout
            while not self._closed:
                while self._heap:
                    _, _, job_id = heapq.heappop(self._heap)
                    job = self._jobs.pop(job_id, None)
                    if job is not None:  # None: removed by cancel
                        self._running[job.id] = job
                        return job
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._cond.wait(remaining)
            return None

    def finish(self, job: Job) -> None:
        with self._cond:
            self._running.pop(job.id, None)

    def remove(self, job_id: str) -> Job | None:
        """Take a queued job out (cancel); its heap entry is skipped lazily."""
        with self._cond:
            return self._jobs.pop(job_id, None)

    def position(self, job: Job) -> int:
        with self._cond:
            return self._position_locked(job)

    def _position_locked(self, job: Job) -> int:
        """Jobs ahead of `job`: everything running plus queued jobs that sort before it."""
        if job.id in self._running:
            return 0
        key = (-job.priority, job.seq)
        ahead = sum(1 for j in self._jobs.values() if (-j.priority, j.seq) < key)
        return len(self._running) + ahead

    def snapshot(self) -> list[Job]:
        with self._cond:
            queued = sorted(self._jobs.values(), key=lambda j: (-j.priority, j.seq))
            return [*self._running.values(), *queued]

    def get(self, job_id: str) -> Job | None:
        with self._cond:
            return self._jobs.get(job_id) or self._running.get(job_id)

    def running_count(self) -> int:
        with self._cond:
            return len(self._running)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()


class ProgressReporter:
    """Turns a backend's progress calls into throttled events with an ETA."""

    def __init__(self, job: Job, emit: Callable[[Event], None], estimate: float) -> None:
        self.job = job
        self._emit = emit
        self._estimate = estimate
        self._start = time.monotonic()
        self._last_sent = 0.0

    def __call__(self, fraction: float, stage: str) -> None:
        job = self.job
        elapsed = time.monotonic() - self._start
        if fraction > 0.02:
            eta = elapsed * (1.0 - fraction) / fraction
        else:
            eta = max(0.0, self._estimate - elapsed)
        stage_changed = stage != job.progress.stage
        job.progress.fraction, job.progress.stage, job.progress.eta_seconds = fraction, stage, eta
        now = time.monotonic()
        if stage_changed or fraction >= 1.0 or now - self._last_sent >= PROGRESS_INTERVAL:
            self._last_sent = now
            self._emit(Event(EventKind.PROGRESS, job))


class Worker(threading.Thread):
    """One per compute device: take a job, run it through `execute`, repeat until stopped."""

    def __init__(self, device: str, scheduler: Scheduler, execute: Callable[[Job, str], None]) -> None:
        super().__init__(name=f"dawgen-worker-{device}", daemon=True)
        self.device = device
        self._scheduler = scheduler
        self._execute = execute
        self._stop_flag = threading.Event()
        self.current: Job | None = None

    def stop(self) -> None:
        self._stop_flag.set()

    def run(self) -> None:
        while not self._stop_flag.is_set():
            job = self._scheduler.take(timeout=0.5)
            if job is None:
                continue
            self.current = job
            try:
                self._execute(job, self.device)
            except Exception:  # noqa: BLE001 - a bug in one job must not kill the worker
                log.exception("unexpected error running job %s", job.id)
            finally:
                self.current = None
                self._scheduler.finish(job)


def run_job(job: Job, load: Callable[[], Any], make_ctx: Callable[[Any], RunContext],
            write: Callable[[list[Any]], list[str]]) -> None:
    """Load the backend, run, write: leaves `job` in a final state. Never raises for job failures.

    Loading happens in here so that a model that fails to load (missing extra, bad file) fails
    the job with a clear error instead of leaving it running forever.
    """
    backend: Any = None
    try:
        backend = load()
        ctx = make_ctx(backend)
        outputs = backend.run(job.verb, ctx)
        ctx.check_cancel()  # a job cancelled during its last step writes nothing
        ctx.progress(1.0, "writing")
        job.outputs = write(outputs)
        job.state = JobState.DONE
        job.progress.stage, job.progress.fraction, job.progress.eta_seconds = "done", 1.0, 0.0
    except JobCancelled as exc:
        _fail(job, JobState.CANCELLED, exc.code, exc.message)
    except DawgenError as exc:
        _fail(job, JobState.FAILED, exc.code, exc.message)
    except MemoryError:
        _fail(job, JobState.FAILED, ErrorCode.OUT_OF_MEMORY, "not enough memory for this job")
    except ImportError as exc:
        _fail(job, JobState.FAILED, ErrorCode.MODEL_UNAVAILABLE, f"model {job.model!r} cannot load: {exc}")
    except Exception as exc:  # noqa: BLE001 - backend bugs become a job error, not a dead daemon
        log.exception("backend %s failed on job %s", getattr(backend, "name", job.model), job.id)
        _fail(job, JobState.FAILED, ErrorCode.BACKEND_FAILED, f"{type(exc).__name__}: {exc}")


def _fail(job: Job, state: JobState, code: str, message: str) -> None:
    job.state = state
    job.error_code, job.error_message = code, message
    job.progress.stage = state.value
