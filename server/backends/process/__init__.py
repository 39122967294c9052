"""`process`: audio in, audio out, beside the DAW (the built-in model `process`; pedalboard, no torch).

Verbs:
- `process`: `input` through `chain` (chain.py: pedalboard's built-in effects and the producer's
  VST3 / Audio Unit plugins from `[plugins]` folders). The result keeps the level the chain gives
  (no loudness normalisation unless `loudness` is asked), the input's length (plus the tail with
  `tail=true`) and its rate unless `sample_rate` says otherwise.
- `fit`: `input` made exactly `bars` bars at `bpm` (Rubber Band through the DAW-ready post, which
  detects the source tempo when `source_bpm` is not given), pitch-shifted from `source_key` to
  `key` when both are given; written as a DAW-ready loop with its tempo and key chunks.
- `clean`: `mode=denoise` runs an embedded spectral gate (clean.py) that keeps length and alignment:
  the default, for music. The built-in model `deepfilternet` (server/backends/deepfilternet) does
  `clean model=deepfilternet` with DeepFilterNet 3 for vocals, speech and field recordings; the
  other modes need a model that does them, and none ships with dawgen.

`chain=` on any other verb runs through the same code (run.py, called from server/execute.py).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from ...config import PluginsConfig
from ...errors import DawgenError, ErrorCode
from ...music import parse_key
from ...output.naming import slugify
from ...params import ParamSpec
from ..base import Audio, Backend, Output, RunContext
from ..inputs import input_file, input_stem
from .spec import CLEAN_PARAMS, FIT_PARAMS, MAX_INPUT_SECONDS, PROCESS_PARAMS

EXTRA = "process"


class ProcessBackend(Backend):
    name: ClassVar[str] = "process"
    version: ClassVar[str] = "1"
    requires: ClassVar[tuple[str, ...]] = ("pedalboard",)
    extra: ClassVar[str] = EXTRA
    verbs: ClassVar[Mapping[str, Sequence[ParamSpec]]] = {"process": PROCESS_PARAMS, "fit": FIT_PARAMS,
                                                           "clean": CLEAN_PARAMS}
    # `process` runs the request's chain itself (with its `tail`); execute.py must not run it again
    applies_chain: ClassVar[bool] = True

    @property
    def plugins(self) -> PluginsConfig:
        config = getattr(self.registry, "config", None)
        return config.plugins if config is not None else PluginsConfig()

    # -- submit time ------------------------------------------------------------------------------------
    def _check_params(self, verb: str, params: Mapping[str, Any]) -> None:
        from ..audio_in import checked_section

        info, first, stop = checked_section(input_file(params), params, MAX_INPUT_SECONDS,
                                            f"{verb}es" if verb == "process" else f"{verb}s")
        if verb == "process" and not params.get("chain"):
            raise ValueError("chain: required (a JSON list of steps, e.g. [{\"effect\": \"Gain\", \"gain_db\": -6}])")
        if verb == "process":
            from .chain import parse_chain
            from .paulstretch import check_chain_length

            check_chain_length(parse_chain(str(params["chain"])), (stop - first) / info.sample_rate, info.sample_rate)
        if verb == "fit":
            if not (params.get("bars") and params.get("bpm")):
                raise ValueError("fit needs `bars` and `bpm` (the length to make, e.g. bars=4 bpm=120)")
            if params.get("source_key") and not params.get("key"):
                raise ValueError("source_key: give `key` too (the key to move the file to)")
            if params.get("source_key"):
                parse_key(str(params["source_key"]))
        if verb == "clean" and params.get("mode", "denoise") != "denoise":
            raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, f"clean mode={params['mode']}: no installed model does "
                                                           "it (the built-in `process` model does denoise only)")

    def estimate_seconds(self, verb: str, params: Mapping[str, Any]) -> float:
        from ..audio_in import section_seconds

        seconds = section_seconds(params) or 20.0
        stretched = seconds
        if verb == "process":  # paulstretch: ~0.01 s per second it makes (bench/process_bench.py)
            from .chain import parse_chain

            try:
                for step in parse_chain(str(params.get("chain") or "[]")):
                    stretched *= float(step.params["stretch"]) if step.effect == "paulstretch" else 1.0
            except ValueError:
                pass  # submit-time checks report it
        return 0.05 * seconds + (0.01 * stretched if stretched != seconds else 0.0)

    # -- run ----------------------------------------------------------------------------------------------
    def _run(self, verb: str, ctx: RunContext) -> list[Output]:
        samples, rate = self._read(ctx)
        stem = slugify(input_stem(str(ctx.params["input"])), fallback="input")
        if verb == "process":
            return [self._process(samples, rate, ctx, stem)]
        if verb == "fit":
            return [self._fit(samples, rate, ctx, stem)]
        return [self._clean(samples, rate, ctx, stem)]

    def _read(self, ctx: RunContext) -> tuple[np.ndarray, int]:
        return read_input(ctx)

    def _process(self, samples: np.ndarray, rate: int, ctx: RunContext, stem: str) -> Audio:
        from .run import run_chain

        out = run_chain(samples, rate, ctx.params, self.plugins, ctx, tail=bool(ctx.params.get("tail")),
                        share=(0.05, 0.9))
        out = level(out, rate, ctx.params)
        # post = none: the chain's level and the input's length stand (sanitize and resample only)
        return Audio(out, rate, meta={"name": f"{stem}_processed", "post": "none", "chain": ctx.params["chain"],
                                      "title": f"{stem} processed"})

    def _fit(self, samples: np.ndarray, rate: int, ctx: RunContext, stem: str) -> Audio:
        p = ctx.params
        meta: dict[str, Any] = {"name": f"{stem}_fit", "title": f"{stem} fit"}
        if p.get("source_bpm"):
            meta["bpm"] = float(p["source_bpm"])  # the post's fit_to_grid stretches from it, else detects
        if p.get("source_key") and p.get("key"):
            semitones = shift_between(str(p["source_key"]), str(p["key"]))
            ctx.progress(0.3, "pitching")
            samples = pitch_shift(samples, rate, semitones)
            meta["pitch_shift_semitones"] = semitones
        ctx.progress(0.6, "fitting")
        return Audio(samples, rate, meta=meta)

    def _clean(self, samples: np.ndarray, rate: int, ctx: RunContext, stem: str) -> Audio:
        from .clean import spectral_gate

        ctx.progress(0.2, "denoising")
        out = spectral_gate(samples, rate, float(ctx.params.get("reduction_db", 24.0)))
        out = level(out, rate, ctx.params)
        return Audio(out, rate, meta={"name": f"{stem}_denoised", "post": "none", "clean": "denoise:spectral-gate",
                                      "title": f"{stem} denoised"})


def read_input(ctx: RunContext) -> tuple[np.ndarray, int]:
    """The request's `input` (its `start`..`end` part) as (frames, channels) float32 and its rate."""
    from ..audio_in import read_selected

    ctx.progress(0.0, "reading")
    return read_selected(input_file(ctx.params), ctx.params, ctx.check_cancel, "dawgen-process-")


