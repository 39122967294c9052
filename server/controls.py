"""The engine's small controls beside submit/cancel: a queued job's priority, and warming or
unloading a model in the model processes (the Models and Queue pages' buttons).

A load or unload goes to a lane's runner as a message, as a job does: in process isolation the model
process takes it from its inbox between two jobs (a training run that yields takes it only when it
ends); inline (thread, immediate) it runs at once unless a job is running on that lane (`busy`).
"""
from __future__ import annotations

from typing import Any

from .errors import DawgenError, ErrorCode
from .jobs import Job

Engine = Any  # server.engine.Engine, which imports this module (the layers import one way)

ACTIONS = ("load", "unload")


def set_priority(engine: Engine, ident: str, priority: int) -> tuple[Job, int]:
    if isinstance(priority, bool) or not isinstance(priority, int) or not -100 <= priority <= 100:
        raise DawgenError(ErrorCode.BAD_REQUEST, f"priority: an integer from -100 to 100, got {priority!r}")
    found = engine.scheduler.get(ident) or engine.journal.find(ident)
    if found is None:
        raise DawgenError(ErrorCode.NOT_FOUND, f"no job {ident!r}")
    job = engine.scheduler.reprioritise(found.id, priority)
    if job is None:
        if found.state.finished:
            raise DawgenError(ErrorCode.ALREADY_FINISHED, f"job {found.id} is already {found.state.value}")
        raise DawgenError(ErrorCode.BAD_REQUEST, f"job {found.id} is running: only a queued job can move")
    engine.journal.save_priority(job)
    return job, engine.scheduler.position(job)


def load(engine: Engine, model: str, inline: Any, workers: tuple[Any, ...] | list[Any]) -> list[str]:
    """To the lane the model's jobs run on, else the first lane."""
    name = engine.registry.resolve(model).name  # unknown_model / model_unavailable at once, here
    lane = engine.lane_for(name)
    chosen = [w for w in workers if lane is None or w.device == lane][:1]
    return _send("load", name, inline, chosen, bool(workers))


def unload(engine: Engine, model: str, inline: Any, workers: tuple[Any, ...] | list[Any]) -> list[str]:
    """To every lane (a model not warm in one is left alone there)."""
    if engine.registry.get(model) is None:
        raise DawgenError(ErrorCode.UNKNOWN_MODEL, f"no model {model!r}")
    return _send("unload", model, inline, list(workers), bool(workers))


def _send(action: str, model: str, inline: Any, workers: list[Any], has_workers: bool) -> list[str]:
    if not has_workers:  # immediate isolation (or not started): the engine's own runner
        inline.manage(action, model)
        return [inline.device]
    for worker in workers:
        worker.runner.manage(action, model)
    return [w.device for w in workers]


def apply(registry: Any, action: str, model: str) -> None:
    """Do `action` on a registry (in the process that holds the models)."""
    if action == "load":
        registry.backend(model)
    elif action == "unload":
        if registry.get(model) is not None:
            registry.unload(model)
    else:
        raise ValueError(f"unknown model action {action!r}")
