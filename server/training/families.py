"""What differs between the model families a `train` job trains, behind one small interface.

The job (job.py), the step loop (loop.py) and the run folder (artifacts.py) are the same for every
kind; a family says how its kinds find their starting point, read the data folder, build the model
and write a checkpoint. Families (torch-free at import; torch only inside `load` and the trainee):

    stable-audio   dance-diffusion, dance-diffusion-lora, stable-audio, stable-audio-lora  (stable_audio.py)
    musicgen       musicgen, musicgen-lora                                               (musicgen/)
    midi           midi-drums, midi-melody, midi-chords, midi-bass, midi-piano, midi-improv (midi/)

A family's job-side hooks (`Family`):
    check(backend, params)           submit time, no torch: base/config/data checks -> bad_request
    source(backend, params)          -> Source: what the run starts from
    dataset(run, settings, source)   -> a Dataset (clips, rejected, summary(), sample_batch(rng, n), ...)
    write_report(dataset, path)      dataset-report.json
    record(dataset)                  the dataset part of training.json
    preflight(run, settings, source) refuse a run that cannot fit the memory budget (may do nothing)
    load(settings, source, device)   -> a Trainee
    demo_prompts(dataset, params)    prompts (or other demo inputs) the demos are rendered with

What the loop asks of a `Trainee` (stable_audio.py's models.Trainee is the reference):
    settings, device, lora (dict | None), ema (None unless the family keeps an EMA)
    parameters()                     what the optimizer steps, in a fixed order
    loss(batch, run) -> tensor       one micro-batch's loss; `batch` is what dataset.sample_batch
                                     returns (its first item's len() is the number of examples);
                                     `run` carries autocast and the Sobol engine (loop.TrainRun)
    trainable_state() / load_trainable_state(state)
    ema_buffers() / restore_ema(checkpoint_folder, buffers)
    to(device)                       also what a yield to live work uses
    demos(seeds, prompts) -> list[Audio | Midi]   rendered from the weights a checkpoint exports
    write_files(folder, step)        the checkpoint's model or adapter files into `folder`
    model_options(checkpoint) -> (backend, options)   the [models.NAME] entry for dawgen-model.toml
"""
from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import DawgenError, ErrorCode
from .settings import FAMILY_OF_KIND, KINDS

# family name -> module (relative to server.training) holding its FAMILY object
MODULES = {"stable-audio": ".stable_audio", "musicgen": ".musicgen", "midi": ".midi"}


@dataclass(frozen=True)
class Source:
    """What a run starts from: `path` (a model folder, a config file, or "" for a fresh model),
    the base model's name (provenance, lora.json, dawgen-model.toml) and family-specific extras."""

    path: str
    base_name: str
    options: Mapping[str, Any] = field(default_factory=dict)


class Family:
    """Defaults shared by the families; each overrides what it needs."""

    name = ""
    kinds: tuple[str, ...] = ()
    requires: tuple[str, ...] = ("torch",)  # modules the kinds need beyond the train model's own
    install_hint = ""  # what installs them

    def check_requirements(self, installed: Any, kind: str) -> None:
        """model_unavailable naming what to install when a module the kind needs is missing
        (`installed(module) -> bool`: the train backend's check)."""
        missing = [m for m in self.requires if not installed(m)]
        if missing:
            raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, f"train kind={kind} needs {', '.join(missing)} "
                                                           f"(not installed): {self.install_hint}")

    def check(self, backend: Any, params: Mapping[str, Any]) -> None:
        self.source(backend, params)

    def source(self, backend: Any, params: Mapping[str, Any]) -> Source:
        raise NotImplementedError

    def dataset(self, run: Any, settings: Any, source: Source) -> Any:
        raise NotImplementedError

    def write_report(self, dataset: Any, path: Any) -> None:
        raise NotImplementedError

    def record(self, dataset: Any) -> dict[str, Any]:
        return {"folder": str(getattr(dataset, "folder", "")), "summary": dataset.summary()}

    def preflight(self, run: Any, settings: Any, source: Source) -> None:
        return None

    def load(self, settings: Any, source: Source, device: str) -> Any:
        raise NotImplementedError

    def demo_prompts(self, dataset: Any, params: Mapping[str, Any]) -> list[str]:
        given = [p.strip() for p in str(params.get("demo_prompts") or "").split("|") if p.strip()]
        if given:
            return given
        prompts = [c.prompt for c in getattr(dataset, "clips", []) if getattr(c, "prompt", "")]
        return list(dict.fromkeys(prompts))[: int(params.get("demo_count") or 2)]

    def base_sha256(self, source: Source) -> str | None:
        """The starting weights' hash for training.json (None: a fresh model)."""
        return None


def family_for(kind: str) -> Family:
    """The family that trains `kind` (bad_request for an unknown kind)."""
    name = FAMILY_OF_KIND.get(str(kind))
    if name is None:
        raise DawgenError(ErrorCode.BAD_REQUEST, f"kind {kind!r} is not one of {', '.join(KINDS)}")
    module = importlib.import_module(MODULES[name], __package__)
    return module.FAMILY
