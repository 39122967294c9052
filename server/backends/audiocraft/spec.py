"""The audiocraft backend's declared parameters. MusicGen and AudioGen take the musicgen backend's
parameters, names and all (../musicgen/spec.py); MAGNeT has its own: it makes its whole window in a
fixed number of parallel decoding steps per codebook, over spans of masked tokens."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...params import ParamSpec, count_param, seed_param
from ..musicgen import spec as musicgen_spec

GENERATE_PARAMS = musicgen_spec.GENERATE_PARAMS
CONTINUE_PARAMS = musicgen_spec.CONTINUE_PARAMS
MELODY_PARAMS = musicgen_spec.MELODY_PARAMS
SPANS = ("nonoverlap", "stride1")


def _steps_check(value: Any) -> None:
    decoding_steps(value)


def decoding_steps(value: Any) -> list[int]:
    """"20,10,10,10" -> [20, 10, 10, 10]: steps for each codebook (fewer given: the last repeats)."""
    try:
        steps = [int(part) for part in str(value).replace(" ", "").split(",") if part]
    except ValueError:
        raise ValueError(f"decoding_steps: {value!r} is not a list of whole numbers such as 20,10,10,10") from None
    if not steps or any(s < 1 or s > 200 for s in steps):
        raise ValueError(f"decoding_steps: {value!r}: each step count must be 1 to 200")
    return steps


MAGNET_PARAMS: tuple[ParamSpec, ...] = (
    ParamSpec("prompt", "str", "", max_length=1000, doc="what to make; `bpm` and `key` are added to it as words"),
    ParamSpec("seconds", "float", None, min=musicgen_spec.MIN_SECONDS, max=musicgen_spec.MAX_SECONDS,
              doc="length, at most the model's window (10 or 30 s), which it always makes; default: the window"),
    ParamSpec("decoding_steps", "str", "20,10,10,10", max_length=100, check=_steps_check,
              doc="parallel decoding steps for each codebook, comma-separated (the last repeats); fewer = faster"),
    ParamSpec("span_arrangement", "str", "nonoverlap", choices=SPANS,
              doc="masked spans: nonoverlap (as trained) or stride1 (overlapping)"),
    ParamSpec("temperature", "float", 3.0, min=0.0, max=10.0,
              doc="initial sampling temperature, annealed to 0 over each codebook's steps; 0 = most likely"),
    ParamSpec("top_k", "int", 0, min=0, max=4096, doc="sample among the k most likely tokens; 0 = no limit"),
    ParamSpec("top_p", "float", 0.9, min=0.0, max=1.0, doc="nucleus sampling; above 0 it replaces top_k"),
    ParamSpec("guidance_scale", "float", 10.0, min=1.0, max=20.0,
              doc="classifier-free guidance at the first step, annealed to min_guidance_scale"),
    ParamSpec("min_guidance_scale", "float", 1.0, min=1.0, max=20.0, doc="classifier-free guidance at the last step"),
    seed_param("same seed + params = identical audio; default: random"),
    count_param(16, "variations made together in one batch; file i has seed + i and is made again by count 1 "
                    "with that seed"),
)


def target_seconds(params: Mapping[str, Any], input_seconds: float | None = None) -> float:
    return musicgen_spec.target_seconds(params, input_seconds)


prompt_text = musicgen_spec.prompt_text
check_input = musicgen_spec.check_input
