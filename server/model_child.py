"""The model process's side of the pipe (server/model_process.py starts it): one per device lane.

The main thread runs one job's model at a time; a reader thread takes the daemon's messages, sets
cancel flags at once and queues the rest. What a model made goes to the lane's writer (the DAW-ready
post and the atomic write: server/writer_process.py, a process of its own beside this one, or a
thread here), and the daemon hears `model_done` at once, so the lane's next job starts on the device
while the last one is still being written (issue #25: 8 requests take about max(model, post) each,
not the sum). The writer takes jobs in order, so files are placed in the order the models finished.
While a long job yields (training), a `run` message waiting at the front of the queue is live work:
the long job serves it between two of its steps (`InboxLiveWork`), in this same thread, so the
device runs one thing at a time.
"""
from __future__ import annotations

import logging
import os
import queue
import threading
from collections.abc import Callable
from typing import Any

from . import controls
from .child_process import start_child
from .config import Config
from .execute import run_model
from .jobs import Job
from .output.writer import OutputWriter
from .post._parallel import model_running, share_models_running
from .progress import Throttle
from .registry import Registry
from .writer_process import ProcessStage, ThreadStage

log = logging.getLogger("dawgen.model_process")


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
    def __init__(self, conn: Any, config: Config, device: str, writer_conn: Any = None) -> None:
        """`writer_conn`: the pipe to the lane's writer process; None writes in a thread here."""
        self.conn, self.device = conn, device
        self.registry = Registry(config)
        self.writer = OutputWriter([config.output_root])
        self.stage: ThreadStage | ProcessStage = ThreadStage(self.writer, warm=writer_conn is None)
        if writer_conn is not None:
            self.stage = ProcessStage(writer_conn, fallback=self.stage)
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
                self.stage.cancel(message[1])  # a job queued in the writer process places nothing
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

        def written(final: Job) -> None:  # never before the warm models went (`models` after `done` is current)
            warm_sent.wait()
            self._finished(final)

        try:
            # The lane may send its next job now: the daemon takes it from its queue while the audio
            # goes to the writer here (~1 ms for 2.5 s of stereo), and it waits in the pipe until
            # this returns. Said after the hand-off, the two took turns (bench/pipeline.py).
            self.send(("model_done", job_id))
            self.stage.submit(job, made, cancel, written)  # the writer starts now
            self.send(("warm", self.registry.warm()))
        finally:  # whatever happened here, the writer must not wait for it forever
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
                self.stage.drain()  # the daemon drains: what the models made is written first
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


def child_main(conn: Any, config: Config, device: str, parent_pid: int, writer_conn: Any = None,
               models_running: Any = None) -> None:
    start_child(parent_pid, config, "model")
    if models_running is not None:
        share_models_running(models_running)  # the writer process reads it (server/post/_parallel.py)
    ChildLoop(conn, config, device, writer_conn).serve()
