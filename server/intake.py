"""The way into the queue: the `[server] max_queued` bound, and batches of requests journaled together.

A request passes, in this order: validation (the engine, at once) -> deduplication by request id (the
journal) -> the bound (QueueBound.admit, called by the journal inside the same transaction, so a
resent request of an accepted job is answered even when the queue is full, and a refused one leaves
nothing behind) -> the insert -> commit -> acknowledgement -> the scheduler.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, Protocol

from .config_clients import ClientConfig
from .errors import DawgenError, ErrorCode
from .jobs import Job, Request
from .journal import Entry
from .scheduler import Scheduler

log = logging.getLogger("dawgen.intake")

DEFAULT_CLIENT_MAX_QUEUED = ClientConfig("").max_queued
Accepted = Callable[[Job, int], None]
Refused = Callable[[DawgenError], None]
Pending = tuple[Entry, Accepted | None, Refused]


def call_front_door(callback: Callable[..., None] | None, *args: Any) -> None:
    """A front door's answer callback. Its failure is logged and goes no further: the job is
    journaled by then, and the batch's other requests still get their answers."""
    if callback is None:
        return
    try:
        callback(*args)
    except Exception:
        log.exception("a front door's submit callback failed")


class QueueBound:
    """At most `limit` jobs wait: those queued in the scheduler plus those admitted by a batch being
    committed and not yet queued. Running jobs do not count."""

    def __init__(self, scheduler: Scheduler, limit: int, per_client: dict[str, int] | None = None) -> None:
        self.limit = limit
        self.per_client = dict(per_client or {})  # [clients.NAME] max_queued (default 100)
        self._scheduler = scheduler
        self._admitted: dict[str, str] = {}  # job id -> owner
        self._lock = threading.Lock()

    def admit(self, job_id: str, owner: str = "") -> None:
        """Count the job in, or raise `queue_full` (the daemon's bound, then the client's own)."""
        with self._lock:
            waiting = self._scheduler.queued_count() + len(self._admitted)
            if waiting >= self.limit:
                raise DawgenError(ErrorCode.QUEUE_FULL,
                                  f"{waiting} jobs queued, the limit is [server] max_queued = {self.limit}")
            if owner:
                limit = self.per_client.get(owner, DEFAULT_CLIENT_MAX_QUEUED)
                mine = self._scheduler.queued_count(owner) + sum(1 for o in self._admitted.values() if o == owner)
                if mine >= limit:
                    raise DawgenError(ErrorCode.QUEUE_FULL,
                                      f"{mine} of your jobs are queued, the limit is [clients.{owner}] max_queued = {limit}")
            self._admitted[job_id] = owner

    def queue(self, job: Job, lane: str | None) -> None:
        """Hand an admitted job to the scheduler; it is counted there from now on (never twice)."""
        with self._lock:
            self._scheduler.put(job, lane)
            self._admitted.pop(job.id, None)

    def release(self, job_id: str) -> None:
        """An admitted job that was not recorded after all (its batch failed)."""
        with self._lock:
            self._admitted.pop(job_id, None)


class Intake(Protocol):
    """What a batch needs of the engine (which imports this module, never the reverse)."""

    def prepare(self, request: Request) -> Entry: ...

    def commit(self, pending: list[Pending]) -> None: ...


class SubmitBatch:
    """Requests that arrived together (the UDP door drains its socket), journaled in one transaction.

    `add` validates at once and raises DawgenError for a bad request, so the front door answers it in
    order; `commit` records every added request in one transaction, then calls each one's
    `on_accepted(job, position)` (after the commit: an acknowledged job is on disk) or
    `on_refused(error)` (duplicate_id, queue_full), in the order they were added. A front door
    commits before it handles anything that reads the queue, so a `cancel` or `status` right after a
    `generate` in the same batch finds the job."""

    def __init__(self, engine: Intake) -> None:
        self._engine = engine
        self._pending: list[Pending] = []

    def __len__(self) -> int:
        return len(self._pending)

    def add(self, request: Request, on_accepted: Accepted | None, on_refused: Refused) -> None:
        self._pending.append((self._engine.prepare(request), on_accepted, on_refused))

    def commit(self) -> None:
        pending, self._pending = self._pending, []
        if pending:
            self._engine.commit(pending)
