"""`stable-audio`: Stable Audio Open 1.0, Small, fine-tunes, inpainting models and Dance Diffusion
through stable-audio-tools 0.0.20.

`[models.NAME] backend = "stable-audio"`, `path = FOLDER` (model_config.json + model.safetensors or
model.ckpt, or a Hugging Face cache of stabilityai/stable-audio-open-1.0 / -small), `t5_path =
T5_FOLDER` for models with a T5 conditioner (files.py). Verbs: `generate`, `vary` (init audio +
noise level), and `inpaint` on `diffusion_cond_inpaint` models only. Never touches the network.
torch and stable_audio_tools are imported in `_load`/`_run` only (imports.py says how, and which of
the library's bugs are worked around where).
"""
from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from ...adapters import Applied, run_adapter
from ...errors import DawgenError, ErrorCode
from ...model_folders import training_record
from ...params import ParamSpec
from ..base import Backend, Output, RunContext
from ..hf_runtime import check_options
from ..safe_load import CONFIG_KEYS, allow_pickle
from . import spec
from .files import ModelFiles, check_folder, peek
from .imports import NeedsStableAudioTools

log = logging.getLogger("dawgen.stable_audio")

_DTYPES = ("auto", "float32", "float16")
# priors for queue ETAs before progress is seen: seconds per step per second of audio
_STEP_COST = {"cpu": 0.05, "gpu": 0.002}


