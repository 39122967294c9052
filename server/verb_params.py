"""What each model accepts: the job verbs, each verb's full parameter list (the backend's own and
the common output parameters that apply to it), and the model list the front doors show.

Apart from the engine (server/engine.py) because it is read-only knowledge of the registry and the
config: every front door asks it (OSC's unknown-verb hint, the web's model page, the MIDI door's
parameter check, the protocol doc), while the engine's own job is the life of jobs.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .common_params import MIDI_COMMON
from .errors import DawgenError, ErrorCode
from .jobs import Job
from .params import ParamSpec, merge_specs
from .registry import Registry


class VerbParams:
    def __init__(self, registry: Registry, common: list[ParamSpec]) -> None:
        self.registry = registry
        self._common = common  # server/common_params.py for this config

    def job_verbs(self) -> dict[str, list[ParamSpec]]:
        """Every job verb some model does, with the params of the model it goes to by default.
        Verbs of unavailable models are included: their requests get `model_unavailable` and the
        reason (an extra to install), not `unknown_verb`."""
        verbs: dict[str, list[ParamSpec]] = {}
        for entry in self.registry.entries():
            backend = entry.backend
            for verb, specs in (backend.verbs if backend is not None else {}).items():
                verbs.setdefault(verb, merge_specs(self.common_for(backend), specs))
        return verbs

    def is_job_verb(self, verb: str) -> bool:
        """Some model does `verb` (job_verbs() without building every parameter list: this runs
        on every request)."""
        return any(e.backend is not None and verb in e.backend.verbs for e in self.registry.entries())

    def params_for(self, model: str | None, verb: str) -> list[ParamSpec]:
        """What a request for `verb` to `model` (None: the default model) accepts; unknown_verb
        naming the models that do it when this one does not."""
        entry = self.registry.resolve(model)
        backend = entry.backend
        if backend is None or verb not in backend.verbs:
            doers = [n for n in self.registry.names() if self.does(n, verb)]
            hint = f"; models that do it: {', '.join(doers)}" if doers else ""
            raise DawgenError(ErrorCode.UNKNOWN_VERB, f"model {entry.name!r} does not do {verb!r}{hint}")
        return merge_specs(self.common_for(backend), backend.verbs[verb])

    def common_for(self, backend: Any) -> list[ParamSpec]:
        """The common output parameters a backend takes: a MIDI model's few, minus those it
        declares `unused_common`."""
        unused = set(getattr(backend, "unused_common", ()))
        common = self._common
        if getattr(backend, "output_kind", "audio") == "midi":
            common = [c for c in common if c.name in MIDI_COMMON]
        return [c for c in common if c.name not in unused]

    def does(self, model: str, verb: str) -> bool:
        backend = self.backend_of(model)
        return backend is not None and verb in backend.verbs

    def backend_of(self, model: str) -> Any:
        """The model's backend, None when the model is unknown or unavailable."""
        try:
            return self.registry.resolve(model).backend
        except DawgenError:
            return None

    def estimate(self, job: Job) -> float:
        """The backend's guess of the job's run time in seconds (1 s when it cannot say)."""
        backend = self.backend_of(job.model)
        return backend.estimate_seconds(job.verb, job.params) if backend is not None else 1.0

    def yields(self, job: Job) -> bool:
        """The job's backend lets live work run between two of its steps (training)."""
        return bool(getattr(self.backend_of(job.model), "yields", False))

    def describe(self, warm: dict[str, dict[str, Any]], processes: bool) -> list[dict[str, Any]]:
        """Every model with each verb's full parameter list (common output params included). With
        `processes` (models live in model processes), `loaded` and the facts in `warm` (model ->
        `device`, `memory_bytes`, `worker`, as the model processes report them) replace the
        registry's own, which never loads there."""
        models = self.registry.describe()
        backends = {entry.name: entry.backend for entry in self.registry.entries()}
        for model in models:
            common = self.common_for(backends.get(model["name"]))  # what submit accepts, no more
            if processes:
                model["loaded"] = model["name"] in warm
                model.update(warm.get(model["name"], {}))
            for verb, params in model.get("verbs", {}).items():
                own = {p["name"] for p in params}
                model["verbs"][verb] = [c.describe() for c in common if c.name not in own] + params
        return models


def warm_models(workers: Iterable[Any]) -> dict[str, dict[str, Any]]:
    """The models warm in the lanes' model processes, each with the lane (`worker`) holding it."""
    warm: dict[str, dict[str, Any]] = {}
    for worker in workers:
        for name, facts in getattr(worker.runner, "warm_models", {}).items():
            warm[name] = {**facts, "worker": worker.device}
    return warm
