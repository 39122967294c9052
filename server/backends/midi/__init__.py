"""`midi`: small PyTorch models that write MIDI clips, trained by dawgen on real music.

Shipped weights (server/backends/midi/weights, ~2 MB; `dawgen train-midi` remakes them):
- melody: a GRU over note/duration tokens, learned from the German song books of the music21
  corpus' Essen folk song collection (2,441 tunes, transposed to C). `key` + `scale` are honoured
  by masking out-of-scale pitches while sampling.
- drums: a GRU over 16th steps of GM drum lanes with velocities, learned from Hydrogen's demo songs
  (Debian hydrogen-data); it can follow the onsets of another clip (`drumify`).
- vae_melody / vae_drums: MLP VAEs over 2-bar 16th-grid windows (`interpolate`).
- groove: velocity statistics per drum lane and 16th position from the same drum data (`groove`).
- chords / bass / improv / voicing: the harmony models (harmony/, issue #26), learned from Bach's
  chorales in the music21 corpus.

`[models.NAME] backend = "midi"` with no `path` uses the shipped weights; `path = FOLDER` a folder
written by `dawgen train-midi --out FOLDER` (models it lacks come from the shipped folder). Outputs
are type-1 MIDI files exactly `bars` long at `bpm`, drums on channel 10. torch is imported in
`_load`/`_run` only; the `midigen` extra installs torch and mido.

This module holds the backend: its weights, loading and the dispatch of a verb to the models that
make it. The verbs themselves are one function each: runs.py (the step models') and harmony/runs.py.
"""
from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ...errors import DawgenError, ErrorCode
from ...model_folders import training_record
from ...params import ParamSpec
from ..base import Backend, Output, RunContext
from ..safe_load import CONFIG_KEYS, allow_pickle
from . import runs as R
from . import spec as S
from . import vocab as V
from .smf import PPQ, Note
from .store import MODEL_KINDS, SHIPPED, read_index

log = logging.getLogger("dawgen.midi")
HARMONY_VERBS = ("midi/harmonize", "midi/bassline", "midi/improvise")
HARMONY_GENERATE = ("chords", "bass", "piano", "trio")
EXTRA = "midigen"


def _is_harmony(verb: str, params: Mapping[str, Any]) -> bool:
    """Issue #26's verbs and `midi/generate` kinds, which the harmony models make."""
    return verb in HARMONY_VERBS or str(params.get("kind")) in HARMONY_GENERATE


