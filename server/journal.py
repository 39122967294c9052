"""Durable job journal in SQLite (WAL).

The journal moves rows; it knows nothing of scheduling. A job is recorded before it is acknowledged,
and every state change is committed before its event is sent, so after a crash the journal says
exactly which jobs still owe their outputs. `Journal(":memory:")` is the immediate mode for tests.
"""
from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, Iterable

from .errors import DawgenError, ErrorCode
from .jobs import Job, JobState, Progress

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

    def prune(self, keep_days: float) -> int:
        """Forget finished jobs older than `keep_days`; their files stay where they are."""
        cutoff = time.time() - keep_days * 86400
        with self._lock, self._db:
            cur = self._db.execute("DELETE FROM jobs WHERE state IN (?, ?, ?) AND created < ?",
                                   (JobState.DONE.value, JobState.FAILED.value, JobState.CANCELLED.value, cutoff))
        return cur.rowcount

    def close(self) -> None:
        self._closed.set()
        if self._checkpointer is not None:
            self._checkpointer.join(5)
        with self._lock:
            self._db.close()

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
    def record(self, job: Job, request: dict[str, Any]) -> tuple[Job, bool]:
        """Insert `job` unless its request id was seen recently; return (job, created).

        The same id with the same request returns the existing job (a resent UDP packet). The same
        id with a different request is a client bug and gets `duplicate_id`, rather than silently
        answering with an unrelated job.
        """
        request_json = json.dumps(request, sort_keys=True, default=str)
        with self._lock, self._db:
            if job.req_id:
                row = self._db.execute(
                    f"SELECT {_COLUMNS} FROM jobs WHERE req_id=? AND created>=? ORDER BY seq DESC LIMIT 1",
                    (job.req_id, time.time() - self.dedupe_seconds),
                ).fetchone()
                if row is not None:
                    if row[3] != request_json:
                        raise DawgenError(
                            ErrorCode.DUPLICATE_ID,
                            f"request id {job.req_id!r} was already used for a different request; "
                            "use a new id for each request",
                        )
                    return _row_to_job(row), False
            cur = self._db.execute(
                "INSERT INTO jobs (id, req_id, request, verb, model, params, client, priority, state, "
                "stage, created) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (
                    job.id, job.req_id, request_json, job.verb, job.model,
                    json.dumps(job.params, default=str), json.dumps(job.client),
                    job.priority, job.state.value, job.progress.stage, job.created,
                ),
            )
            job.seq = int(cur.lastrowid or 0)
        return job, True

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

    # -- reads ----------------------------------------------------------------------------------
    def get(self, job_id: str) -> Job | None:
        return self._one("SELECT {} FROM jobs WHERE id=?", (job_id,))

    def find(self, ident: str) -> Job | None:
        """A job by its id, else the newest job with that request id."""
        return self.get(ident) or self._one(
            "SELECT {} FROM jobs WHERE req_id=? ORDER BY seq DESC LIMIT 1", (ident,)
        )

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


def _row_to_job(row: tuple[Any, ...]) -> Job:
    (seq, job_id, req_id, _request, verb, model, params, client, priority, state, stage, outputs,
     error_code, error_message, created, started, finished, attempts) = row
    job_state = JobState(state)
    return Job(
        id=job_id, verb=verb, model=model, params=json.loads(params), req_id=req_id,
        client=json.loads(client), priority=priority, state=job_state,
        progress=Progress(fraction=1.0 if job_state is JobState.DONE else 0.0, stage=stage),
        outputs=json.loads(outputs), error_code=error_code, error_message=error_message,
        created=created, started=started, finished=finished, attempts=attempts, seq=seq,
    )
