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
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from .backends.base import RunContext
from .backends.torch_util import is_out_of_memory, release_memory
from .config import Config
from .errors import DawgenError, ErrorCode, JobCancelled
from .jobs import Job, JobState
from .output.provenance import build as build_provenance
from .output.writer import OutputWriter
from .registry import Registry

log = logging.getLogger("dawgen.model_process")

ProgressFn = Callable[[float, str], None]


def execute_job(job: Job, request: dict[str, Any], registry: Registry, writer: OutputWriter,
                progress: ProgressFn, cancel: threading.Event, device: str) -> None:
    """Load the model, run the verb, write the files: leaves `job` in a final state, never raises
    for a job-level failure (a model that fails to load fails its job with a clear error).

    A device out of memory (a CUDA/MPS allocator error that escaped the backend's own batch
    halving) frees what it can: other warm models on the device are unloaded and the job gets one
    more try; a second failure fails the job with `out_of_memory`. The daemon never goes down."""
    for attempt in (1, 2):
        try:
            _run_once(job, request, registry, writer, progress, cancel, device)
            return
        except JobCancelled as exc:
            return _fail(job, JobState.CANCELLED, exc.code, exc.message)
        except DawgenError as exc:
            return _fail(job, JobState.FAILED, exc.code, exc.message)
        except ImportError as exc:
            return _fail(job, JobState.FAILED, ErrorCode.MODEL_UNAVAILABLE, f"model {job.model!r} cannot load: {exc}")
        except Exception as exc:
            if is_out_of_memory(exc):
                release_memory(device)
                freed = registry.unload_others(job.model) if attempt == 1 else []
                if freed:
                    log.warning("job %s ran out of memory; unloaded %s and trying once more", job.id, ", ".join(freed))
                    continue
                return _fail(job, JobState.FAILED, ErrorCode.OUT_OF_MEMORY,
                             f"not enough memory for this job ({type(exc).__name__}); try a shorter or "
                             "smaller request, or free memory on the device")
            log.exception("model %s failed on job %s", job.model, job.id)
            return _fail(job, JobState.FAILED, ErrorCode.BACKEND_FAILED, f"{type(exc).__name__}: {exc}")


def _run_once(job: Job, request: dict[str, Any], registry: Registry, writer: OutputWriter,
              progress: ProgressFn, cancel: threading.Event, device: str) -> None:
    if cancel.is_set():
        raise JobCancelled()
    backend = registry.resolve(job.model).backend
    if backend is not None and not backend.loaded:
        progress(0.0, "warming")  # loading a model can take a while: say so, before it starts
    backend = registry.backend(job.model)
    provenance = build_provenance(job, backend, request)
    provenance["worker"] = device  # the `[server] devices` lane whose model process ran it
    ctx = RunContext(job.params, progress, cancel, device)
    outputs = backend.run(job.verb, ctx)
    ctx.check_cancel()  # a job cancelled during its last step writes nothing
    ctx.progress(1.0, "writing")
    provenance["timings"]["generate_seconds"] = round(time.time() - job.started, 4)
    job.outputs = writer.write_job(job, outputs, provenance)
    job.state = JobState.DONE
    job.progress.stage, job.progress.fraction, job.progress.eta_seconds = "done", 1.0, 0.0


def _fail(job: Job, state: JobState, code: str, message: str) -> None:
    job.state = state
    job.error_code, job.error_message = code, message
    job.progress.stage = state.value


class InlineRunner:
    """Runs jobs in the calling (worker) thread, sharing the engine's registry."""

    def __init__(self, config: Config, device: str, registry: Registry, writer: OutputWriter) -> None:
        self.device, self._registry, self._writer = device, registry, writer

    def start(self) -> None:
        return None

    def preload(self) -> None:
        self._registry.preload()

    def run(self, job: Job, request: dict[str, Any], progress: ProgressFn, cancel: threading.Event) -> Job:
        execute_job(job, request, self._registry, self._writer, progress, cancel, self.device)
        return job

    def stop(self, timeout: float = 5.0) -> None:
        return None

    @property
    def warm_models(self) -> dict[str, dict[str, Any]]:
        return self._registry.warm()


