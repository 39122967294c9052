"""The lane's writer: the DAW-ready post and the atomic write of what a model made, beside the model.

A model process hands each finished job to a stage that writes it while its model makes the next
(pipelining, issue #25). Two stages, one interface (`submit`, `cancel`, `drain`):

- `ProcessStage`: a writer process of its own (`writer_main`), started by the daemon beside each
  model process and joined to it by a pipe. In one process a writer thread and the model's thread
  take turns on the GIL: measured on 2 cores, a tiny Stable Audio model's run went from 86 to 111 ms
  with a writer thread busy beside it, and stayed at 86 ms with the writer in its own process (which
  then wrote 29 files a second instead of 19; bench/writer_beside_model.py). A GPU model's thread is the same kind of thread: it
  launches kernels from Python. The audio crosses the pipe as raw buffers (server/handoff.py).
- `ThreadStage`: a writer thread in the model process (`[server] writer = "thread"`, tests, and the
  fallback when the writer process is gone or a job's outputs cannot cross a pipe).

Results go back to the daemon through the model process, in the order the models finished, after
the model process has sent its warm models (`models` after `done` is current).
"""
from __future__ import annotations

import logging
import pickle
import queue
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .child_process import start_child
from .config import Config
from .errors import ErrorCode
from .execute import Made, fail, write_made
from .handoff import pack, send, unpack
from .jobs import Job, JobState
from .output.writer import OutputWriter
from .post import _parallel
from .post.pipeline import warm

log = logging.getLogger("dawgen.writer_process")

Done = Callable[[Job], None]  # called once per submitted job, with the job final


