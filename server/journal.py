"""Durable job journal in SQLite (WAL).

The journal moves rows; it knows nothing of scheduling. A job is recorded before it is acknowledged,
and every state change is committed before its event is sent, so after a crash the journal says
exactly which jobs still owe their outputs. `Journal(":memory:")` is the immediate mode for tests.

Group commit: `record_batch` records many requests in one transaction. Each commit of a lone insert
appends ~18 KB to the WAL (the table, its two indexes and sqlite_sequence, a 4 KB page each); 16
requests in one transaction append ~3.4 KB each and take a fifth of the time. Front doors that
receive several requests at once (the UDP door drains its socket) hand them over together.
"""
from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import DawgenError, ErrorCode
from .jobs import Job, JobState, Progress

log = logging.getLogger("dawgen.journal")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    req_id TEXT NOT NULL,
    request TEXT NOT NULL,
    verb TEXT NOT NULL,
    model TEXT NOT NULL,
    params TEXT NOT NULL,
    client TEXT NOT NULL,
    priority INTEGER NOT NULL,
    state TEXT NOT NULL,
    stage TEXT NOT NULL DEFAULT '',
    outputs TEXT NOT NULL DEFAULT '[]',
    error_code TEXT NOT NULL DEFAULT '',
    error_message TEXT NOT NULL DEFAULT '',
    created REAL NOT NULL,
    started REAL NOT NULL DEFAULT 0,
    finished REAL NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS jobs_req ON jobs(req_id, created);
