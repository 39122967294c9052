"""The `train` verb: a training run as a daemon job (the built-in model named `train`).

A train job is journaled, queued, cancellable and reported like any job; what it adds:
    preparing   read the data folder into a dataset (dataset-report.json in the run folder)
    preflight   refuse a run that cannot fit the device's memory budget, naming what would
    training    the step loop (loop.py): `/dawgen/training` reports at most once a second and at
                every checkpoint, `/dawgen/checkpoint` at every checkpoint, demos at each render,
                live work on the device served between two steps when `[training] yield` is on
A cancel stops at the next step boundary and keeps the last checkpoint (resume=true continues);
a job re-run after a crash (the run folder's run.json names its job id) continues from its last
checkpoint. Every checkpoint rewrites the run's dawgen-model.toml, which the registry reads: the
model is usable by name as soon as its first checkpoint exists.
"""
from __future__ import annotations

import json
import logging
import re
import shutil
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar

from ..backends.base import Artifact, Backend, Output, RunContext
from ..backends.stable_audio.imports import NeedsStableAudioTools
from ..errors import DawgenError, ErrorCode, JobCancelled
from ..jobs import Job
from ..params import merge_specs
from ..progress import Throttle
from . import artifacts
from .families import Source, family_for
from .settings import JOB_PARAMS, NAME_PATTERN, TRAIN_PARAMS, Settings

log = logging.getLogger("dawgen.training")

RUN_FILE = "run.json"  # which job owns a run folder: a re-run of that job resumes it
TRAINING_REPORT_SECONDS = 1.0
PREPARING = 0.05  # the share of progress the dataset takes; training is the rest


def _bad(message: str) -> DawgenError:
    return DawgenError(ErrorCode.BAD_REQUEST, message)


class TrainBackend(NeedsStableAudioTools, Backend):
    name: ClassVar[str] = "train"
    version: ClassVar[str] = "1"
    # torch for every kind; each kind's family checks its own libraries at submit (families.py)
    requires: ClassVar[tuple[str, ...]] = ("torch",)
    install_hint: ClassVar[str] = "pip install torch, then the extra of the kind to train (docs/TRAINING.md)"
    yields: ClassVar[bool] = True  # live work on the device runs between two training steps ([training] yield)
    verbs: Mapping[str, Sequence[Any]] = {"train": merge_specs(TRAIN_PARAMS, JOB_PARAMS)}
    # the demos are audio files like any others (format, bit depth, loudness); the grid does not apply
    unused_common: ClassVar[tuple[str, ...]] = ("bars", "time_signature", "key", "loop", "position", "preview")

    # -- submit time: cheap checks, no torch ------------------------------------------------------
    def _check_params(self, verb: str, params: Mapping[str, Any]) -> None:
        name = str(params.get("name") or "")
        if not re.fullmatch(NAME_PATTERN, name):
            raise _bad("name: the new model's name is required (letters, digits, . _ -, up to 64)")
        data = Path(str(params.get("data") or "")).expanduser()
        if not params.get("data") or not data.is_absolute() or not data.is_dir():
            raise _bad(f"data: a folder of sounds (absolute path) is required; {str(data)!r} is not one")
        family = family_for(str(params.get("kind") or TRAIN_PARAMS[0].default))
        family.check_requirements(self._installed, str(params.get("kind") or TRAIN_PARAMS[0].default))
        family.check(self, params)  # base / config
        folder = self.models_dir / name
        taken = self._taken_by_other(name)
        if taken:
            raise _bad(f"name: {name!r} is already {taken}; choose another name")
        has_run = artifacts.newest_checkpoint(folder) is not None
        if params.get("resume") and not has_run:
            raise _bad(f"resume: there is no stopped run named {name!r} to continue")
        if has_run and not (params.get("resume") or params.get("overwrite")):
            raise _bad(f"name: a run named {name!r} exists; resume=true continues it, overwrite=true starts over")

    @property
    def models_dir(self) -> Path:
        if self.registry is None:
            raise DawgenError(ErrorCode.INTERNAL, "the train model is not attached to a registry")
        return Path(self.registry.config.models_dir)

    def _taken_by_other(self, name: str) -> str:
        """Why `name` cannot be a trained model's name ("" when it can)."""
        entry = self.registry.get(name)
        if entry is not None and entry.folder is None:
            return "a configured or built-in model"
        return ""

    # -- the run --------------------------------------------------------------------------------
    def _run(self, verb: str, ctx: RunContext) -> list[Output]:
        return Run(self, ctx).go()

    def estimate_seconds(self, verb: str, params: Mapping[str, Any]) -> float:
        return 5.0 + 0.5 * float(params.get("steps") or 0)