class ThreadStage:
    """Writes in one thread of this process, jobs in the order submitted. The thread, the chain's
    imports and its compiled loops (numba: ~140 MB) start with the first job, so a model process whose writer
    process does the writing never loads them."""

    def __init__(self, writer: OutputWriter, warm: bool = False) -> None:
        self.writer = writer
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        if warm:
            self._executor()

    def _executor(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dawgen-writer")
                self._pool.submit(warm)  # imports and compiled loops loaded before the first file
            return self._pool

    def submit(self, job: Job, made: Made, cancel: threading.Event, done: Done) -> None:
        self._executor().submit(self._write, job, made, cancel, done)

    def _write(self, job: Job, made: Made, cancel: threading.Event, done: Done) -> None:
        try:
            write_made(job, made, self.writer, cancel)
        finally:  # write_made never raises for the job; the result goes back whatever happened
            done(job)

    def cancel(self, job_id: str) -> None:
        return None  # the job's cancel Event, which _write reads, is already set

    def drain(self) -> None:
        with self._lock:
            pool = self._pool
        if pool is not None:
            pool.shutdown(wait=True)


class ProcessStage:
    """Hands jobs to a writer process over `conn`; its results come back to `done`. Should the
    writer process go, the jobs it held fail with a clear error and later jobs are written by
    `fallback` in this process: nothing the models made waits forever."""

    def __init__(self, conn: Any, fallback: ThreadStage) -> None:
        self._conn, self._fallback = conn, fallback
        self._lock = threading.Lock()
        self._held: dict[str, tuple[Job, Done]] = {}  # sent, no result yet, in order
        self._gone = False
        self._reader = threading.Thread(target=self._read, name="dawgen-writer-results", daemon=True)
        self._reader.start()

    def submit(self, job: Job, made: Made, cancel: threading.Event, done: Done) -> None:
        try:
            packed = pack(("write", job, made))
        except (pickle.PicklingError, TypeError, AttributeError, BufferError) as exc:  # written here instead
            log.warning("job %s is written in the model process: its outputs cannot be sent (%s)", job.id, exc)
            self._fallback.submit(job, made, cancel, done)
            return
        with self._lock:
            if not self._gone:
                self._held[job.id] = (job, done)
                try:
                    send(self._conn, packed)
                    if cancel.is_set():
                        self._conn.send_bytes(pickle.dumps(("cancel", job.id)))
                    return
                except OSError:
                    del self._held[job.id]
                    self._gone = True
        self._fallback.submit(job, made, cancel, done)

    def cancel(self, job_id: str) -> None:
        with self._lock:
            if job_id in self._held and not self._gone:
                try:
                    self._conn.send_bytes(pickle.dumps(("cancel", job_id)))
                except OSError:
                    self._gone = True

    def drain(self) -> None:
        """Every held job written (or failed), the writer process told to end; then the fallback's."""
        with self._lock:
            if not self._gone:
                try:
                    self._conn.send_bytes(pickle.dumps(("stop",)))
                except OSError:
                    self._gone = True
        self._reader.join()
        self._fallback.drain()

    def _read(self) -> None:
        while True:
            try:
                message = pickle.loads(self._conn.recv_bytes())
            except (EOFError, OSError):
                break
            if message[0] == "stopped":
                break
            with self._lock:
                held = self._held.pop(message[1].id, None)
            if held is not None:
                held[1](message[1])
        with self._lock:
            self._gone = True
            lost, self._held = list(self._held.values()), {}
        for job, done in lost:
            log.error("the writer process stopped before job %s was written", job.id)
            fail(job, JobState.FAILED, ErrorCode.WRITE_FAILED,
                 "the writer process stopped before this job's files were written; please run it again")
            done(job)


# -- the writer process ----------------------------------------------------------------------------

class _Inbox:
    """The writer process's reader: jobs queue in order; a cancel applies at once, even to a job
    still queued behind the one being written."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.jobs: queue.Queue[tuple[Job, Made] | None] = queue.Queue()
        self.cancelled: set[str] = set()
        self.lock = threading.Lock()

    def read(self) -> None:
        while True:
            try:
                first = pickle.loads(self.conn.recv_bytes())
                if first[0] == "job":  # its buffers' sizes come first (server/handoff.py)
                    _, job, made = unpack(self.conn, first)
                    self.jobs.put((job, made))
                elif first[0] == "cancel":
                    with self.lock:
                        self.cancelled.add(first[1])
                elif first[0] == "stop":
                    self.jobs.put(None)
                    return
            except (EOFError, OSError):  # the model process is gone: nobody waits for a result
                self.jobs.put(None)
                return
            except Exception:  # a message that cannot be read: the stream is lost from here on
                log.exception("the writer process cannot read what the model process sent; it stops")
                self.jobs.put(None)  # what came before is written; the model process fails the rest
                return

    def take_cancel(self, job_id: str) -> bool:
        """Whether `job_id` was cancelled (forgotten here: the job is about to be written or not)."""
        with self.lock:
            if job_id in self.cancelled:
                self.cancelled.discard(job_id)
                return True
            return False


def writer_main(conn: Any, config: Config, parent_pid: int, models_running: Any = None) -> None:
    """The writer process: write each job the model process sends, in order, and send it back final."""
    start_child(parent_pid, config, "writer")
    if models_running is not None:
        _parallel.share_models_running(models_running)  # one channel thread while the model runs, on few cores
    warm()  # the chain's imports and compiled loops, before the first job arrives
    serve_writes(conn, OutputWriter([config.output_root]))


def serve_writes(conn: Any, writer: OutputWriter) -> None:
    inbox = _Inbox(conn)
    threading.Thread(target=inbox.read, name="dawgen-writer-inbox", daemon=True).start()
    while (item := inbox.jobs.get()) is not None:
        job, made = item
        cancel = threading.Event()
        if inbox.take_cancel(job.id):
            cancel.set()
        write_made(job, made, writer, cancel)
        try:
            conn.send_bytes(pickle.dumps(("result", job)))
        except OSError:
            return
    try:
        conn.send_bytes(pickle.dumps(("stopped",)))
    except OSError:
        pass
