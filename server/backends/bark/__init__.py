"""`bark`: Suno's Bark through Hugging Face transformers (words → spoken or sung vocal lines).

`[models.NAME] backend = "bark"`, `path = FOLDER`: a transformers-format folder (suno/bark-small,
suno/bark) or a Hugging Face cache entry (files.py). Verb `generate`: `prompt` = the words
(`♪ ... ♪` to sing, `[laughs]`-style cues as they are), `voice` = a speaker preset of the folder,
`text_temperature`, `waveform_temperature`. Words past one pass (~13 s) are made pass by pass and
joined (spec.py, run.py). 24 kHz mono out, made DAW-ready by the engine's post steps like every
backend's audio. torch and transformers are imported in `_load`/`_run` only; the `bark` extra
installs them.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from ...errors import DawgenError, ErrorCode
from ...params import ParamSpec
from ..base import Backend, Output, RunContext
from ..hf_runtime import check_options
from ..safe_load import CONFIG_KEYS, allow_pickle
from . import spec
from .files import BarkFiles, check_folder, voice_error

log = logging.getLogger("dawgen.bark")

EXTRA = "bark"
WARMUP_TOKENS = 8  # semantic tokens of the pass made at load


class BarkBackend(Backend):
    name: ClassVar[str] = "bark"
    version: ClassVar[str] = "1"
    requires: ClassVar[tuple[str, ...]] = ("torch", "transformers")
    extra: ClassVar[str] = EXTRA
    verbs: Mapping[str, Sequence[ParamSpec]] = {"generate": spec.GENERATE_PARAMS}
    # voice: the preset used when a request names none
    config_keys: ClassVar[Mapping[str, type]] = {"dtype": str, "warmup": bool, "threads": int, "voice": str,
                                                 **CONFIG_KEYS}

    def __init__(self, model_name: str, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(model_name, options)
        self.device = str(self.options.get("device") or "auto")
        self._files: BarkFiles | None = None
        self._runner: Any = None
        try:
            self._files = check_folder(str(self.options.get("path", "")))
        except DawgenError:
            pass  # _check_available reports it

    @property
    def runner(self) -> Any:
        """The loaded BarkRunner (model.py); None until load()."""
        return self._runner

    @property
    def voices(self) -> list[str]:
        """The speaker presets this model's folder holds (read without torch)."""
        return sorted(self._files.voices) if self._files is not None else []

    def describe(self) -> dict[str, Any]:
        """As every backend's, plus the speaker presets a request's `voice` may name (`/dawgen/models`)."""
        return {**super().describe(), "voices": self.voices}

    # -- availability ---------------------------------------------------------------------------
    def _check_available(self) -> None:
        check_options(self.model_name, self.options)
        self._files = check_folder(str(self.options.get("path", "")))
        default = str(self.options.get("voice") or "")
        if default and default not in self._files.voices:
            problem = voice_error(self._files, default).message
            raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, f"models.{self.model_name}.{problem}")

    def fingerprint(self) -> dict[str, Any]:
        from ...output.provenance import file_sha256, installed_versions

        out: dict[str, Any] = {"path": str(self.options.get("path", ""))}
        if self._files is not None:
            weights = self._files.weights()
            if weights is not None:
                out["weights_sha256"] = file_sha256(str(weights))
        return {**out, **installed_versions("transformers")}

    # -- submit-time checks ---------------------------------------------------------------------
    def _check_params(self, verb: str, params: Mapping[str, Any]) -> None:
        spec.words(params)
        voice = params.get("voice")
        if voice:
            files = self._files or check_folder(str(self.options.get("path", "")))
            if voice not in files.voices:
                raise voice_error(files, str(voice))

    def estimate_seconds(self, verb: str, params: Mapping[str, Any]) -> float:
        return spec.estimate_seconds(params)

    # -- load -----------------------------------------------------------------------------------
    def _load(self) -> None:
        from ..torch_util import prepare

        files = check_folder(str(self.options.get("path", "")))
        device, dtype = prepare(self.options, self.device, quiet=("transformers",))
        from .model import BarkRunner

        self._runner = BarkRunner(files, device, dtype, self.model_name, allow_pickle(self.options))
        self._files, self.device = files, device
        if self.options.get("warmup", True):
            # the first generate() in a process is many times slower (kernels, allocator): pay it here
            self._runner.one_pass("hello", None, 0.7, 0.7, lambda stage, fraction: None, max_semantic=WARMUP_TOKENS)
        log.info("bark %s loaded on %s (%s, %d voices)", self.model_name, device, dtype, len(files.voices))

    def _unload(self) -> None:
        self._runner = None

    def _memory_estimate(self) -> int:
        from ..torch_util import files_bytes, module_bytes

        if self._runner is not None:
            return module_bytes(self._runner.model)
        if self._files is None:
            return 0
        # weights are stored in float32; half precision on CUDA (dtype auto) halves the footprint
        size = files_bytes(*self._files.weight_files())
        return size // 2 if str(self.device).startswith("cuda") else size

    # -- run ------------------------------------------------------------------------------------
    def _run(self, verb: str, ctx: RunContext) -> list[Output]:
        from . import run

        return run.run(self._runner, self._files, ctx, str(self.options.get("voice") or ""))
