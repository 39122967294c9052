"""The diffusers backend's declared parameters and the request arithmetic that needs no torch.

`steps` and `guidance` are declared with default None: their defaults are the pipeline's own
(files.FAMILIES: AudioLDM2 200 steps at 3.5, MusicLDM 200 at 2.0, Stable Audio Open 100 at 7.0).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ...params import ParamSpec, count_param, seed_param
from ..inputs import input_file, input_seconds, requested_seconds
from .files import FAMILIES, PipelineFiles

_DEFAULTS = "; ".join(f"{f.name} {f.steps}" for f in FAMILIES.values())
_GUIDANCE = "; ".join(f"{f.name} {f.guidance:g}" for f in FAMILIES.values())

_PROMPT = ParamSpec("prompt", "str", "", max_length=1000, doc="what to make: sounds, instruments, genre, mood")
_NEGATIVE = ParamSpec("negative_prompt", "str", "", max_length=1000,
                      doc="what to steer away from (e.g. \"low quality\"); empty = none")
_SAMPLING: tuple[ParamSpec, ...] = (
    ParamSpec("steps", "int", None, min=1, max=1000, doc=f"denoising steps; default the pipeline's ({_DEFAULTS})"),
    ParamSpec("guidance", "float", None, min=0.0, max=30.0,
              doc=f"classifier-free guidance: how closely to follow the prompt, 1 or less = off; default the "
                  f"pipeline's ({_GUIDANCE})"),
    seed_param("same seed + params = the same audio; default: random"),
    count_param(16, "variations made together in one batch; file i has seed + i and is made again by count 1 "
                    "with that seed"),
)
_SECONDS = ParamSpec("seconds", "float", None, min=0.01, max=600.0,
                     doc="length; default 10 s (or the model's window if shorter); `bars` at `bpm` overrides it; "
                         "Stable Audio Open makes at most its window (47.5 s)")

GENERATE_PARAMS: tuple[ParamSpec, ...] = (_PROMPT, _NEGATIVE, _SECONDS, *_SAMPLING)
VARY_PARAMS: tuple[ParamSpec, ...] = (
    ParamSpec("input", "str", None, max_length=4096,
              doc="absolute path of an audio file (anything libsndfile reads); required"),
    ParamSpec("strength", "float", 0.5, min=0.0, max=1.0,
              doc="how far from the input: the noise level sampling starts from (0 = the input itself, "
                  "1 = as far as text-to-audio)"),
    _PROMPT, _NEGATIVE,
    ParamSpec("seconds", "float", None, min=0.01, max=600.0,
              doc="length; default: the input's, up to the model's window"),
    *_SAMPLING,
)


@dataclass(frozen=True)
class Sampling:
    steps: int
    guidance: float


def sampling(files: PipelineFiles, params: Mapping[str, Any]) -> Sampling:
    steps = int(params["steps"]) if params.get("steps") is not None else files.family.steps
    guidance = float(params["guidance"]) if params.get("guidance") is not None else files.family.guidance
    return Sampling(steps, guidance)


def seconds(files: PipelineFiles, params: Mapping[str, Any], default: float | None = None) -> float:
    """The length to make: bars at bpm, else `seconds`, else `default` (else 10 s), within the model's limits."""
    value = requested_seconds(params)
    if value is None:
        return min(default if default is not None else files.family.default_seconds, files.window_seconds)
    if value > files.window_seconds + 1e-6:
        raise ValueError(f"{value:.2f} s is longer than this model makes ({files.window_seconds:.2f} s)")
    if value < files.min_seconds - 1e-9:
        raise ValueError(f"{value:.3f} s is shorter than the {files.min_seconds:.3f} s this model makes at least")
    return value


def input_path(params: Mapping[str, Any]) -> str:
    return input_file(params, "input", "an audio file")


def check_request(files: PipelineFiles, verb: str, params: Mapping[str, Any]) -> None:
    """Submit-time checks: the length within the model's limits, vary's input readable."""
    if verb == "vary":
        seconds(files, params, default=min(input_seconds(params), files.window_seconds))
    else:
        seconds(files, params)


def estimate_seconds(files: PipelineFiles | None, params: Mapping[str, Any], gpu: bool) -> float:
    """A prior for queue ETAs before progress is seen: per step, per second of audio, per row."""
    if files is None:
        return 10.0
    try:
        steps = sampling(files, params).steps
        length = seconds(files, params, default=files.family.default_seconds)
    except (ValueError, TypeError):
        return 10.0
    per = 0.002 if gpu else 0.05
    return 1.0 + steps * length * per * (1 + 0.5 * (int(params.get("count", 1)) - 1))
