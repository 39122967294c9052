"""Running one job where its model lives: load the model, run the verb, write the files.

`execute_job` is the same code in a model process (server/model_child.py) and inline in the daemon
(InlineRunner, server/model_process.py); it leaves the job in a final state and never raises for a
job-level failure. It is two halves: `run_model` (the device's part: load, generate, the chain) and
`write_made` (the DAW-ready post and the atomic write, CPU only). A model process hands the second
half to its lane's writer (server/writer_process.py) so the device takes its next job at once
(pipelining, issue #25).
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
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
    """What the model made for a job, before the DAW-ready post and the write."""

    outputs: list[Output]
    provenance: dict[str, Any]


def execute_job(job: Job, request: dict[str, Any], registry: Registry, writer: OutputWriter,
                progress: ProgressFn, cancel: threading.Event, device: str, *,
                report: ReportFn | None = None, live_work: LiveWork | None = None) -> None:
    """Load the model, run the verb, write the files: leaves `job` in a final state, never raises
    for a job-level failure (a model that fails to load fails its job with a clear error)."""
    made = run_model(job, request, registry, progress, cancel, device, report=report, live_work=live_work)
    if made is not None:
        write_made(job, made, writer, cancel)


def run_model(job: Job, request: dict[str, Any], registry: Registry, progress: ProgressFn,
              cancel: threading.Event, device: str, *, report: ReportFn | None = None,
              live_work: LiveWork | None = None) -> Made | None:
    """The device's part of a job: what it made, or None with `job` failed or cancelled.

    A device out of memory (a CUDA/MPS allocator error that escaped the backend's own batch
    halving) frees what it can: other warm models on the device are unloaded and the job gets one
    more try; a second failure fails the job with `out_of_memory`. The daemon never goes down."""
    for attempt in (1, 2):
        try:
            return _model_once(job, request, registry, RunContext(
                job.params, progress, cancel, device, job_id=job.id, on_report=report, live_work=live_work))
        except JobCancelled as exc:
            return fail(job, JobState.CANCELLED, exc.code, exc.message)
        except DawgenError as exc:
            return fail(job, JobState.FAILED, exc.code, exc.message)
        except ImportError as exc:
            return fail(job, JobState.FAILED, ErrorCode.MODEL_UNAVAILABLE, f"model {job.model!r} cannot load: {exc}")
        except Exception as exc:
            if is_out_of_memory(exc):
                release_memory(device)
                freed = registry.unload_others(job.model) if attempt == 1 else []
                if freed:
                    log.warning("job %s ran out of memory; unloaded %s and trying once more", job.id, ", ".join(freed))
                    continue
                return fail(job, JobState.FAILED, ErrorCode.OUT_OF_MEMORY,
                            f"not enough memory for this job ({type(exc).__name__}); try a shorter or "
                            "smaller request, or free memory on the device")
            log.exception("model %s failed on job %s", job.model, job.id)
            return fail(job, JobState.FAILED, ErrorCode.BACKEND_FAILED, f"{type(exc).__name__}: {exc}")
    return None


def _model_once(job: Job, request: dict[str, Any], registry: Registry, ctx: RunContext) -> Made:
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
    return Made(outputs, provenance)


def write_made(job: Job, made: Made, writer: OutputWriter, cancel: threading.Event) -> None:
    """The DAW-ready post and the atomic write of what the model made: leaves `job` final."""
    try:
        if cancel.is_set():  # cancelled while it waited for the writer: nothing is placed
            raise JobCancelled()
        job.outputs = writer.write_job(job, made.outputs, made.provenance)
    except JobCancelled as exc:
        return fail(job, JobState.CANCELLED, exc.code, exc.message)
    except DawgenError as exc:
        return fail(job, JobState.FAILED, exc.code, exc.message)
    except Exception as exc:
        log.exception("post-processing or writing the files of job %s failed", job.id)
        code = ErrorCode.WRITE_FAILED if isinstance(exc, OSError) else ErrorCode.BACKEND_FAILED
        return fail(job, JobState.FAILED, code, f"{type(exc).__name__}: {exc}")
    job.state = JobState.DONE
    job.progress.stage, job.progress.fraction, job.progress.eta_seconds = "done", 1.0, 0.0


def fail(job: Job, state: JobState, code: str, message: str) -> None:
    job.state = state
    job.error_code, job.error_message = code, message
    job.progress.stage = state.value
