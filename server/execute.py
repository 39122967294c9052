"""Running one job where its model lives: load the model, run the verb, write the files.

`execute_job` is the same code in a model process (server/model_child.py) and inline in the daemon
(InlineRunner, server/model_process.py); it leaves the job in a final state and never raises for a
job-level failure.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from .backends.base import LiveWork, ReportFn, RunContext
from .backends.torch_util import is_out_of_memory, release_memory
from .errors import DawgenError, ErrorCode, JobCancelled
from .jobs import Job, JobState
from .output.provenance import build as build_provenance
from .output.writer import OutputWriter
from .registry import Registry

log = logging.getLogger("dawgen.execute")

ProgressFn = Callable[[float, str], None]


def execute_job(job: Job, request: dict[str, Any], registry: Registry, writer: OutputWriter,
                progress: ProgressFn, cancel: threading.Event, device: str, *,
                report: ReportFn | None = None, live_work: LiveWork | None = None) -> None:
    """Load the model, run the verb, write the files: leaves `job` in a final state, never raises
    for a job-level failure (a model that fails to load fails its job with a clear error).

    A device out of memory (a CUDA/MPS allocator error that escaped the backend's own batch
    halving) frees what it can: other warm models on the device are unloaded and the job gets one
    more try; a second failure fails the job with `out_of_memory`. The daemon never goes down."""
    for attempt in (1, 2):
        try:
            _run_once(job, request, registry, writer, RunContext(
                job.params, progress, cancel, device, job_id=job.id, on_report=report, live_work=live_work))
            return
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


def _run_once(job: Job, request: dict[str, Any], registry: Registry, writer: OutputWriter, ctx: RunContext) -> None:
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
    job.outputs = writer.write_job(job, outputs, provenance)
    job.state = JobState.DONE
    job.progress.stage, job.progress.fraction, job.progress.eta_seconds = "done", 1.0, 0.0


def fail(job: Job, state: JobState, code: str, message: str) -> None:
    job.state = state
    job.error_code, job.error_message = code, message
    job.progress.stage = state.value
