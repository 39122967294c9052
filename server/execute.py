"""Running one job: the model part where its model lives, then the DAW-ready post and the write.

`run_model` is the same code in a model process (server/model_child.py) and inline in the daemon
(InlineRunner, server/model_process.py): it loads the model, runs the verb and returns the raw
outputs (`Made`); the job stays RUNNING. `write_made` post-processes and writes them in the daemon
(server/post_pool.py runs it beside the model lane, so the lane takes its next job at once). Each
leaves the job in a final state on a job-level failure and never raises for one.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .backends.base import LiveWork, Output, ReportFn, RunContext
from .backends.torch_util import is_out_of_memory, release_memory
from .errors import DawgenError, ErrorCode, JobCancelled
from .jobs import Job, JobState
from .output.provenance import build as build_provenance
from .output.writer import OutputWriter
from .registry import Registry

log = logging.getLogger("dawgen.execute")

ProgressFn = Callable[[float, str], None]


@dataclass
class Made:
    """What a model made for a job, before post-processing: crosses the model process's pipe."""

    outputs: list[Output]
    provenance: dict[str, Any] = field(default_factory=dict)


def run_model(job: Job, request: dict[str, Any], registry: Registry, progress: ProgressFn,
              cancel: threading.Event, device: str, *, report: ReportFn | None = None,
              live_work: LiveWork | None = None) -> Made | None:
    """Load the model and run the verb: the raw outputs, or None with `job` failed/cancelled (a
    model that fails to load fails its job with a clear error).

    A device out of memory (a CUDA/MPS allocator error that escaped the backend's own batch
    halving) frees what it can: other warm models on the device are unloaded and the job gets one
    more try; a second failure fails the job with `out_of_memory`. The daemon never goes down."""
    for attempt in (1, 2):
        try:
            return _run_once(job, request, registry, RunContext(
                job.params, progress, cancel, device, job_id=job.id, on_report=report, live_work=live_work))
        except Exception as exc:  # noqa: BLE001 - a job-level failure, reported on the job
            if is_out_of_memory(exc) and attempt == 1:
                release_memory(device)
                freed = registry.unload_others(job.model)
                if freed:
                    log.warning("job %s ran out of memory; unloaded %s and trying once more", job.id, ", ".join(freed))
                    continue
            _fail_for(job, exc, device)
            return None
    return None


def _fail_for(job: Job, exc: Exception, device: str) -> None:
    if isinstance(exc, JobCancelled):
        return fail(job, JobState.CANCELLED, exc.code, exc.message)
    if isinstance(exc, DawgenError):
        return fail(job, JobState.FAILED, exc.code, exc.message)
    if isinstance(exc, ImportError):
        return fail(job, JobState.FAILED, ErrorCode.MODEL_UNAVAILABLE, f"model {job.model!r} cannot load: {exc}")
    if is_out_of_memory(exc):
        release_memory(device)
        return fail(job, JobState.FAILED, ErrorCode.OUT_OF_MEMORY,
                    f"not enough memory for this job ({type(exc).__name__}); try a shorter or "
                    "smaller request, or free memory on the device")
    log.error("model %s failed on job %s", job.model, job.id, exc_info=exc)
    return fail(job, JobState.FAILED, ErrorCode.BACKEND_FAILED, f"{type(exc).__name__}: {exc}")


def _run_once(job: Job, request: dict[str, Any], registry: Registry, ctx: RunContext) -> Made:
    ctx.check_cancel()
    backend = registry.resolve(job.model).backend
    if backend is not None and not backend.loaded:
        ctx.progress(0.0, "warming")  # loading a model can take a while: say so, before it starts
    backend = registry.backend(job.model)
    provenance = build_provenance(job, backend, request)
    provenance["worker"] = ctx.device  # the `[server] devices` lane whose model process ran it
    outputs = backend.run(job.verb, ctx)
    if ctx.params.get("chain") and not getattr(backend, "applies_chain", False):
        from .backends.process.run import chain_outputs

        outputs = chain_outputs(outputs, ctx, registry.config.plugins)  # before the DAW-ready post (writer)
    ctx.check_cancel()  # a job cancelled during its last step writes nothing
    ctx.progress(1.0, "writing")
    provenance["timings"]["generate_seconds"] = round(time.time() - job.started, 4)
    return Made(list(outputs), provenance)


def write_made(job: Job, made: Made, writer: OutputWriter, cancel: threading.Event) -> None:
    """Post-process and write what the model made: `job` DONE with its paths once every file is in
    place, or cancelled (a cancel that lands before the first file is placed writes nothing), or
    failed. Never raises for a job-level failure."""
    def check_cancel() -> None:
        if cancel.is_set():
            raise JobCancelled()

    try:
        check_cancel()
        job.outputs = writer.write_job(job, made.outputs, made.provenance, before_placing=check_cancel)
    except Exception as exc:  # noqa: BLE001 - a job-level failure, reported on the job
        return _fail_for(job, exc, "cpu")
    job.state = JobState.DONE
    job.progress.stage, job.progress.fraction, job.progress.eta_seconds = "done", 1.0, 0.0


def execute_job(job: Job, request: dict[str, Any], registry: Registry, writer: OutputWriter,
                progress: ProgressFn, cancel: threading.Event, device: str, *,
                report: ReportFn | None = None, live_work: LiveWork | None = None) -> None:
    """The model run and the write in one call (no pipelining): leaves `job` in a final state."""
    made = run_model(job, request, registry, progress, cancel, device, report=report, live_work=live_work)
    if made is not None:
        write_made(job, made, writer, cancel)


def fail(job: Job, state: JobState, code: str, message: str) -> None:
    job.state = state
    job.error_code, job.error_message = code, message
    job.progress.stage = state.value