DROP INDEX IF EXISTS jobs_state;
"""
# No index on state: it would cost a page write on every accept and every transition, and the only
# query by state (recovery at start) scans a journal that prune() keeps small.

_COLUMNS = (
    "seq, id, req_id, request, verb, model, params, client, priority, state, stage, outputs, "
    "error_code, error_message, created, started, finished, attempts"
)
_FINISHED = (JobState.DONE.value, JobState.FAILED.value, JobState.CANCELLED.value)
# A checkpointed WAL is cut back to this size at the next write: without it the file keeps its
# high-water mark (2,920 requests accepted in a burst left a 59 MB state folder, nearly all WAL).
WAL_SIZE_LIMIT = 4 << 20
PRUNE_CHUNK = 500  # rows per delete: a big prune never holds the journal (and so every accept) for long
DAY = 86400.0

# record_batch's answer per entry: (job, created) or the error that refused it
Outcome = tuple[Job, bool] | DawgenError


@dataclass
class Entry:
    """One request to record: the validated job, the request as received, and `admit`, called after
    deduplication and before the insert (it raises DawgenError to refuse, e.g. queue_full)."""

    job: Job
    request: dict[str, Any]
    admit: Callable[[], None] | None = None


class Journal:
    def __init__(self, path: str | os.PathLike[str], sync: str = "normal", dedupe_seconds: float = 600.0) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        # One connection shared under a lock: writes are tiny and SQLite serialises them anyway.
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        self.dedupe_seconds = dedupe_seconds
        if self.path != ":memory:":
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT}")
        # NORMAL in WAL mode survives a process crash (kill -9); FULL also survives power loss at
        # the cost of an fsync per accepted job. Configurable: [server] journal_sync.
        if sync.lower() not in ("normal", "full"):
            raise ValueError("journal_sync must be 'normal' or 'full'")
        self._db.execute(f"PRAGMA synchronous={sync.upper()}")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.executescript(_SCHEMA)
        self._checkpointer: threading.Thread | None = None
        self._closed = threading.Event()
        if self.path != ":memory:":
            # SQLite's automatic checkpoint runs inside whichever commit crosses the threshold and
            # costs several ms (with an fsync): that would land on a request's acknowledgement every
            # ~200 jobs. Checkpoint from a background thread on its own connection instead.
            self._db.execute("PRAGMA wal_autocheckpoint=0")
            self._checkpointer = threading.Thread(target=self._checkpoint_loop, name="dawgen-journal-checkpoint",
                                                  daemon=True)
            self._checkpointer.start()

    def prune(self, keep_days: float, now: float | None = None) -> int:
        """Forget jobs that finished more than `keep_days` before `now`; their files stay where they
        are. Deletes in chunks, so accepting requests meanwhile waits for one chunk at most."""
        cutoff = (time.time() if now is None else now) - keep_days * DAY
        total = 0
        while True:
            with self._lock:
                cur = self._db.execute(
                    "DELETE FROM jobs WHERE seq IN (SELECT seq FROM jobs WHERE state IN (?, ?, ?) AND "
                    "(CASE WHEN finished > 0 THEN finished ELSE created END) < ? LIMIT ?)",
                    (*_FINISHED, cutoff, PRUNE_CHUNK))
            total += max(cur.rowcount, 0)
            if cur.rowcount < PRUNE_CHUNK:
                return total

    def close(self) -> None:
        self._closed.set()
        if self._checkpointer is not None:
            self._checkpointer.join(5)
        with self._lock:
            self._db.close()

    def disk_bytes(self) -> int:
        """Bytes on disk: the database file and its write-ahead log."""
        if self.path == ":memory:":
            return 0
        return sum(os.path.getsize(p) for p in (self.path, self.path + "-wal") if os.path.exists(p))

    def _checkpoint_loop(self, interval: float = 1.0) -> None:
        db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        db.execute("PRAGMA busy_timeout=5000")
        try:
            while not self._closed.wait(interval):
                db.execute("PRAGMA wal_checkpoint(PASSIVE)")
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # leave a small WAL behind on clean exit
        except sqlite3.Error:
            pass  # a busy or closing database: the next start checkpoints anyway
        finally:
            db.close()

    # -- writes ---------------------------------------------------------------------------------
    def record(self, job: Job, request: dict[str, Any], admit: Callable[[], None] | None = None) -> tuple[Job, bool]:
        """Insert `job` unless its request id was seen recently; return (job, created).

        The same id with the same request returns the existing job (a resent UDP packet). The same
        id with a different request is a client bug and gets `duplicate_id`, rather than silently
        answering with an unrelated job. Raises the DawgenError that refused it.
        """
        outcome = self.record_batch([Entry(job, request, admit)])[0]
        if isinstance(outcome, DawgenError):
            raise outcome
        return outcome

    def record_batch(self, entries: list[Entry]) -> list[Outcome]:
        """Record `entries` in order, in one transaction (group commit): when this returns, every
        (job, True) among the answers is on disk. Deduplication sees the earlier entries of the same
        batch. A database error refuses the whole batch (nothing of it is recorded)."""
        texts = [json.dumps(e.request, sort_keys=True, default=str) for e in entries]
        since = time.time() - self.dedupe_seconds
        seen: dict[str, tuple[Job, str]] = {}
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                outcomes = [self._record_one(e, text, since, seen) for e, text in zip(entries, texts)]
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                self._rollback()
                log.exception("the journal could not record %d request(s)", len(entries))
                error = DawgenError(ErrorCode.INTERNAL, f"the journal could not record the request ({exc}); "
                                    "see the daemon log")
                return [error] * len(entries)
            except BaseException:
                self._rollback()
                raise
        return outcomes

    def _rollback(self) -> None:
        try:
            self._db.execute("ROLLBACK")
        except sqlite3.Error:
            pass  # no transaction left to roll back (SQLite already did)

    def _record_one(self, entry: Entry, text: str, since: float, seen: dict[str, tuple[Job, str]]) -> Outcome:
        job = entry.job
        if job.req_id:
            prior = seen.get(job.req_id)
            if prior is None:
                row = self._db.execute(
                    f"SELECT {_COLUMNS} FROM jobs WHERE req_id=? AND created>=? ORDER BY seq DESC LIMIT 1",
                    (job.req_id, since),
                ).fetchone()
                prior = (_row_to_job(row), row[3]) if row is not None else None
            if prior is not None:
                if prior[1] != text:
                    return DawgenError(ErrorCode.DUPLICATE_ID, f"request id {job.req_id!r} was already used for a "
                                       "different request; use a new id for each request")
                return prior[0], False
        if entry.admit is not None:
            try:
                entry.admit()
            except DawgenError as exc:
                return exc  # refused before the insert: nothing of it is journaled
        try:
            cur = self._db.execute(
                "INSERT INTO jobs (id, req_id, request, verb, model, params, client, priority, state, "
                "stage, created) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (
                    job.id, job.req_id, text, job.verb, job.model,
                    json.dumps(job.params, default=str), json.dumps(_client_column(job)),
                    job.priority, job.state.value, job.progress.stage, job.created,
                ),
            )
        except sqlite3.IntegrityError:  # a job id drawn twice: only this insert is undone, not the batch
            return DawgenError(ErrorCode.INTERNAL, f"job id {job.id} is taken; send the request again")
        job.seq = int(cur.lastrowid or 0)
        if job.req_id:
            seen[job.req_id] = (job, text)
        return job, True

    def jobs_with_output(self, path: str, limit: int = 10) -> list[Job]:
        """Jobs that wrote `path` (an exact entry of their outputs), newest first."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_COLUMNS} FROM jobs WHERE instr(outputs, ?) > 0 ORDER BY seq DESC LIMIT ?",
                (json.dumps(path), limit)).fetchall()
        return [job for job in map(_row_to_job, rows) if path in job.outputs]

    def save(self, job: Job) -> None:
        """Persist a state change (not per-step progress: that lives in memory only)."""
        with self._lock, self._db:
            self._db.execute(
                "UPDATE jobs SET state=?, stage=?, outputs=?, error_code=?, error_message=?, "
                "started=?, finished=?, attempts=? WHERE id=?",
                (
                    job.state.value, job.progress.stage, json.dumps(job.outputs), job.error_code,
                    job.error_message, job.started, job.finished, job.attempts, job.id,
                ),
            )

    def save_priority(self, job: Job) -> None:
        """Persist a queued job's new priority (a restart re-queues it in the new order)."""
        with self._lock, self._db:
            self._db.execute("UPDATE jobs SET priority=? WHERE id=?", (job.priority, job.id))

    # -- reads ----------------------------------------------------------------------------------
    def get(self, job_id: str) -> Job | None:
        return self._one("SELECT {} FROM jobs WHERE id=?", (job_id,))

    def find(self, ident: str) -> Job | None:
        """A job by its id, else the newest job with that request id."""
        return self.get(ident) or self._one(
            "SELECT {} FROM jobs WHERE req_id=? ORDER BY seq DESC LIMIT 1", (ident,)
        )

    def owners(self, job_ids: list[str]) -> dict[str, str]:
        """Job id -> owning client ("" the admin) of those of `job_ids` the journal still holds."""
        found: dict[str, str] = {}
        ids = list(dict.fromkeys(job_ids))
        with self._lock:
            for start in range(0, len(ids), 500):  # SQLite's limit on bound parameters
                chunk = ids[start:start + 500]
                rows = self._db.execute(f"SELECT id, client FROM jobs WHERE id IN ({','.join('?' * len(chunk))})",
                                        chunk).fetchall()
                found.update((job_id, str(json.loads(client).get(OWNER_KEY, ""))) for job_id, client in rows)
        return found

    def request_of(self, job_id: str) -> dict[str, Any]:
        with self._lock:
            row = self._db.execute("SELECT request FROM jobs WHERE id=?", (job_id,)).fetchone()
        return json.loads(row[0]) if row else {}

    def unfinished(self) -> list[Job]:
        """Jobs that were queued or running, in the order they should run."""
        return self._many(
            "SELECT {} FROM jobs WHERE state IN (?, ?) ORDER BY priority DESC, seq ASC",
            (JobState.QUEUED.value, JobState.RUNNING.value),
        )

    def recent(self, limit: int = 50) -> list[Job]:
        return self._many("SELECT {} FROM jobs ORDER BY seq DESC LIMIT ?", (limit,))

    def _one(self, sql: str, args: Iterable[Any]) -> Job | None:
        with self._lock:
            row = self._db.execute(sql.format(_COLUMNS), tuple(args)).fetchone()
        return _row_to_job(row) if row else None

    def _many(self, sql: str, args: Iterable[Any]) -> list[Job]:
        with self._lock:
            rows = self._db.execute(sql.format(_COLUMNS), tuple(args)).fetchall()
        return [_row_to_job(r) for r in rows]


