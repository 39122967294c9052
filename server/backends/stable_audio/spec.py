"""Stable Audio's declared parameters and the request arithmetic that needs no torch.

`steps`, `cfg_scale` and `sampler` are declared with default None: their defaults follow the model
family read from model_config.json (files.FAMILIES) and are resolved by the backend (`resolve`).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ...params import ParamSpec, count_param, lora_param, seed_param
from ..inputs import input_file, requested_seconds
from ..inputs import input_seconds as input_seconds  # spec.input_seconds: the backend's submit checks
from .files import FAMILIES, SAMPLERS, ModelFiles

MIN_SECONDS = 0.1
DEFAULT_SECONDS = 10.0
_DEFAULTS = "; ".join(f"{f.name}: {f.steps} steps, {f.sampler}, cfg {f.cfg_scale:g}" for f in FAMILIES.values())

_PROMPT = ParamSpec("prompt", "str", "", max_length=1000, doc="what to make: instruments, genre, mood, tempo words")
_NEGATIVE = ParamSpec("negative_prompt", "str", "", max_length=1000, doc="what to steer away from; empty = none")
_SAMPLING: tuple[ParamSpec, ...] = (
    ParamSpec("steps", "int", None, min=1, max=500,
              doc=f"sampler steps; default per model family ({_DEFAULTS})"),
    ParamSpec("cfg_scale", "float", None, min=0.0, max=25.0,
              doc="classifier-free guidance: how closely to follow the prompt; default per model family "
                  "(7 for SAO 1.0, 1 for SAO Small)"),
    ParamSpec("sampler", "str", None, choices=SAMPLERS,
              doc="sampler; default per model family (dpmpp-3m-sde for SAO 1.0, pingpong for SAO Small); "
                  "v-objective models take the k-diffusion and v-ddim ones, rectified-flow models "
                  "euler, rk4, dpmpp, pingpong"),
    seed_param("same seed + params = the same audio; default: random"),
    count_param(16, "variations made in one batch; file i has seed + i and is made again by count 1 with that seed"),
    lora_param(),
)
_SECONDS = ParamSpec("seconds", "float", None, min=MIN_SECONDS, max=600.0,
                     doc=f"length; default {DEFAULT_SECONDS:g} s (or the model's window if shorter); `bars` at "
                         "`bpm` overrides it; at most the model's window (47 s SAO 1.0, 11.9 s SAO Small)")
_INPUT = ParamSpec("input", "str", None, max_length=4096,
                   doc="absolute path of an audio file (anything libsndfile reads); required")

GENERATE_PARAMS: tuple[ParamSpec, ...] = (_PROMPT, _NEGATIVE, _SECONDS, *_SAMPLING)
VARY_PARAMS: tuple[ParamSpec, ...] = (
    _INPUT,
    ParamSpec("strength", "float", 0.5, min=0.0, max=1.0,
              doc="how far from the input: the noise level the input starts from (0 = the input itself, "
                  "1 = as far as text-to-audio)"),
    _PROMPT, _NEGATIVE,
    ParamSpec("seconds", "float", None, min=MIN_SECONDS, max=600.0,
              doc="length; default: the input's, up to the model's window"),
    *_SAMPLING,
)
INPAINT_PARAMS: tuple[ParamSpec, ...] = (
    _INPUT,
    ParamSpec("start", "float", None, min=0.0, max=86400.0, doc="seconds into `input` where the part to regenerate begins; required"),
    ParamSpec("end", "float", None, min=0.0, max=86400.0, doc="seconds into `input` where it ends; required"),
    _PROMPT, _NEGATIVE, *_SAMPLING,
)
# Dance Diffusion is unconditional: no prompt, no guidance
UNCOND_GENERATE: tuple[ParamSpec, ...] = tuple(p for p in GENERATE_PARAMS
                                               if p.name not in ("prompt", "negative_prompt", "cfg_scale"))
UNCOND_VARY: tuple[ParamSpec, ...] = tuple(p for p in VARY_PARAMS if p.name not in ("prompt", "negative_prompt", "cfg_scale"))


@dataclass(frozen=True)
class Sampling:
    steps: int
    sampler: str
    cfg_scale: float


def resolve(files: ModelFiles, params: Mapping[str, Any]) -> Sampling:
    """steps / sampler / cfg_scale with the family's defaults; ValueError for a sampler the model's
    objective cannot run (e.g. euler on a v-objective model, which the library fails on)."""
    family = files.family
    sampler = str(params.get("sampler") or family.sampler)
    if sampler not in files.samplers:
        raise ValueError(f"sampler: {sampler} does not run {files.objective!r}-objective models like this one "
                         f"(its samplers: {', '.join(files.samplers)})")
    steps = int(params["steps"]) if params.get("steps") is not None else family.steps
    cfg = float(params["cfg_scale"]) if params.get("cfg_scale") is not None else family.cfg_scale
    return Sampling(steps, sampler, cfg)


def input_path(params: Mapping[str, Any]) -> str:
    return input_file(params, "input", "an audio file")


def seconds(files: ModelFiles, params: Mapping[str, Any], default: float | None = None) -> float:
    """The length to make: bars at bpm, else `seconds`, else `default` (else 10 s), within the window."""
    window = files.window_seconds
    value = requested_seconds(params)
    if value is None:
        return min(default if default is not None else DEFAULT_SECONDS, window)
    if value > window + 1e-6:
        raise ValueError(f"{value:.2f} s is longer than this model's window ({window:.2f} s)")
    if value < MIN_SECONDS:
        raise ValueError(f"{value:.3f} s is shorter than the {MIN_SECONDS:g} s minimum")
    return value


def inpaint_region(params: Mapping[str, Any], total: float) -> tuple[float, float]:
    if params.get("start") is None or params.get("end") is None:
        raise ValueError("inpaint needs `start` and `end`: the seconds of `input` to regenerate")
    start, end = float(params["start"]), min(float(params["end"]), total)
    if start >= total:
        raise ValueError(f"start: {start:g} s is past the end of input ({total:.3f} s)")
    if end - start < 0.01:
        raise ValueError(f"end: {float(params['end']):g} s must come after start ({start:g} s)")
    return start, end
