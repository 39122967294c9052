"""The engine: submit / cancel / status / queue / models / subscribe. The only API bridge/ uses.

A request is validated against its backend's declared params, recorded in the journal, then queued;
the caller acknowledges only once the journal has committed it, so an acknowledged job is always on
disk. Requests that arrive together can be journaled in one transaction (`batch()`, server/intake.py).
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from . import controls
from .common_params import common_params
from .config import Config
from .config_clients import allowed_priority
from .errors import DawgenError, ErrorCode
from .intake import Accepted, Pending, QueueBound, SubmitBatch
from .intake import call_front_door as _call
from .jobs import Event, EventKind, Job, JobState, Request
from .journal import Entry, Journal, Pruner
from .model_process import InlineRunner, ProcessRunner
from .output.writer import OutputWriter
from .params import ParamSpec, random_seed, validate
from .progress import ProgressReporter
from .registry import Registry, same_device
from .scheduler import PIPELINE_DEPTH, Scheduler, Worker, fill_etas
from .verb_params import VerbParams, warm_models

log = logging.getLogger("dawgen.engine")

MAX_ATTEMPTS = 3  # a job that took the daemon down this often is failed instead of re-run forever


class Engine:
    def __init__(self, config: Config, journal: Journal | None = None,
                 registry: Registry | None = None, writer: OutputWriter | None = None,
                 pruner: Pruner | None = None, pipeline_depth: int = PIPELINE_DEPTH) -> None:
        self.config = config
        self.pipeline_depth = pipeline_depth  # jobs a lane holds at once; 1: no pipelining (server/scheduler.py)
        self.journal = journal or Journal(config.state_dir / "journal.sqlite3", sync=config.server.journal_sync,
                                          dedupe_seconds=config.server.dedupe_seconds)
        self.registry = registry or Registry(config)
        self.writer = writer or OutputWriter([config.output_root])
        self.scheduler = Scheduler({name: c.share for name, c in config.clients.items()})
        self.pruner = pruner or Pruner(self.journal, config.server.keep_finished_days)
        self._bound = QueueBound(self.scheduler, config.server.max_queued,
                                 {name: c.max_queued for name, c in config.clients.items()})
        self.verbs = VerbParams(self.registry, common_params(config))  # what each model accepts
        self._subscribers: list[Callable[[Event], None]] = []
        self._cancel_flags: dict[str, threading.Event] = {}
        self._workers: list[Worker] = []
        self._inline = InlineRunner(config, (config.server.devices or ["cpu"])[0], self.registry, self.writer)
        self.cluster: Any = None  # [cluster] engine = "ray", joined: its lanes are Ray actors (server/lanes)
        self.cluster_problem = ""  # why the daemon runs on local lanes although [cluster] asks for Ray
        self._draining = False
        self._accepting = False
        self._lock = threading.Lock()

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self, workers: bool = True) -> list[Job]:
        """Recover unfinished jobs, start one worker per device; returns the recovered jobs.
        `workers=False`: jobs are accepted and journaled but stay queued (tests of submit, recovery)."""
        for name, why in self.registry.problems().items():
            # a built-in model without its extra is normal (make run installs no torch): info only
            level = logging.INFO if name in self.registry.builtin else logging.WARNING
            log.log(level, "model %s unavailable: %s", name, why)
        recovered = self._recover()
        if not workers:
            self._accepting = True
            return recovered
        if self.immediate:
            self._accepting = True
            self._run_queued()
            return recovered
        for device in self._lanes():
            worker = Worker(device, self.scheduler, self._make_runner(device), self._execute, self._yields,
                            self.pipeline_depth)
            worker.start()
            self._workers.append(worker)
        self.pruner.start()  # daily, while running: a daemon that never restarts stays small too
        self._accepting = True
        return recovered

    @property
    def workers(self) -> tuple[Worker, ...]:
        """One per `[server] devices` lane once started (none in immediate mode)."""
        return tuple(self._workers)

    @property
    def immediate(self) -> bool:
        """`[server] isolation = "immediate"`: no worker threads; `submit` runs the job (and any
        other queued job) in the caller's thread before it returns, every event already sent."""
        return self.config.server.isolation == "immediate"

    def _run_queued(self) -> None:
        if self._draining:  # a job submitted by an event listener while one runs: the loop below takes it
            return
        self._draining = True
        try:
            while (job := self.scheduler.take(timeout=0)) is not None:
                try:
                    self._execute(job, self._inline)
                finally:
                    self.scheduler.finish(job)
        finally:
            self._draining = False

    def _lanes(self) -> list[str]:
        """`[server] devices`, or the Ray lanes when `[cluster] engine = "ray"` and the cluster is there."""
        if self.config.cluster.engine == "ray":
            from .lanes import ray_lane

            try:
                self.cluster = ray_lane.connect(self.config)
                log.info("model lanes on the Ray cluster: %s", ", ".join(self.cluster.lane_names))
                return self.cluster.lane_names
            except ray_lane.ClusterUnavailable as exc:
                self.cluster_problem = str(exc)
                log.warning("[cluster] engine = \"ray\" but %s: running on local lanes", exc)
        return list(self.config.server.devices)

    def _make_runner(self, device: str) -> Any:
        if self.cluster is not None:
            return self.cluster.runner(device, self.writer)
        if self.config.server.isolation != "process":
            return InlineRunner(self.config, device, self.registry, self.writer)
        return ProcessRunner(self.config, device)

    def preload(self) -> None:
        """Warm models marked `preload` (the synth always) in every worker."""
        if self.immediate:
            self._inline.preload()
        for worker in self._workers:
            worker.runner.preload()

    def stop(self, drain_seconds: float | None = None) -> bool:
        """Stop accepting, let running jobs finish within the timeout; queued jobs stay journaled.

        Returns True when every running job finished in time.
        """
        self._accepting = False
        self.pruner.stop()
        self.scheduler.close()
        for worker in self._workers:
            worker.stop()
        timeout = self.config.server.drain_seconds if drain_seconds is None else drain_seconds
        deadline = time.monotonic() + timeout
        for worker in self._workers:
            worker.join(max(0.0, deadline - time.monotonic()))
        drained = not any(w.is_alive() for w in self._workers)
        for worker in self._workers:
            if not worker.is_alive():
                worker.runner.stop()
        if self.cluster is not None and drained:
            self.cluster.close()
        return drained

    def close(self) -> None:
        """Release the journal; call after stop() and after the front doors have closed."""
        self.journal.close()

    def _recover(self) -> list[Job]:
        self.pruner.tick()
        jobs = self.journal.unfinished()
        for job in jobs:
            try:  # temporary files of an attempt cut short; only this job's (another daemon may share the root)
                self.writer.sweep_temp([self.writer.target_dir(job.params, job.created)], job.id)
            except DawgenError:
                pass
            if job.attempts >= MAX_ATTEMPTS:
                job.state, job.error_code = JobState.FAILED, ErrorCode.BACKEND_FAILED
                job.error_message = f"the daemon stopped during this job {job.attempts} times; not retrying"
                job.finished = time.time()
                self.journal.save(job)
                continue
            job.state, job.progress.stage = JobState.QUEUED, "queued"
            self.journal.save(job)
            self._cancel_flags[job.id] = threading.Event()
            self.scheduler.put(job, self.lane_for(job.model))
        if jobs:
            log.info("recovered %d unfinished job(s) from the journal", len(jobs))
        return jobs

    # -- API for front doors --------------------------------------------------------------------
    def subscribe(self, callback: Callable[[Event], None]) -> Callable[[], None]:
        with self._lock:
            self._subscribers.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._subscribers:
                    self._subscribers.remove(callback)
        return unsubscribe

    def job_verbs(self) -> dict[str, list[ParamSpec]]:
        """Every job verb some model does, with its default model's params (server/verb_params.py)."""
        return self.verbs.job_verbs()

    def is_job_verb(self, verb: str) -> bool:
        return self.verbs.is_job_verb(verb)

    def model_for(self, verb: str) -> str:
        """The model a request for `verb` without `model=` goes to (see Registry.model_for)."""
        return self.registry.model_for(verb)

    def params_for(self, model: str | None, verb: str) -> list[ParamSpec]:
        return self.verbs.params_for(model, verb)

    def submit(self, request: Request, on_accepted: Accepted | None = None) -> tuple[Job, int]:
        """Validate, journal and queue; returns (job, queue_position). Raises DawgenError.

        `on_accepted(job, position)` runs after the job is journaled and before a worker can see it,
        so a front door's ack always reaches the client before the job's first progress event.
        """
        answer: list[Any] = []

        def accepted(job: Job, position: int) -> None:
            answer.append((job, position))
            if on_accepted is not None:
                on_accepted(job, position)

        self.commit([(self.prepare(request), accepted, answer.append)])
        if isinstance(answer[0], DawgenError):
            raise answer[0]
        return answer[0]

    def batch(self) -> SubmitBatch:
        """Requests to journal together (group commit): `add` each, then `commit`."""
        return SubmitBatch(self)

    def prepare(self, request: Request) -> Entry:
        """Validate `request` into a job ready for the journal; raises DawgenError."""
        if not self._accepting:
            raise DawgenError(ErrorCode.SHUTTING_DOWN, "the daemon is shutting down; try again when it is back")
        raw = dict(request.params)
        model_name = raw.get("model") or self.registry.model_for(request.verb)
        if not isinstance(model_name, str):
            raise DawgenError(ErrorCode.BAD_REQUEST, "model: expected a model name (string)")
        specs = self.params_for(model_name, request.verb)
        params = validate(specs, raw, f"{model_name}/{request.verb}")
        params["model"] = model_name
        if "seed" not in raw and any(s.name == "seed" for s in specs):
            params["seed"] = random_seed()  # room for count variations
        if params.get("format") == "flac" and params.get("bit_depth") == "32f":
            raise DawgenError(ErrorCode.BAD_REQUEST, "flac cannot store 32-bit float; use bit_depth 16 or 24")
        backend = self.registry.resolve(model_name).backend
        if backend is not None:
            backend.check_params(request.verb, params)
        if "priority" in params:  # a client's [clients] max_priority caps what it asks for
            params["priority"] = allowed_priority(self.config.clients, request.owner, int(params["priority"]))
        job = Job(id=Job.new_id(), verb=request.verb, model=model_name, params=params, req_id=request.req_id,
                  client=dict(request.client), priority=int(params.get("priority", 0)), owner=request.owner)
        if params.get("dir"):
            self.writer.target_dir(params, job.created)  # refuse a bad `dir` now, not after generating
        # the owner is part of the request: another client's same request id is not this job
        text = {"verb": request.verb, "params": raw, **({"owner": request.owner} if request.owner else {})}
        return Entry(job, text, admit=lambda: self._bound.admit(job.id, job.owner))

    def commit(self, pending: list[Pending]) -> None:
        """Journal prepared requests in one transaction, then answer each in order (see SubmitBatch)."""
        outcomes = self.journal.record_batch([entry for entry, _, _ in pending])
        for (entry, on_accepted, on_refused), outcome in zip(pending, outcomes):
            if isinstance(outcome, DawgenError):
                self._bound.release(entry.job.id)
                _call(on_refused, outcome)
            else:
                self._announce(*outcome, on_accepted)
        if self.immediate:
            self._run_queued()

    def _announce(self, job: Job, created: bool, on_accepted: Accepted | None) -> None:
        if not created:  # the same request again (a resent packet): answer with the job it made
            _call(on_accepted, job, self._position(self.scheduler.get(job.id) or job))
            return
        self._cancel_flags[job.id] = threading.Event()
        position = self.scheduler.position_of_new(job.priority, job.owner)
        _call(on_accepted, job, position)
        self._emit(Event(EventKind.ACCEPTED, job, position))
        self._bound.queue(job, self.lane_for(job.model))

    def lane_for(self, model: str) -> str | None:
        """The worker lane a model's jobs must run on: the `[server] devices` entry its own
        `device` option names (`cuda` names `cuda:0`), so a model pinned to a GPU is loaded in that
        lane's model process only, once. None: any lane (the model picks its device itself)."""
        try:
            wanted = str(self.registry.resolve(model).config.options.get("device") or "")
        except DawgenError:
            return None
        if self.cluster is not None:  # Ray lanes: the actor's node has the device
            return None
        return next((lane for lane in self.config.server.devices if wanted and same_device(lane, wanted)), None)

    def cancel(self, ident: str) -> Job:
        job = self.scheduler.get(ident) or self.journal.find(ident)
        if job is None:
            raise DawgenError(ErrorCode.NOT_FOUND, f"no job {ident!r}")
        if job.state.finished:
            raise DawgenError(ErrorCode.ALREADY_FINISHED, f"job {job.id} is already {job.state.value}")
        removed = self.scheduler.remove(job.id)
        if removed is not None:
            removed.state, removed.error_code = JobState.CANCELLED, ErrorCode.CANCELLED
            removed.error_message, removed.finished = "cancelled before it started", time.time()
            removed.progress.stage = "cancelled"
            self.journal.save(removed)
            self._cancel_flags.pop(job.id, None)
            self._emit(Event(EventKind.CANCELLED, removed))
            return removed
        flag = self._cancel_flags.get(job.id)
        if flag is not None:
            flag.set()  # the worker sees it at the next progress step
        return self.scheduler.get(job.id) or job

    def set_priority(self, ident: str, priority: int) -> tuple[Job, int]:
        """Move a queued job to `priority` (-100..100); (job, its new position). server/controls.py"""
        return controls.set_priority(self, ident, priority)

    def load(self, model: str) -> list[str]:
        """Warm `model` in a model process, between its jobs; the lanes asked. server/controls.py"""
        return controls.load(self, model, self._inline, self._workers)

    def unload(self, model: str) -> list[str]:
        """Give back `model`'s memory in every lane, between jobs; the lanes asked. server/controls.py"""
        return controls.unload(self, model, self._inline, self._workers)

    def status(self, ident: str) -> tuple[Job, int]:
        job = self.scheduler.get(ident) or self.journal.find(ident)
        if job is None:
            raise DawgenError(ErrorCode.NOT_FOUND, f"no job {ident!r}")
        live = self.scheduler.get(job.id) or job
        if live.state is JobState.QUEUED:
            self._fill_queue_etas()
        return live, self._position(live)

    def queue(self) -> list[Job]:
        """Running and queued jobs in run order; queued jobs get an ETA (wait + their own run)."""
        return self._fill_queue_etas()

    def queue_full(self) -> bool:
        """No room for one more job under `[server] max_queued` (a front door may hold back work)."""
        return self.scheduler.queued_count() >= self._bound.limit

    def _fill_queue_etas(self) -> list[Job]:
        return fill_etas(self.scheduler.snapshot(), max(1, len(self._workers)), self.verbs.estimate)

    def _yields(self, job: Job) -> bool:
        """A long job that lets live work run on its device between two steps (training, when
        `[training] yield` is on): its worker takes other jobs meanwhile (scheduler.LiveLane)."""
        return self.config.training.yield_to_live and self.verbs.yields(job)

    def models(self) -> list[dict[str, Any]]:
        """Every model with each verb's full parameter list and whether it is warm (`loaded`,
        `device`, `memory_bytes` as the model processes report them)."""
        return self.verbs.describe(warm_models(self._workers), processes=bool(self._workers))

    def recent_jobs(self, limit: int = 50) -> list[Job]:
        return self.journal.recent(limit)

    def _position(self, job: Job) -> int:
        return self.scheduler.position(job) if not job.state.finished else -1

    # -- execution (worker threads) ---------------------------------------------------------------
    def _execute(self, job: Job, runner: Any, model_done: Callable[[], None] | None = None) -> None:
        cancel = self._cancel_flags.setdefault(job.id, threading.Event())
        job.state, job.started, job.attempts = JobState.RUNNING, time.time(), job.attempts + 1
        job.progress.stage, job.progress.fraction = "starting", 0.0
        self.journal.save(job)
        report = ProgressReporter(job, self._emit, self.verbs.estimate(job), self.config.server.progress_interval)
        result = runner.run(job, self.journal.request_of(job.id), report, cancel, model_done=model_done)
        job.state, job.outputs = result.state, list(result.outputs)
        job.error_code, job.error_message = result.error_code, result.error_message
        job.progress.stage, job.progress.fraction = result.progress.stage, result.progress.fraction
        job.finished = time.time()
        self.journal.save(job)
        self._cancel_flags.pop(job.id, None)
        self.scheduler.finish(job)  # before the event: a client reacting to done sees an empty queue
        kind = {JobState.DONE: EventKind.DONE, JobState.CANCELLED: EventKind.CANCELLED}.get(job.state, EventKind.FAILED)
        self._emit(Event(kind, job))

    def _emit(self, event: Event) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for callback in subscribers:
            try:
                callback(event)
            except Exception:
                log.exception("event subscriber failed")