class StableAudioBackend(NeedsStableAudioTools, Backend):
    name: ClassVar[str] = "stable-audio"
    version: ClassVar[str] = "1"
    verbs: Mapping[str, Sequence[ParamSpec]] = {
        "generate": spec.GENERATE_PARAMS, "vary": spec.VARY_PARAMS, "inpaint": spec.INPAINT_PARAMS}
    # adapter: a LoRA trained by `dawgen train` (lora.safetensors) merged into `path`, the base it
    # was trained on, for every job; base: that base model's name (the run is also an adapter of
    # it: `lora=RUN`); trigger: the word its training prompts began with (put in front of prompts
    # that lack it); training: the training.json of the run that made the model, carried into
    # every file's provenance
    config_keys: ClassVar[Mapping[str, type]] = {"path": str, "t5_path": str, "dtype": str, "threads": int,
                                                 "full_window": bool, "adapter": str, "base": str, "trigger": str,
                                                 "training": str, **CONFIG_KEYS}

    def __init__(self, model_name: str, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(model_name, options)
        self.device = str(self.options.get("device") or "auto")
        self._files: ModelFiles | None = None
        self._loaded_model: Any = None
        self._patcher: Any = None  # lora_patch.Patcher of the loaded model: the adapters merged now
        self._own = run_adapter(model_name, self.options)  # a trained run's adapter: in every job
        # verbs follow the model type in model_config.json (read cheaply, even if weights are missing):
        # inpaint only where the model was trained for it (elsewhere the library silently does
        # text-to-audio); no prompt for unconditional Dance Diffusion
        kind = peek(self._path)
        model_type = kind[0] if kind else "diffusion_cond"
        if model_type == "diffusion_uncond":
            self.verbs = {"generate": spec.UNCOND_GENERATE, "vary": spec.UNCOND_VARY}
        elif model_type != "diffusion_cond_inpaint":
            self.verbs = {v: p for v, p in type(self).verbs.items() if v != "inpaint"}

    @property
    def _path(self) -> str:
        return str(self.options.get("path") or "")

    # -- availability and provenance --------------------------------------------------------------
    def _check_available(self) -> None:
        # threads is not checked here (as before): 0 or less is half the cores (cpu_threads)
        check_options(self.model_name, self.options, _DTYPES, threads=False)
        self._files = check_folder(self._path, str(self.options.get("t5_path") or ""))
        if self._own is not None and self._own.problem:
            raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, f"models.{self.model_name}.adapter: {self._own.problem}")

    def _own_adapters(self) -> list[Applied]:
        return [Applied(self._own, 1.0)] if self._own is not None else []

    @property
    def _adapter(self) -> Path | None:
        value = str(self.options.get("adapter") or "")
        return Path(value).expanduser() if value else None

    def fingerprint(self) -> dict[str, Any]:
        from ...output.provenance import file_sha256
        from .imports import library_version

        out: dict[str, Any] = {"path": self._path, "stable_audio_tools": library_version()}
        if self._files is not None:
            out.update(model_type=self._files.model_type, objective=self._files.objective,
                       family=self._files.family.name, weights_sha256=file_sha256(str(self._files.weights)))
        if self._adapter is not None:
            out.update(adapter=str(self._adapter), adapter_sha256=file_sha256(str(self._adapter)),
                       base=str(self.options.get("base") or ""))
        if self.options.get("training"):
            out["training"] = training_record(Path(str(self.options["training"])))
        return out

    def _memory_estimate(self) -> int:
        from ..torch_util import files_bytes, module_bytes

        if self._loaded_model is not None:
            adapters = self._patcher.bytes() if self._patcher is not None else 0
            return module_bytes(self._loaded_model.model) + files_bytes(*self._t5_weights()) + adapters
        files = self._files
        if files is None:
            return 0
        return files_bytes(files.weights, *self._t5_weights())

    def _t5_weights(self) -> list[str]:
        folder = self._files.t5_folder if self._files is not None else None
        return [str(folder / n) for n in ("model.safetensors", "pytorch_model.bin")] if folder else []

    # -- submit time --------------------------------------------------------------------------------
    def _check_params(self, verb: str, params: Mapping[str, Any]) -> None:
        files = self._files or check_folder(self._path, str(self.options.get("t5_path") or ""))
        spec.resolve(files, params)
        if verb == "generate":
            spec.seconds(files, params)
        elif verb == "vary":
            spec.seconds(files, params, default=min(spec.input_seconds(params), files.window_seconds))
        elif verb == "inpaint":
            total = spec.input_seconds(params)
            start, end = spec.inpaint_region(params, total)
            if end - start > files.window_seconds:
                raise ValueError(f"the region ({end - start:.2f} s) is longer than this model's window "
                                 f"({files.window_seconds:.2f} s)")

    def estimate_seconds(self, verb: str, params: Mapping[str, Any]) -> float:
        files = self._files
        if files is None:
            return 10.0
        try:
            sampling = spec.resolve(files, params)
            seconds = spec.seconds(files, params, default=files.window_seconds if verb != "generate" else None)
        except ValueError:
            return 10.0
        cost = _STEP_COST["cpu" if self.device == "cpu" else "gpu"]
        return 1.0 + sampling.steps * seconds * cost * (1 + 0.5 * (int(params.get("count", 1)) - 1))

    # -- load ---------------------------------------------------------------------------------------
    def _load(self) -> None:
        from ..torch_util import offline, prepare
        from .imports import import_library

        offline()  # before the library (and transformers) read the environment
        import_library()
        files = check_folder(self._path, str(self.options.get("t5_path") or ""))
        device, dtype = prepare(self.options, self.device)
        from .model import load

        self._loaded_model = load(files, device, dtype, self.model_name, allow_pickle(self.options))
        from ..lora_patch import Patcher

        # adapter keys name modules of the diffusion network (or of the conditioner)
        self._patcher = Patcher(self._loaded_model.model, prefixes=("model.", "conditioner."))
        self._files, self.device = files, device
        log.info("stable-audio %s loaded on %s (%s, %s, window %.1f s)", self.model_name, device,
                 files.model_type, files.family.name, files.window_seconds)

    def _unload(self) -> None:
        self._loaded_model = self._patcher = None

    # -- run ------------------------------------------------------------------------------------------
    def _run(self, verb: str, ctx: RunContext) -> list[Output]:
        from ..lora_patch import apply_loras
        from . import run

        # the adapters of this job merged into the weights (the last job's taken out), never a reload
        apply_loras(self, self._patcher, ctx.params, self._loaded_model.files.weights)
        return run.run(self._loaded_model, verb, ctx, full_window=bool(self.options.get("full_window", False)))

