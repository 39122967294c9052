"""Where a job's generation actually runs: in a model process per device (default) or inline.

Model code runs in a child process so that
- the front doors stay responsive: transformers' decode loops and numpy glue hold the GIL, and in
  one process they would delay every OSC acknowledgement;
- a crash (segfault, the kernel's OOM killer) in a model library fails one job instead of
  killing the daemon; the process is restarted for the next job;
- a model's memory can be given back to the system by ending the process.
`InlineRunner` runs the same code in the calling thread (isolation "thread" and "immediate": tests,
embedding, debugging). Progress crosses the pipe as the backend reports it; the daemon side throttles
it once, in server/progress.py.
"""
from __future__ import annotations

import logging
import multiprocessing
import os
import queue
import signal
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from . import controls
from .config import Config
from .errors import ErrorCode
from .execute import execute_job, fail
from .jobs import Job, JobState
from .model_child import child_main
from .output.writer import OutputWriter
from .registry import Registry
from .writer_process import writer_main

log = logging.getLogger("dawgen.model_process")


class Reporter(Protocol):
    """What a runner reports a job's life to (server/progress.py's ProgressReporter)."""

    def __call__(self, fraction: float, stage: str) -> None: ...

    def report(self, kind: str, data: dict[str, Any]) -> None: ...


@dataclass
class _Guest:
    """A job waiting to run inside another (yielding) job's step boundary."""

    job: Job
    request: dict[str, Any]
    reporter: Reporter
    cancel: threading.Event
    done: threading.Event = field(default_factory=threading.Event)


class InlineRunner:
    """Runs jobs in the calling thread, sharing the engine's registry. A job that arrives while
    another runs here (live work beside a training job) waits until the running job serves it at
    a step boundary (`pending`/`serve`), or until the running job ends: one job at a time."""

    def __init__(self, config: Config, device: str, registry: Registry, writer: OutputWriter) -> None:
        self.device, self._registry, self._writer = device, registry, writer
        self._lock = threading.Lock()
        self._busy = False
        self._guests: list[_Guest] = []
        self._actions: list[tuple[str, str]] = []  # load / unload asked while a job ran here

    def start(self) -> None:
        return None

    def manage(self, action: str, model: str) -> None:
        """Load or unload `model` now; while a job runs here (it may use that model), when it ends."""
        with self._lock:
            if self._busy:
                self._actions.append((action, model))
                return
            self._busy = True
        try:
            controls.apply(self._registry, action, model)
        finally:
            self._drain()

    def preload(self) -> None:
        self._registry.preload()

    def run(self, job: Job, request: dict[str, Any], reporter: Reporter, cancel: threading.Event,
            model_done: Callable[[], None] | None = None) -> Job:
        """Runs the whole job here (no pipelining: `model_done` is not called; the lane waits for the end)."""
        with self._lock:
            guest = _Guest(job, request, reporter, cancel) if self._busy else None
            if guest is not None:
                self._guests.append(guest)
            self._busy = True
        if guest is not None:
            guest.done.wait()
            return job
        try:
            self._execute(job, request, reporter, cancel)
        finally:
            self._drain()
        return job

    def _execute(self, job: Job, request: dict[str, Any], reporter: Reporter, cancel: threading.Event) -> None:
        execute_job(job, request, self._registry, self._writer, reporter, cancel, self.device,
                    report=reporter.report, live_work=self)

    def _drain(self) -> None:
        """Jobs that arrived as the running one ended, then the model actions asked meanwhile."""
        while True:
            with self._lock:
                guest = self._guests.pop(0) if self._guests else None
                action = self._actions.pop(0) if guest is None and self._actions else None
                if guest is None and action is None:
                    self._busy = False
                    return
            if guest is not None:
                self._serve_one(guest)
                continue
            try:
                controls.apply(self._registry, *action)
            except Exception:
                log.exception("%s of model %s failed", *action)

    def _serve_one(self, guest: _Guest) -> None:
        try:
            self._execute(guest.job, guest.request, guest.reporter, guest.cancel)
        finally:
            guest.done.set()

    # LiveWork, for the job running here
    def pending(self) -> bool:
        with self._lock:
            return bool(self._guests)

    def serve(self) -> int:
        served = 0
        while True:
            with self._lock:
                if not self._guests:
                    return served
                guest = self._guests.pop(0)
            self._serve_one(guest)
            served += 1

    def stop(self, timeout: float = 5.0) -> None:
        return None

    @property
    def warm_models(self) -> dict[str, dict[str, Any]]:
        return self._registry.warm()


