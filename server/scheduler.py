"""Scheduling: a priority FIFO shared by one worker thread per compute device (lane).

Generation never runs on a network thread: front doors submit, workers take jobs from here.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from .fairshare import Level
from .jobs import Job, JobState

log = logging.getLogger("dawgen.scheduler")


class Scheduler:
    """Highest priority first; within a priority, fair share across clients (server/fairshare.py),
    each client's jobs first come first served. Thread-safe."""

    def __init__(self, shares: dict[str, int] | None = None) -> None:
        self._shares = dict(shares or {})  # [clients.NAME] share; absent (and the admin ""): 1
        self._levels: dict[int, Level] = {}
        self._jobs: dict[str, Job] = {}
        # queued jobs per priority and per owner: the position of a new job with one client queued is
        # a sum over a handful of priorities, not a scan of the queue (this runs on every acknowledgement).
        self._per_priority: Counter[int] = Counter()
        self._per_owner: Counter[str] = Counter()
        self._running: dict[str, Job] = {}
        # job id -> the worker lane it must run on (a model pinned to a device); absent = any lane
        self._lanes: dict[str, str] = {}
        self._cond = threading.Condition()
        self._closed = False

    def _share(self, owner: str) -> int:
        return max(1, self._shares.get(owner, 1))

    def put(self, job: Job, lane: str | None = None) -> None:
        with self._cond:
            self._jobs[job.id] = job
            if lane is not None:
                self._lanes[job.id] = lane
            self._per_priority[job.priority] += 1
            self._per_owner[job.owner] += 1
            self._levels.setdefault(job.priority, Level(self._share)).put(job.owner, job.seq, job.id)
            self._cond.notify_all()  # every lane looks: the job may be pinned to one of them

    def position_of_new(self, priority: int, owner: str = "") -> int:
        """Where a job about to be put would stand: after everything running, every queued job of a
        higher priority, and the jobs of its own priority the fair share puts before it."""
        with self._cond:
            ahead = sum(n for p, n in self._per_priority.items() if p > priority)
            if self._one_owner(owner):
                return len(self._running) + ahead + self._per_priority[priority]
            level = self._levels.get(priority)
            same = level.order((owner, 1 << 62, "")).index("") if level else 0
            return len(self._running) + ahead + same

    def _one_owner(self, owner: str) -> bool:
        """Every queued job is `owner`'s (the usual case: no [clients]): plain FIFO order."""
        return all(o == owner for o, n in self._per_owner.items() if n > 0)

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
        def eligible(job_id: str) -> bool:
            pinned = self._lanes.get(job_id)
            if lane is not None and pinned is not None and pinned != lane:
                return False
            return accept is None or accept(self._jobs[job_id])

        for priority in sorted((p for p, level in self._levels.items() if level), reverse=True):
            level = self._levels[priority]
            best = min(level.candidates(eligible), default=None)
            if best is None:
                continue
            _, _, owner, entry = best
            level.take(owner, entry)
            found = self._jobs.pop(entry[1])
            self._lanes.pop(found.id, None)
            self._per_priority[found.priority] -= 1
            self._per_owner[found.owner] -= 1
            self._running[found.id] = found
            return found
        return None

    def finish(self, job: Job) -> None:
        with self._cond:
            self._running.pop(job.id, None)

    def remove(self, job_id: str) -> Job | None:
        """Take a queued job out (cancel)."""
        with self._cond:
            job = self._jobs.pop(job_id, None)
            self._lanes.pop(job_id, None)
            if job is not None:
                self._per_priority[job.priority] -= 1
                self._per_owner[job.owner] -= 1
                self._levels[job.priority].remove(job.owner, job.id)
            return job

    def reprioritise(self, job_id: str, priority: int) -> Job | None:
        """Give a queued job a new priority (None when it is not queued). Its age (`seq`) still
        orders it among its owner's jobs of the new level."""
        with self._cond:
            job = self._jobs.get(job_id)
            if job is None:
                return None
            if job.priority != priority:
                self._levels[job.priority].remove(job.owner, job.id)
                self._per_priority[job.priority] -= 1
                job.priority = priority
                self._per_priority[priority] += 1
                self._levels.setdefault(priority, Level(self._share)).put(job.owner, job.seq, job.id)
                self._cond.notify_all()
            return job

    def position(self, job: Job) -> int:
        with self._cond:
            return self._position_locked(job)

    def _position_locked(self, job: Job) -> int:
        """Jobs ahead of `job`: everything running plus queued jobs that run before it."""
        if job.id in self._running:
            return 0
        if self._one_owner(job.owner):
            key = (-job.priority, job.seq)
            ahead = sum(1 for j in self._jobs.values() if (-j.priority, j.seq) < key)
            return len(self._running) + ahead
        order = self._order_locked()
        return len(self._running) + (order.index(job.id) if job.id in order else len(order))

    def _order_locked(self) -> list[str]:
        """Queued job ids in run order (fair share within each priority; lane pins not counted)."""
        return [job_id for p in sorted(self._levels, reverse=True) for job_id in self._levels[p].order()]

    def snapshot(self) -> list[Job]:
        with self._cond:
            queued = [self._jobs[job_id] for job_id in self._order_locked()]
            return [*self._running.values(), *queued]

    def get(self, job_id: str) -> Job | None:
        with self._cond:
            return self._jobs.get(job_id) or self._running.get(job_id)

    def queued_count(self, owner: str | None = None) -> int:
        """Jobs waiting; of one owner (a [clients] name, "" = this machine) when given."""
        with self._cond:
            return len(self._jobs) if owner is None else self._per_owner[owner]

    def running_count(self) -> int:
        with self._cond:
            return len(self._running)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()