class Run:
    """One train job from its params: the folder, the dataset, the model, the loop's callbacks."""

    def __init__(self, backend: TrainBackend, ctx: RunContext) -> None:
        p = ctx.params
        self.backend, self.ctx, self.params = backend, ctx, p
        self.name = str(p["name"])
        self.folder = backend.models_dir / self.name
        self.demos: list[str] = []
        self.seed = 0
        self._report = Throttle(TRAINING_REPORT_SECONDS)
        self.preparing = PREPARING  # the share of progress the dataset takes (families read it)

    def go(self) -> list[Output]:
        from . import loop

        ctx = self.ctx
        previous = _run_params(self.folder)  # before this job claims the folder
        resume = self._claim_folder()
        family = family_for(str(self.params.get("kind") or TRAIN_PARAMS[0].default))
        source = family.source(self.backend, self.params)
        settings = self._settings(resume, previous)
        self.seed = settings.seed  # the demos' seeds count from it
        ctx.progress(0.0, "preparing")
        dataset = family.dataset(self, settings, source)
        family.write_report(dataset, self.folder / "dataset-report.json")
        ctx.report("dataset", {"clips": len(dataset.clips), "rejected": len(dataset.rejected),
                               "summary": dataset.summary()})
        self._write_record(settings, family, source, dataset)
        family.preflight(self, settings, source)
        ctx.check_cancel()
        trainee = family.load(settings, source, self.device)
        run = loop.open_run(trainee, self.folder, self.name, family.demo_prompts(dataset, self.params))
        if run.step == 0 and settings.demo_every:
            self._write_demos(0, loop.render_demos(run))  # the base model's renders: what training changes
        batches = loop.seeded_batches(dataset.sample_batch, settings.seed, settings.batch_size)
        ctx.progress(self.preparing, "training")
        result = loop.train(
            run, batches, settings.steps,
            on_step=lambda step, loss: self._on_step(step, settings.steps, loss),
            should_stop=lambda: ctx.cancelled,
            should_yield=ctx.live_work_pending,  # only ever true while the engine lets this job yield
            on_yield=ctx.serve_live_work,
            on_checkpoint=lambda step, path: self._on_checkpoint(step, settings.steps, run),
            on_demo=self._write_demos)
        if result.stopped:
            raise JobCancelled(f"stopped at step {result.step}; its checkpoint is kept: send the same request "
                               "with resume=true to continue")
        loss_png = self.folder / "loss.png"
        return [Artifact(str(self.folder)), *(Artifact(p) for p in self.demos),
                *([Artifact(str(loss_png))] if loss_png.is_file() else [])]

    @property
    def device(self) -> str:
        return _pick_device(str(self.backend.options.get("device") or "auto"))

    # -- setup ----------------------------------------------------------------------------------
    def _claim_folder(self) -> bool:
        """Take the run folder for this job; True when an earlier run continues (resume=true, or
        this very job re-run after a crash)."""
        own = _owner(self.folder) == self.ctx.job_id
        if self.params.get("overwrite") and not own and self.folder.exists():
            if not (self.folder / RUN_FILE).is_file():
                raise _bad(f"overwrite: {self.folder} is not a training run's folder; not deleting it")
            shutil.rmtree(self.folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        artifacts.write_file(self.folder / RUN_FILE, json.dumps(
            {"job_id": self.ctx.job_id, "name": self.name, "kind": self.params.get("kind"),
             "params": {k: v for k, v in self.params.items() if not isinstance(v, float) or v == v},
             "started": time.time()}, indent=2, default=str).encode())
        return bool(self.params.get("resume")) or own

    def _settings(self, resume: bool, previous: dict[str, Any]) -> Settings:
        values = dict(self.params)
        if values.get("demo_every") is None:
            values["demo_every"] = values.get("save_every")
        if resume and previous.get("seed") is not None:  # the batches and noise go on as they started
            values["seed"] = previous["seed"]
        return replace(Settings.from_params(values), resume=resume)

    def _write_record(self, settings: Settings, family: Any, source: Source, dataset: Any) -> None:
        """training.json: what made this model (kind, base, settings, the data and its dataset.toml),
        named by dawgen-model.toml so the provenance of every file the model makes carries it."""
        record = {"made_by": "dawgen train", "job_id": self.ctx.job_id, "name": self.name, "kind": settings.kind,
                  "base": {"name": source.base_name, "sha256": family.base_sha256(source)},
                  "settings": settings.to_dict(), "dataset": family.record(dataset)}
        artifacts.write_file(self.folder / artifacts.RECORD, json.dumps(record, indent=2, default=str).encode())

    # -- while training ---------------------------------------------------------------------------
    def _on_step(self, step: int, steps: int, loss: float) -> None:
        self.ctx.progress(self.preparing + (1 - self.preparing) * step / steps, "training", cancel_point=False)
        if self._report.ready(force=step == steps):
            self.ctx.report("training", {"step": step, "steps": steps, "loss": float(loss)})

    def _on_checkpoint(self, step: int, steps: int, run: Any) -> None:
        loss = run.losses[-1][1] if run.losses else float("nan")
        self._report.ready(force=True)
        self.ctx.report("training", {"step": step, "steps": steps, "loss": float(loss)})
        self.ctx.report("checkpoint", {"step": step, "model_path": str(self.folder / f"step-{step}")})

    def _write_demos(self, step: int, outputs: list[Any]) -> None:
        """Demos DAW-ready into <output root>/dawgen/training/<name>/step-<N>/, through the writer."""
        from ..output.writer import OutputWriter

        config = self.backend.registry.config
        params = {**self.params, "dir": f"dawgen/training/{self.name}/step-{step}"}
        job = Job(id=self.ctx.job_id or "train", verb="train", model=self.name, params=params)
        for i, out in enumerate(outputs):
            out.meta.update(name=f"demo-{i + 1}", step=step)
        provenance = {"model": {"name": self.name, "backend": "train", "kind": self.params.get("kind"), "step": step},
                      "request": {"verb": "train", "params": dict(self.params)}}
        self.demos += OutputWriter([config.output_root]).write_job(job, list(outputs), provenance)


def _run_record(folder: Path) -> dict[str, Any]:
    try:
        record = json.loads((folder / RUN_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def _owner(folder: Path) -> str:
    return str(_run_record(folder).get("job_id", ""))


def _run_params(folder: Path) -> dict[str, Any]:
    params = _run_record(folder).get("params")
    return params if isinstance(params, dict) else {}


def _pick_device(wanted: str) -> str:
    from ..backends.torch_util import pick_device

    return pick_device(wanted)
