"""`musicgen`: Meta's MusicGen through Hugging Face transformers (text → music, continuation, melody).

`[models.NAME] backend = "musicgen"`, `path = FOLDER`: a transformers-format folder or a Hugging Face
cache snapshot (files.py). Verbs: `generate`, `continue`, and `melody` on MusicGen-Melody models.
Requests past the model's window (30 s) are made window by window on tokens (model.py). torch and
transformers are imported in `_load`/`_run` only; the `musicgen` extra installs them.
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
from .files import ModelFiles, check_folder, weight_file

log = logging.getLogger("dawgen.musicgen")

EXTRA = "musicgen"
WARMUP_FRAMES = 16


class MusicgenBackend(Backend):
    name: ClassVar[str] = "musicgen"
    version: ClassVar[str] = "1"
    requires: ClassVar[tuple[str, ...]] = ("torch", "transformers")
    extra: ClassVar[str] = EXTRA
    verbs: Mapping[str, Sequence[ParamSpec]] = {
        "generate": spec.GENERATE_PARAMS, "continue": spec.CONTINUE_PARAMS, "melody": spec.MELODY_PARAMS}
    # base + adapter (+ trigger): a LoRA run trained on the model `path` holds (peft's
    # adapter_model.safetensors, adapter_config.json beside it), merged in for every job; the run
    # is also an adapter of `base` (`lora=RUN`); training: the run's training.json, carried into
    # every file's provenance
    config_keys: ClassVar[Mapping[str, type]] = {"dtype": str, "warmup": bool, "threads": int, "base": str,
                                                 "adapter": str, "trigger": str, "training": str, **CONFIG_KEYS}

    def __init__(self, model_name: str, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(model_name, options)
        self.device = str(self.options.get("device") or "auto")
        self._files: ModelFiles | None = None
        self._model: Any = None
        self._patcher: Any = None  # lora_patch.Patcher of the loaded model: the adapters merged now
        self._own = run_adapter(model_name, self.options)  # a LoRA run's own adapter: in every job
        # `melody` only where the folder is a MusicGen-Melody model (read from config.json, cheaply)
        try:
            self._files = check_folder(str(self.options.get("path", "")))
        except DawgenError:
            pass  # _check_available reports it
        if self._files is None or not self._files.melody:
            self.verbs = {v: p for v, p in type(self).verbs.items() if v != "melody"}

    @property
    def model(self) -> Any:
        """The loaded MusicgenModel (model.py: plan, generate, decode, encode); None until load()."""
        return self._model

    # -- availability ---------------------------------------------------------------------------
    def _check_available(self) -> None:
        check_options(self.model_name, self.options)
        self._files = check_folder(str(self.options.get("path", "")))
        if self._own is not None and self._own.problem:
            raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, f"models.{self.model_name}.adapter: {self._own.problem}")

    def _own_adapters(self) -> list[Applied]:
        return [Applied(self._own, 1.0)] if self._own is not None else []

    def fingerprint(self) -> dict[str, Any]:
        from ...output.provenance import file_sha256, installed_versions

        out: dict[str, Any] = {"path": str(self.options.get("path", ""))}
        if self._files is not None:
            out["model_type"] = self._files.model_type
            weights = weight_file(self._files.folder)
            if weights is not None:
                out["weights_sha256"] = file_sha256(str(weights))
        if self._own is not None and not self._own.problem:
            out.update(adapter=str(self._own.path), adapter_sha256=file_sha256(str(self._own.path)),
                       base=self._own.base)
        if self.options.get("training"):
            out["training"] = training_record(Path(str(self.options["training"])))
        return {**out, **installed_versions("transformers")}

    # -- submit-time checks ---------------------------------------------------------------------
    def _check_params(self, verb: str, params: Mapping[str, Any]) -> None:
        spec.check_request(verb, params)

    def estimate_seconds(self, verb: str, params: Mapping[str, Any]) -> float:
        return spec.estimate_seconds(params)

    # -- load -----------------------------------------------------------------------------------
    def _load(self) -> None:
        from ..torch_util import prepare

        files = check_folder(str(self.options.get("path", "")))
        device, dtype = prepare(self.options, self.device, quiet=("transformers",))
        from .model import MusicgenModel

        self._model = MusicgenModel(files, device, dtype, self.model_name, allow_pickle(self.options))
        from ..lora_patch import Patcher

        # peft adapters name modules of the whole model, or of its decoder when made on that alone
        self._patcher = Patcher(self._model.model, prefixes=("decoder.",))
        self._files, self.device = files, device
        if self.options.get("warmup", True):
            self._warm_up()
        log.info("musicgen %s loaded on %s (%s, window %.1f s)", self.model_name, device, dtype,
                 self._model.window / self._model.frame_rate)

    def _warm_up(self) -> None:
        """The first generate() in a process is many times slower (kernel selection, allocator,
        lazy imports): pay it at load, with the same paths a request takes (guidance, codec)."""
        import numpy as np

        from .sampling import Sampling

        m = self._model
        frames = min(WARMUP_FRAMES, m.window)
        codes = m.generate("warm up", 1, 0, Sampling(), m.plan(0, frames))
        m.decode(codes)
        m.encode(np.zeros((m.hop * 2, m.channels), dtype=np.float32))

    def _unload(self) -> None:
        self._model = self._patcher = None

    def _memory_estimate(self) -> int:
        from ..torch_util import files_bytes, module_bytes

        if self._model is not None:
            return module_bytes(self._model.model) + (self._patcher.bytes() if self._patcher is not None else 0)
        if self._files is None:
            return 0
        # weights are stored in float32; half precision on CUDA (dtype auto) halves the footprint
        folder = self._files.folder  # sharded checkpoints (MusicGen-large) have several files
        size = files_bytes(*(list(folder.glob("*.safetensors")) or list(folder.glob("*.bin"))))
        return size // 2 if str(self.device).startswith("cuda") else size

    # -- run ------------------------------------------------------------------------------------
    def _run(self, verb: str, ctx: RunContext) -> list[Output]:
        from ..lora_patch import apply_loras
        from . import run

        # the adapters of this job merged into the weights (the last job's taken out), never a reload
        apply_loras(self, self._patcher, ctx.params)
        return run.run(self._model, verb, ctx)

