"""`diffusers`: AudioLDM2 (sound and music), MusicLDM and Stable Audio Open through Hugging Face diffusers.

`[models.NAME] backend = "diffusers"`, `path = FOLDER`: a pipeline folder in diffusers' layout (what
the hub holds for cvssp/audioldm2, cvssp/audioldm2-music, ucsd-reach/musicldm and the diffusers
layout of stabilityai/stable-audio-open-1.0) or its Hugging Face cache entry (files.py). The
pipeline class is read from model_index.json. Verbs: `generate` on every pipeline, `vary` on
Stable Audio Open only (the one that takes audio in). torch, diffusers and transformers are imported
in `_load`/`_run` only; the `diffusers` extra installs them (with torchsde, which Stable Audio's
scheduler imports and diffusers does not declare).
"""
from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from ...params import ParamSpec
from ..base import Backend, Output, RunContext
from ..hf_runtime import check_options
from ..safe_load import CONFIG_KEYS
from . import spec
from .files import PipelineFiles, check_folder, peek

log = logging.getLogger("dawgen.diffusers")

EXTRA = "diffusers"
_REQUIRES = ("torch", "diffusers", "transformers")


class DiffusersBackend(Backend):
    name: ClassVar[str] = "diffusers"
    version: ClassVar[str] = "1"
    requires: ClassVar[tuple[str, ...]] = _REQUIRES
    extra: ClassVar[str] = EXTRA
    verbs: Mapping[str, Sequence[ParamSpec]] = {"generate": spec.GENERATE_PARAMS, "vary": spec.VARY_PARAMS}
    config_keys: ClassVar[Mapping[str, type]] = {"dtype": str, "threads": int, **CONFIG_KEYS}

    def __init__(self, model_name: str, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(model_name, options)
        self.device = str(self.options.get("device") or "auto")
        self._files: PipelineFiles | None = None
        self._loaded_model: Any = None
        family = peek(self._path)
        # vary only where the pipeline takes audio in; Stable Audio's scheduler imports torchsde
        if family is None or not family.takes_audio:
            self.verbs = {"generate": spec.GENERATE_PARAMS}
        else:
            self.requires = (*_REQUIRES, "torchsde")

    @property
    def _path(self) -> str:
        return str(self.options.get("path") or "")

    # -- availability and provenance --------------------------------------------------------------
    def _check_available(self) -> None:
        check_options(self.model_name, self.options)
        self._files = check_folder(self._path)

    def fingerprint(self) -> dict[str, Any]:
        from ...output.provenance import file_sha256, installed_versions

        out: dict[str, Any] = {"path": self._path}
        files = self._files
        if files is not None:
            out["pipeline"] = files.family.pipeline
            if files.denoiser is not None:
                out["weights_sha256"] = file_sha256(str(files.denoiser))
        return {**out, **installed_versions("diffusers", "transformers")}

    def _memory_estimate(self) -> int:
        from ..torch_util import files_bytes, module_bytes

        if self._loaded_model is not None:
            return module_bytes(*self._loaded_model.modules)
        if self._files is None:
            return 0
        # weights are mostly stored in float32; half precision on CUDA (dtype auto) halves them
        size = files_bytes(*self._files.weights)
        return size // 2 if str(self.device).startswith("cuda") and self.options.get("dtype", "auto") == "auto" else size

    # -- submit time --------------------------------------------------------------------------------
    def _check_params(self, verb: str, params: Mapping[str, Any]) -> None:
        spec.check_request(self._files or check_folder(self._path), verb, params)

    def estimate_seconds(self, verb: str, params: Mapping[str, Any]) -> float:
        return spec.estimate_seconds(self._files, params, gpu=self.device not in ("cpu", "auto"))

    # -- load ---------------------------------------------------------------------------------------
    def _load(self) -> None:
        from ..torch_util import prepare

        files = check_folder(self._path)
        device, dtype = prepare(self.options, self.device)
        from .model import load

        self._loaded_model = load(files, device, dtype, self.model_name)
        self._files, self.device = files, device
        log.info("diffusers %s loaded on %s (%s, %s, %d Hz)", self.model_name, device, files.family.pipeline, dtype,
                 files.sample_rate)

    def _unload(self) -> None:
        self._loaded_model = None

    # -- run ------------------------------------------------------------------------------------------
    def _run(self, verb: str, ctx: RunContext) -> list[Output]:
        from . import run

        return run.run(self._loaded_model, verb, ctx)