class ProcessRunner:
    """One model process per device (server/model_child.py), and beside it the lane's writer process
    (server/writer_process.py), which writes one job's files while the model makes the next; the
    two talk over a pipe of their own, and the writer's results reach the daemon through the model
    process, in order. Messages between the daemon and the model process, over a duplex pipe:
    parent → child: ("run", job, request), ("cancel", job_id), ("preload",), ("load" | "unload", model), ("stop",)
    child → parent: ("progress", job_id, fraction, stage), ("report", job_id, kind, data),
                    ("model_done", job_id), ("result", job), ("warm", {model: facts})
    A reader thread takes the child's messages: "warm" (the models loaded there, sent after every
    job and preload) updates `warm_models` at once; the rest go to the queue of the job they are
    about. Two jobs may be in flight at once: a yielding one (training) and the live job it serves.
    """

    def __init__(self, config: Config, device: str) -> None:
        self.config, self.device = config, device
        self._ctx = multiprocessing.get_context("spawn")  # fork + threads (and CUDA) is unsafe
        self._proc: Any = None
        self._writer: Any = None  # the writer process started with the current model process
        self._running: Any = None
        self._conn: Any = None
        self._send_lock = threading.Lock()
        self._start_lock = threading.Lock()
        self._preload_wanted = False
        self._waiting: dict[str, queue.Queue[tuple[Any, ...]]] = {}  # job id -> its messages
        self._spawner = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"dawgen-spawn-{device}")
        self.warm_models: dict[str, dict[str, Any]] = {}

    def start(self) -> None:
        """Start the model process, from the runner's own long-lived spawner thread: on Linux the
        process asks to die with its parent (child_process.die_with_parent), and the kernel's "parent" there is
        the *thread* that forked it, so one started from a job's thread (the lane runs each job in
        a thread of its own) or a request's would be killed when that thread ends."""
        self._spawner.submit(self._start_here).result()

    def _start_here(self) -> None:
        self._end_writer(0.0)  # a crashed model process's writer: the jobs it held were failed, so it places nothing more
        parent_conn, child_conn = self._ctx.Pipe(duplex=True)
        model_end, ends = None, [child_conn]
        running = None
        if self.config.server.writer == "process":
            model_end, writer_end = self._ctx.Pipe(duplex=True)
            ends += [model_end, writer_end]
            # Models at work in the model process, read by the writer's. Held here while they run: a
            # spawned child opens its lock by name, which is gone once the last holder drops it.
            running = self._running = self._ctx.Value("i", 0)
            self._writer = self._ctx.Process(target=writer_main, args=(writer_end, self.config, os.getpid(), running),
                                             name=f"dawgen-writer-{self.device}", daemon=True)
            self._writer.start()
        self._proc = self._ctx.Process(target=child_main, args=(child_conn, self.config, self.device, os.getpid(),
                                                                model_end, running),
                                       name=f"dawgen-model-{self.device}", daemon=True)
        self._proc.start()
        for end in ends:  # only the children hold these: a child's death reads as EOF
            end.close()
        self._conn = parent_conn
        threading.Thread(target=self._read_child, args=(parent_conn,),
                         name=f"dawgen-runner-{self.device}", daemon=True).start()
        if self._preload_wanted:
            self._send(("preload",))

    def preload(self) -> None:
        self._preload_wanted = True
        if self._conn is not None:
            self._send(("preload",))

    def manage(self, action: str, model: str) -> None:
        """Ask the model process to load or unload `model`; it does so between two jobs and then
        reports its warm models. A stopped process holds no model: nothing to unload there."""
        with self._start_lock:
            if not self._alive():
                if action == "unload":
                    return
                self.start()
        self._send((action, model))

    def _send(self, message: tuple[Any, ...]) -> None:
        with self._send_lock:
            self._conn.send(message)

    def _alive(self) -> bool:
        return self._proc is not None and self._proc.is_alive()

    def _end_writer(self, timeout: float = 5.0) -> None:
        """The last writer process, ended: after a drain it has ended by itself (this reaps it);
        one still writing past `timeout` is terminated (its temporary file is swept at startup)."""
        if self._writer is None:
            return
        self._writer.join(timeout)
        if self._writer.is_alive():
            self._writer.terminate()
            self._writer.join(timeout)
        self._writer = None

    @property
    def writer_pid(self) -> int | None:
        """The lane's writer process's id while it runs."""
        return self._writer.pid if self._writer is not None and self._writer.is_alive() else None

    @property
    def pid(self) -> int | None:
        """The model process's id while it runs (logs, `kill -9` drills); None before start() and
        after it stopped (the next job starts a new one)."""
        return self._proc.pid if self._alive() else None

    def run(self, job: Job, request: dict[str, Any], reporter: Reporter, cancel: threading.Event,
            model_done: Callable[[], None] | None = None) -> Job:
        """The job, final. `model_done` is called when its model has finished and the model process
        is writing its files: the lane may send the next job then (server/scheduler.py Worker)."""
        inbox: queue.Queue[tuple[Any, ...]] = queue.Queue()
        with self._start_lock:
            if not self._alive():
                self.start()
            self._waiting[job.id] = inbox
        try:
            self._send(("run", job, request))
            return self._await_result(job, inbox, reporter, cancel, model_done)
        except (EOFError, OSError):
            return self._child_died(job)
        finally:
            self._waiting.pop(job.id, None)

    def _read_child(self, conn: Any) -> None:
        while True:
            try:
                message = conn.recv()
            except (EOFError, OSError):
                self.warm_models = {}  # a dead process holds no models
                for inbox in list(self._waiting.values()):
                    inbox.put(("eof",))
                return
            if message[0] == "warm":
                self.warm_models = message[1]
                continue
            job_id = message[1].id if message[0] == "result" else message[1]
            inbox = self._waiting.get(job_id)
            if inbox is not None:
                inbox.put(message)

    def _await_result(self, job: Job, inbox: queue.Queue[tuple[Any, ...]], reporter: Reporter,
                      cancel: threading.Event, model_done: Callable[[], None] | None) -> Job:
        cancel_sent = False
        while True:
            if cancel.is_set() and not cancel_sent:
                self._send(("cancel", job.id))
                cancel_sent = True
            try:
                message = inbox.get(timeout=0.05)
            except queue.Empty:
                if not self._alive() and inbox.empty():
                    raise EOFError from None
                continue
            if message[0] == "eof":
                raise EOFError
            if message[0] == "progress":
                reporter(message[2], message[3])
            elif message[0] == "report":
                reporter.report(message[2], message[3])
            elif message[0] == "model_done":
                if model_done is not None:
                    model_done()
            elif message[0] == "result":
                return message[1]

    def _child_died(self, job: Job) -> Job:
        code = self._proc.exitcode if self._proc is not None else None
        self._proc = None
        why = "killed by the system (out of memory?)" if code in (-signal.SIGKILL, 137) else f"exit code {code}"
        log.error("model process for %s stopped during job %s: %s", self.device, job.id, why)
        fail(job, JobState.FAILED, ErrorCode.BACKEND_FAILED,
              f"the model process stopped while running this job ({why}); it restarts for the next job")
        return job

    def stop(self, timeout: float = 5.0) -> None:
        if self._alive():
            try:
                self._send(("stop",))
            except OSError:
                pass
            self._proc.join(timeout)
            if self._proc.is_alive():
                self._proc.terminate()
                self._proc.join(timeout)
        self._end_writer(timeout)
