"""The model process's side of the pipe (server/model_process.py starts it): one per device lane.

The main thread runs one job's model at a time; a reader thread takes the daemon's messages, sets
cancel flags at once and queues the rest. What a model made goes to this process's writer thread
(the DAW-ready post and the atomic write, numpy/soxr/scipy code that mostly runs without the GIL),
and the daemon hears `model_done` at once, so the lane's next job starts on the device while the
last one is still being written (issue #25: 8 requests take about max(model, post) each, not the
sum). The writer takes jobs in order, so files are placed in the order the models finished. While a long job yields (training), a `run` message waiting at
the front of the queue is live work: the long job serves it between two of its steps
(`InboxLiveWork`), in this same thread, so the device runs one thing at a time.
"""
from __future__ import annotations

import logging
import os
import queue
import signal
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from . import controls
from .config import Config
from .execute import Made, run_model, write_made
from .jobs import Job
from .malloc import keep_buffers
from .output.writer import OutputWriter
from .post._kernels import warm_up
from .post._parallel import model_running
from .progress import Throttle
from .registry import Registry

log = logging.getLogger("dawgen.model_process")


def die_with_parent(parent_pid: int) -> None:
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


class InboxLiveWork:
    """Live work for a yielding job: the `run` messages at the front of the model process's inbox."""

    def __init__(self, inbox: queue.Queue[tuple[Any, ...]], run: Callable[[Job, dict[str, Any]], None]) -> None:
        self._inbox, self._run = inbox, run

    def pending(self) -> bool:
        with self._inbox.mutex:  # a peek: Queue has no public one
            return bool(self._inbox.queue) and self._inbox.queue[0][0] == "run"

    def serve(self) -> int:
        served = 0
        while self.pending():
            _, job, request = self._inbox.get_nowait()
            self._run(job, request)
            served += 1
        return served


class ChildLoop:
    def __init__(self, conn: Any, config: Config, device: str) -> None:
        self.conn, self.device = conn, device
        self.registry = Registry(config)
        self.writer = OutputWriter([config.output_root])
        # Progress crosses the pipe at most every half of the daemon's own interval (which throttles
        # what clients see): a token-by-token backend calls progress 50 times a second, and each
        # message costs a pickle, a pipe write and a wake-up of the daemon, beside the model's thread.
        self._progress_every = config.server.progress_interval / 2
        self.inbox: queue.Queue[tuple[Any, ...]] = queue.Queue()
        self._send_lock = threading.Lock()
        self._lock = threading.Lock()
        self._cancels: dict[str, threading.Event] = {}  # running jobs (a yielding one and its guest)
        self._cancelled: set[str] = set()  # cancels that arrived before their job started
        self.live_work = InboxLiveWork(self.inbox, self.run_job)
        self.post = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dawgen-writer")
        # The writer's compiled loops, loaded (or compiled, once per machine) before the first file.
        self.post.submit(warm_up)

    def send(self, message: tuple[Any, ...]) -> None:
        with self._send_lock:
            self.conn.send(message)

    def read_parent(self) -> None:
        while True:
            try:
                message = self.conn.recv()
            except (EOFError, OSError):
                os._exit(0)  # the daemon is gone
            if message[0] == "cancel":
                with self._lock:
                    self._cancelled.add(message[1])
                    if message[1] in self._cancels:
                        self._cancels[message[1]].set()
            else:
                self.inbox.put(message)

    def run_job(self, job: Job, request: dict[str, Any]) -> None:
        cancel = threading.Event()
        with self._lock:
            self._cancels[job.id] = cancel
            if job.id in self._cancelled:
                cancel.set()
        job_id = job.id
        with model_running():  # the writer keeps to one thread meanwhile on a small machine (post/_parallel.py)
            made = run_model(job, request, self.registry, self._progress_sender(job_id), cancel, self.device,
                             report=lambda kind, data: self.send(("report", job_id, kind, data)),
                             live_work=self.live_work)
        if made is None:  # failed or cancelled: final already
            self.send(("warm", self.registry.warm()))  # before the result: `models` after `done` is current
            self._finished(job)
            return
        warm_sent = threading.Event()
        self.post.submit(self._write, job, made, cancel, warm_sent)  # the writer starts now, beside these:
        try:
            self.send(("model_done", job_id))  # the lane may send its next job now
            self.send(("warm", self.registry.warm()))
        finally:  # whatever happened here, the writer thread must not wait for it forever
            warm_sent.set()

    def _progress_sender(self, job_id: str) -> Callable[[float, str], None]:
        """A job's progress calls, throttled before the pipe; a new stage and the end always pass."""
        throttle = Throttle(self._progress_every)
        last_stage = [""]

        def send(fraction: float, stage: str) -> None:
            if throttle.ready(force=stage != last_stage[0] or fraction >= 1.0):
                self.send(("progress", job_id, fraction, stage))
            last_stage[0] = stage

        return send

    def _write(self, job: Job, made: Made, cancel: threading.Event, warm_sent: threading.Event) -> None:
        """In the writer thread: post-process and place the files, then report the result, never
        before the model thread has sent the warm models (`models` after `done` is current)."""
        try:
            write_made(job, made, self.writer, cancel)
        finally:  # write_made never raises for the job; the result goes back whatever happened
            warm_sent.wait()
            self._finished(job)

    def _finished(self, job: Job) -> None:
        with self._lock:
            self._cancels.pop(job.id, None)
            self._cancelled.discard(job.id)
        self.send(("result", job))

    def serve(self) -> None:
        threading.Thread(target=self.read_parent, name="dawgen-model-inbox", daemon=True).start()
        while True:
            message = self.inbox.get()
            if message[0] == "stop":
                self.post.shutdown(wait=True)  # the daemon drains: what the models made is written first
                return
            if message[0] == "preload":
                try:
                    self.registry.preload()
                except Exception:
                    log.exception("preloading models failed")
                self.send(("warm", self.registry.warm()))
                continue
            if message[0] in controls.ACTIONS:
                self.manage(*message)
                continue
            _, job, request = message
            self.run_job(job, request)

    def manage(self, action: str, model: str) -> None:
        try:
            controls.apply(self.registry, action, model)
        except Exception:
            log.exception("%s of model %s failed", action, model)
        self.send(("warm", self.registry.warm()))


def child_main(conn: Any, config: Config, device: str, parent_pid: int) -> None:
    die_with_parent(parent_pid)
    keep_buffers()  # the writer thread's 4-8 MB temporaries reused, not re-mapped per file (server/malloc.py)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the daemon's to handle (it drains)
    logging.basicConfig(level=config.server.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s[model-%(process)d]: %(message)s")
    ChildLoop(conn, config, device).serve()
