"""Scheduling: a priority FIFO shared by one worker thread per compute device (lane).

Generation never runs on a network thread: front doors submit, workers take jobs from here.
"""
from __future__ import annotations

import heapq
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from .jobs import Job

log = logging.getLogger("dawgen.scheduler")


class Scheduler:
    """Highest priority first, then first come first served. Thread-safe."""

    def __init__(self) -> None:
        self._heap: list[tuple[int, int, str]] = []
        self._jobs: dict[str, Job] = {}
        # queued jobs per priority: the position of a new job is a sum over a handful of priorities,
        # not a scan of the whole queue (this runs on every acknowledgement).
        self._per_priority: Counter[int] = Counter()
        self._running: dict[str, Job] = {}
        # job id -> the worker lane it must run on (a model pinned to a device); absent = any lane
        self._lanes: dict[str, str] = {}
        self._cond = threading.Condition()
        self._closed = False

    def put(self, job: Job, lane: str | None = None) -> None:
        with self._cond:
            self._jobs[job.id] = job
            if lane is not None:
                self._lanes[job.id] = lane
            self._per_priority[job.priority] += 1
            heapq.heappush(self._heap, (-job.priority, job.seq, job.id))
            self._cond.notify_all()  # every lane looks: the job may be pinned to one of them

    def position_of_new(self, priority: int) -> int:
        """Where a job about to be put would stand: after everything running and every queued job
        of the same or higher priority (it has the highest sequence number)."""
        with self._cond:
            ahead = sum(n for p, n in self._per_priority.items() if p >= priority)
            return len(self._running) + ahead

    def take(self, timeout: float = 0.5, lane: str | None = None,
             accept: Callable[[Job], bool] | None = None) -> Job | None:
        """The next job `lane` may run (marked running in the scheduler), or None when closed /
        timed out. Jobs pinned to another lane, or that `accept` refuses, stay queued in order."""
        with self._cond:
            deadline = time.monotonic() + timeout
            while not self._closed:
                job = self._pop_for(lane, accept)
                if job is not None:
                    return job
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._cond.wait(remaining)
            return None

    def _pop_for(self, lane: str | None, accept: Callable[[Job], bool] | None = None) -> Job | None:
        skipped: list[tuple[int, int, str]] = []
        found = None
        while self._heap:
            entry = heapq.heappop(self._heap)
            if entry[2] not in self._jobs:  # removed by cancel
                continue
            pinned = self._lanes.get(entry[2])
            if (lane is not None and pinned is not None and pinned != lane) or \
                    (accept is not None and not accept(self._jobs[entry[2]])):
                skipped.append(entry)
                continue
            found = self._jobs.pop(entry[2])
            self._lanes.pop(found.id, None)
            self._per_priority[found.priority] -= 1
            self._running[found.id] = found
            break
        for entry in skipped:
            heapq.heappush(self._heap, entry)
        return found

    def finish(self, job: Job) -> None:
        with self._cond:
            self._running.pop(job.id, None)

    def remove(self, job_id: str) -> Job | None:
        """Take a queued job out (cancel); its heap entry is skipped lazily."""
        with self._cond:
            job = self._jobs.pop(job_id, None)
            self._lanes.pop(job_id, None)
            if job is not None:
                self._per_priority[job.priority] -= 1
            return job

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

    def queued_count(self) -> int:
        with self._cond:
            return len(self._jobs)

    def running_count(self) -> int:
        with self._cond:
            return len(self._running)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()


class Worker(threading.Thread):
    """One per compute device: take a job, hand it to `execute` with this worker's runner, repeat.

    While a job that `yields` runs (training), a `LiveLane` takes the other jobs of this lane and
    hands them to the same runner, which runs each at the long job's next step boundary."""

    def __init__(self, device: str, scheduler: Scheduler, runner: Any, execute: Callable[[Job, Any], None],
                 yields: Callable[[Job], bool] | None = None) -> None:
        super().__init__(name=f"dawgen-worker-{device}", daemon=True)
        self.device = device
        self.runner = runner
        self._scheduler = scheduler
        self._execute = execute
        self._yields = yields
        self._stop_flag = threading.Event()

    def stop(self) -> None:
        self._stop_flag.set()

    def run(self) -> None:
        self.runner.start()
        while not self._stop_flag.is_set():
            job = self._scheduler.take(timeout=0.5, lane=self.device)
            if job is None:
                continue
            live = None
            if self._yields is not None and self._yields(job):
                live = LiveLane(self.device, self._scheduler, self.runner, self._execute, self._yields)
                live.start()
            try:
                run_one(job, self._scheduler, self.runner, self._execute)
            finally:
                if live is not None:
                    live.close()


class LiveLane(threading.Thread):
    """Live work beside a yielding job: takes this lane's jobs that do not yield themselves."""

    def __init__(self, device: str, scheduler: Scheduler, runner: Any, execute: Callable[[Job, Any], None],
                 yields: Callable[[Job], bool]) -> None:
        super().__init__(name=f"dawgen-live-{device}", daemon=True)
        self.device, self._scheduler, self._runner, self._execute = device, scheduler, runner, execute
        self._live = lambda job: not yields(job)
        self._done = threading.Event()

    def close(self) -> None:
        """Take no more jobs; a job already handed over finishes first (the runner runs it)."""
        self._done.set()
        self.join()

    def run(self) -> None:
        while not self._done.is_set():
            job = self._scheduler.take(timeout=0.1, lane=self.device, accept=self._live)
            if job is not None:
                run_one(job, self._scheduler, self._runner, self._execute)


def run_one(job: Job, scheduler: Scheduler, runner: Any, execute: Callable[[Job, Any], None]) -> None:
    """Run a taken job's model; a bug in one job is logged, never the end of the thread that ran it.

    `execute` finishes the job in the scheduler itself once its files are written, which may be
    after it returns (post runs beside the lane, server/post_pool.py): the lane takes its next job
    meanwhile, and the job counts as running until then. After a bug it is finished here."""
    try:
        execute(job, runner)
    except Exception:
        log.exception("unexpected error running job %s", job.id)
        scheduler.finish(job)