class Pruner:
    """Keeps the journal small: forgets finished jobs older than `keep_days`, once at start (`tick`)
    and then every `interval` seconds on its own thread while the daemon runs.

    `clock` (wall time) and `wait` (blocks up to the interval; True = stop) are injectable, so a
    test can run the daily prune of a job that aged meanwhile without waiting a day."""

    def __init__(self, journal: Journal, keep_days: float, interval: float = DAY,
                 clock: Callable[[], float] = time.time, wait: Callable[[float], bool] | None = None) -> None:
        self.journal, self.keep_days, self.interval, self.clock = journal, keep_days, interval, clock
        self._stop = threading.Event()
        self._wait = wait or self._stop.wait
        self._thread: threading.Thread | None = None

    def tick(self) -> int:
        pruned = self.journal.prune(self.keep_days, now=self.clock())
        if pruned:
            log.info("forgot %d finished job(s) older than %g days", pruned, self.keep_days)
        return pruned

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="dawgen-journal-prune", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._wait(self.interval) and not self._stop.is_set():
            try:
                self.tick()
            except sqlite3.Error as exc:  # a busy or closing database: the next day tries again
                log.warning("pruning the journal failed: %s", exc)


def _row_to_job(row: tuple[Any, ...]) -> Job:
    (seq, job_id, req_id, _request, verb, model, params, client, priority, state, stage, outputs,
     error_code, error_message, created, started, finished, attempts) = row
    job_state = JobState(state)
    reply_to = json.loads(client)
    owner = str(reply_to.pop(OWNER_KEY, ""))
    return Job(
        id=job_id, verb=verb, model=model, params=json.loads(params), req_id=req_id, owner=owner,
        client=reply_to, priority=priority, state=job_state,
        progress=Progress(fraction=1.0 if job_state is JobState.DONE else 0.0, stage=stage),
        outputs=json.loads(outputs), error_code=error_code, error_message=error_message,
        created=created, started=started, finished=finished, attempts=attempts, seq=seq,
    )


# The owning client ([clients.NAME]) is kept in the client column's JSON: no new column, and a
# journal written before clients existed reads as the admin's jobs.
OWNER_KEY = "owner"


def _client_column(job: Job) -> dict[str, Any]:
    return {**job.client, OWNER_KEY: job.owner} if job.owner else job.client