class ProcessRunner:
    """One child process per device. Messages over a duplex pipe:
    parent → child: ("run", job, request), ("cancel", job_id), ("preload",), ("stop",)
    child → parent: ("progress", job_id, fraction, stage), ("result", job), ("warm", {model: facts})
    A reader thread takes the child's messages: "warm" (the models loaded there, sent after every
    job and preload) updates `warm_models` at once; the rest wait in a queue for the worker.
    """

    def __init__(self, config: Config, device: str) -> None:
        self.config, self.device = config, device
        self._ctx = multiprocessing.get_context("spawn")  # fork + threads (and CUDA) is unsafe
        self._proc: Any = None
        self._conn: Any = None
        self._send_lock = threading.Lock()
        self._preload_wanted = False
        self._inbox: queue.Queue[tuple[Any, ...]] = queue.Queue()
        self.warm_models: dict[str, dict[str, Any]] = {}

    def start(self) -> None:
        parent_conn, child_conn = self._ctx.Pipe(duplex=True)
        self._proc = self._ctx.Process(target=_child_main, args=(child_conn, self.config, self.device, os.getpid()),
                                       name=f"dawgen-model-{self.device}", daemon=True)
        self._proc.start()
        child_conn.close()
        self._conn = parent_conn
        self._inbox = queue.Queue()
        threading.Thread(target=self._read_child, args=(parent_conn, self._inbox),
                         name=f"dawgen-runner-{self.device}", daemon=True).start()
        if self._preload_wanted:
            self._send(("preload",))

    def preload(self) -> None:
        self._preload_wanted = True
        if self._conn is not None:
            self._send(("preload",))

    def _send(self, message: tuple[Any, ...]) -> None:
        with self._send_lock:
            self._conn.send(message)

    def _alive(self) -> bool:
        return self._proc is not None and self._proc.is_alive()

    @property
    def pid(self) -> int | None:
        """The model process's id while it runs (logs, `kill -9` drills); None before start() and
        after it stopped (the next job starts a new one)."""
        return self._proc.pid if self._alive() else None

    def run(self, job: Job, request: dict[str, Any], progress: ProgressFn, cancel: threading.Event) -> Job:
        if not self._alive():
            self.start()
        try:
            self._send(("run", job, request))
            return self._await_result(job, progress, cancel)
        except (EOFError, OSError, BrokenPipeError):
            return self._child_died(job)

    def _read_child(self, conn: Any, inbox: queue.Queue[tuple[Any, ...]]) -> None:
        while True:
            try:
                message = conn.recv()
            except (EOFError, OSError):
                self.warm_models = {}  # a dead process holds no models
                inbox.put(("eof",))
                return
            if message[0] == "warm":
                self.warm_models = message[1]
            else:
                inbox.put(message)

    def _await_result(self, job: Job, progress: ProgressFn, cancel: threading.Event) -> Job:
        cancel_sent = False
        while True:
            if cancel.is_set() and not cancel_sent:
                self._send(("cancel", job.id))
                cancel_sent = True
            try:
                message = self._inbox.get(timeout=0.05)
            except queue.Empty:
                if not self._alive() and self._inbox.empty():
                    raise EOFError from None
                continue
            if message[0] == "eof":
                raise EOFError
            if message[0] == "progress" and message[1] == job.id:
                progress(message[2], message[3])
            elif message[0] == "result" and message[1].id == job.id:
                return message[1]

    def _child_died(self, job: Job) -> Job:
        code = self._proc.exitcode if self._proc is not None else None
        self._proc = None
        why = "killed by the system (out of memory?)" if code in (-signal.SIGKILL, 137) else f"exit code {code}"
        log.error("model process for %s stopped during job %s: %s", self.device, job.id, why)
        _fail(job, JobState.FAILED, ErrorCode.BACKEND_FAILED,
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


# -- child process ---------------------------------------------------------------------------------
def _die_with_parent(parent_pid: int) -> None:
    """On Linux the kernel kills us when the daemon dies (even by kill -9): a model process never
    outlives its daemon and never writes a file for a job the next daemon will re-run."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(0)


def _child_main(conn: Any, config: Config, device: str, parent_pid: int) -> None:
    _die_with_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the daemon's to handle (it drains)
    logging.basicConfig(level=config.server.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s[model-%(process)d]: %(message)s")
    registry = Registry(config)
    writer = OutputWriter([config.output_root])
    inbox: queue.Queue[tuple[Any, ...]] = queue.Queue()
    cancel = threading.Event()
    state: dict[str, Any] = {"current": None, "cancelled": set()}
    state_lock = threading.Lock()

    def read_parent() -> None:
        while True:
            try:
                message = conn.recv()
            except (EOFError, OSError):
                os._exit(0)  # the daemon is gone
            if message[0] == "cancel":
                with state_lock:
                    state["cancelled"].add(message[1])
                    if state["current"] == message[1]:
                        cancel.set()
            else:
                inbox.put(message)

    threading.Thread(target=read_parent, name="dawgen-model-inbox", daemon=True).start()
    while True:
        message = inbox.get()
        if message[0] == "stop":
            return
        if message[0] == "preload":
            try:
                registry.preload()
            except Exception:
                logging.getLogger("dawgen.model_process").exception("preloading models failed")
            conn.send(("warm", registry.warm()))
            continue
        _, job, request = message
        with state_lock:
            cancel.clear()
            if job.id in state["cancelled"]:
                cancel.set()
            state["current"] = job.id
        execute_job(job, request, registry, writer, _progress_sender(conn, job.id), cancel, device)
        with state_lock:
            state["current"] = None
            state["cancelled"].discard(job.id)
        conn.send(("warm", registry.warm()))  # before the result: `models` after `done` is current
        conn.send(("result", job))


def _progress_sender(conn: Any, job_id: str) -> ProgressFn:
    def send(fraction: float, stage: str) -> None:
        conn.send(("progress", job_id, fraction, stage))
    return send