def level(samples: np.ndarray, rate: int, params: Mapping[str, Any]) -> np.ndarray:
    """Loudness normalisation only when `loudness` is asked (the post does none for post = none)."""
    if params.get("loudness") is None:
        return samples
    from ...post.loudness import normalize

    out, _ = normalize(samples, rate, float(params["loudness"]), float(params.get("true_peak", -1.0)))
    return out


def shift_between(source: str, target: str) -> int:
    """Semitones from one key's root to another's, the nearest way (-6..+5): Am → Cm is +3."""
    step = (parse_key(target).root - parse_key(source).root) % 12
    return step - 12 if step >= 6 else step


def pitch_shift(samples: np.ndarray, rate: int, semitones: int) -> np.ndarray:
    """Rubber Band pitch shift through pedalboard, same length."""
    if semitones == 0:
        return samples
    import pedalboard

    out = pedalboard.time_stretch(np.ascontiguousarray(samples.T), float(rate), stretch_factor=1.0,
                                  pitch_shift_in_semitones=float(semitones))
    out = np.ascontiguousarray(np.asarray(out, dtype=np.float32).T)[:samples.shape[0]]
    return np.pad(out, ((0, samples.shape[0] - out.shape[0]), (0, 0))) if out.shape[0] < samples.shape[0] else out