# Jobs one lane holds at once when its runner pipelines (a model process): one on the device, the
# rest being post-processed and written. Two keeps the device busy whenever post is shorter than the
# model, and bounds what waits in memory; later jobs stay in the queue, where priorities still apply.
PIPELINE_DEPTH = 2


class Worker(threading.Thread):
    """One per compute device: take a job, hand it to `execute` with this worker's runner, repeat.

    A job runs in a thread of its own; the worker takes the lane's next job as soon as the runner
    says the device is free (`model_done`: the model finished, its files are being written), or
    the job ended, with at most PIPELINE_DEPTH jobs held. A runner that never calls `model_done`
    (inline, Ray) runs its jobs one after another, as before.
    While a job that `yields` runs (training), a `LiveLane` takes the other jobs of this lane and
    hands them to the same runner, which runs each at the long job's next step boundary."""

    def __init__(self, device: str, scheduler: Scheduler, runner: Any, execute: Callable[..., None],
                 yields: Callable[[Job], bool] | None = None, depth: int = PIPELINE_DEPTH) -> None:
        super().__init__(name=f"dawgen-worker-{device}", daemon=True)
        self.device = device
        self.runner = runner
        self._scheduler = scheduler
        self._execute = execute
        self._yields = yields
        self._stop_flag = threading.Event()
        self._slots = threading.BoundedSemaphore(max(1, depth))
        self._held: list[threading.Thread] = []

    def stop(self) -> None:
        self._stop_flag.set()

    def run(self) -> None:
        self.runner.start()
        while not self._stop_flag.is_set():
            if not self._slots.acquire(timeout=0.5):
                continue
            job = self._scheduler.take(timeout=0.5, lane=self.device)
            if job is None:
                self._slots.release()
                continue
            if self._yields is not None and self._yields(job):
                self._run_yielding(job)
            else:
                self._start(job)
        for held in list(self._held):  # a drain: the jobs this lane holds end first
            held.join()

    def _start(self, job: Job) -> None:
        """Run `job` in its own thread; return once the device is free for the next one."""
        free = threading.Event()

        def run() -> None:
            try:
                run_one(job, self._scheduler, self.runner, self._execute, model_done=free.set)
            finally:
                free.set()
                self._slots.release()

        thread = threading.Thread(target=run, name=f"dawgen-job-{self.device}", daemon=True)
        self._held = [t for t in self._held if t.is_alive()] + [thread]
        thread.start()
        free.wait()

    def _run_yielding(self, job: Job) -> None:
        live = LiveLane(self.device, self._scheduler, self.runner, self._execute, self._yields)  # type: ignore[arg-type]
        live.start()
        try:
            run_one(job, self._scheduler, self.runner, self._execute)
        finally:
            live.close()
            self._slots.release()


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


def run_one(job: Job, scheduler: Scheduler, runner: Any, execute: Callable[..., None],
            model_done: Callable[[], None] | None = None) -> None:
    """Run a taken job; a bug in one job is logged, never the end of the thread that ran it."""
    try:
        if model_done is None:
            execute(job, runner)
        else:
            execute(job, runner, model_done)
    except Exception:
        log.exception("unexpected error running job %s", job.id)
    finally:
        scheduler.finish(job)


def fill_etas(jobs: list[Job], lanes: int, estimate: Callable[[Job], float]) -> list[Job]:
    """Each queued job's ETA (its wait plus its own run), on a simple list schedule over `lanes`:
    `jobs` in run order, running ones first, which hold their lane for their own remaining ETA."""
    busy_until = [0.0] * lanes
    for job in jobs:
        slot = min(range(lanes), key=busy_until.__getitem__)
        if job.state is JobState.RUNNING:
            busy_until[slot] += job.progress.eta_seconds if job.progress.eta_seconds >= 0 else estimate(job)
            continue
        busy_until[slot] += estimate(job)
        job.progress.eta_seconds = busy_until[slot]
    return jobs