class MidiBackend(Backend):
    name: ClassVar[str] = "midi"
    version: ClassVar[str] = "1"
    requires: ClassVar[tuple[str, ...]] = ("torch", "mido")
    extra: ClassVar[str] = EXTRA
    output_kind: ClassVar[str] = "midi"
    verbs: ClassVar[Mapping[str, Sequence[ParamSpec]]] = S.VERBS
    # training: the training.json of the run that made the model (server/training/midi), carried
    # into every file's provenance
    config_keys: ClassVar[Mapping[str, type]] = {"path": str, "training": str, **CONFIG_KEYS}

    def __init__(self, model_name: str, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(model_name, options)
        self.device = "cpu"  # tiny models: the CPU is faster than a round trip to a GPU
        self._models: dict[str, Any] = {}
        self._groove: dict[str, Any] = {}
        self._files: dict[str, Path] = {}

    # -- weights ---------------------------------------------------------------------------------
    @property
    def _folder(self) -> Path:
        path = str(self.options.get("path") or "")
        return Path(os.path.expanduser(path)) if path else SHIPPED

    def _plan(self) -> tuple[dict[str, tuple[Path, dict]], dict]:
        """kind → (folder, index entry), each from the configured folder, else the shipped one."""
        try:
            own = read_index(self._folder)
            shipped = own if self._folder == SHIPPED else read_index(SHIPPED)
        except ValueError as exc:
            raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, f"midi model {self.model_name}: {exc}") from None
        plan = {}
        for kind in MODEL_KINDS:
            if kind in own["models"]:
                plan[kind] = (self._folder, own["models"][kind])
            elif kind in shipped["models"]:
                plan[kind] = (SHIPPED, shipped["models"][kind])
            else:
                raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, f"midi model {self.model_name}: no {kind} weights")
            if not (plan[kind][0] / plan[kind][1]["file"]).is_file():
                raise DawgenError(ErrorCode.MODEL_UNAVAILABLE,
                                  f"midi model {self.model_name}: {plan[kind][0] / plan[kind][1]['file']} is missing")
        groove = own.get("groove") or shipped.get("groove") or {}
        return plan, groove

    def _check_available(self) -> None:
        self._plan()

    def fingerprint(self) -> dict[str, Any]:
        from ...output.provenance import file_sha256

        out: dict[str, Any] = {"path": str(self._folder)}
        if self.options.get("training"):
            out["training"] = training_record(Path(str(self.options["training"])))
        try:
            plan, _ = self._plan()
        except DawgenError:
            return out
        out["weights_sha256"] = {kind: file_sha256(str(folder / entry["file"])) for kind, (folder, entry) in plan.items()}
        return out

    def _memory_estimate(self) -> int:
        if self._models:
            from ..torch_util import module_bytes

            return module_bytes(*self._models.values())
        plan, _ = self._plan()
        return 2 * sum((folder / entry["file"]).stat().st_size for folder, entry in plan.values())  # fp16 → fp32

    def estimate_seconds(self, verb: str, params: Mapping[str, Any]) -> float:
        per_file = 0.3 if _is_harmony(verb, params) else 0.05  # harmony: several models a file
        return per_file * int(params.get("count") or params.get("steps") or 1)

    # -- submit time ---------------------------------------------------------------------------------
    def _check_params(self, verb: str, params: Mapping[str, Any]) -> None:
        from ...output import midi_preview

        S.check(verb, params)
        midi_preview.check_params(params)  # a preview this machine cannot render: refused now

    # -- load -----------------------------------------------------------------------------------------
    def _load(self) -> None:
        import torch

        from .store import load_model

        plan, groove = self._plan()
        try:
            # the shipped folder is dawgen's own: allow_pickle trusts only the configured one
            self._models = {kind: load_model(folder, kind, entry, self.model_name,
                                             allow_pickle(self.options) and folder != SHIPPED)
                            for kind, (folder, entry) in plan.items()}
        except (OSError, RuntimeError, KeyError, TypeError, ValueError) as exc:
            raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, f"midi model {self.model_name}: weights do not load "
                                                           f"({type(exc).__name__}: {exc})") from None
        self._groove = groove
        self._files = {kind: folder / entry["file"] for kind, (folder, entry) in plan.items()}
        started = time.monotonic()
        with _threads(torch):  # warm-up: the first call through each model is slow
            gen = torch.Generator().manual_seed(0)
            from .generate import sample_drums, sample_melody, vae_interpolate

            sample_melody(self._models["melody"], 16, 16, False, V.SCALES["major"], 1.0, gen)
            sample_drums(self._models["drums"], 16, 1.0, gen)
            vae_interpolate(self._models["vae_melody"], np.ones((1, 32), np.int64), np.ones((1, 32), np.int64), 2, 0.0, gen)
            vae_interpolate(self._models["vae_drums"], np.zeros((1, 32, V.N_LANES)), np.zeros((1, 32, V.N_LANES)), 2, 0.0, gen)
            from .harmony.warm import warm_up

            warm_up(self._models, gen)
        log.info("midi %s loaded from %s (warm-up %.0f ms)", self.model_name, self._folder, 1000 * (time.monotonic() - started))

    def _unload(self) -> None:
        self._models = {}

    # -- run ---------------------------------------------------------------------------------------------
    def _run(self, verb: str, ctx: RunContext) -> list[Output]:
        import torch

        try:
            with _threads(torch):
                if _is_harmony(verb, ctx.params):
                    return self._harmony(verb, ctx)
                return R.RUNS[verb](self._models, self._groove, ctx)
        except ValueError as exc:
            raise DawgenError(ErrorCode.BAD_REQUEST, str(exc)) from None

    def _harmony(self, verb: str, ctx: RunContext) -> list[Output]:
        """Issue #26's verbs and kinds (harmony/runs.py); the trio's drums from the drum model."""
        from .generate import sample_drums
        from .harmony.runs import RUNS
        from .harmony.verbs import Harmony

        def drums(steps: int, gen: Any, bar: int) -> list[Note]:
            hits, vel = sample_drums(self._models["drums"], steps, float(ctx.params.get("temperature", 1.0)), gen,
                                     bar_steps=bar)
            return R.drum_notes(hits, vel, PPQ // 4, 0)

        return RUNS[verb](Harmony(self._models, drums), ctx)


class _threads:
    """One torch thread while a midi model runs (faster for tiny models), restored after."""

    def __init__(self, torch: Any) -> None:
        self.torch = torch
        self.before = 1

    def __enter__(self) -> None:
        self.before = self.torch.get_num_threads()
        self.torch.set_num_threads(1)

    def __exit__(self, *exc: Any) -> None:
        self.torch.set_num_threads(self.before)
