"""MusicGen's declared parameters and the request arithmetic that needs no torch.

Checked at submit time in the daemon process (which never imports torch): lengths from `seconds` or
`bars` at `bpm`, the words added to the prompt, the input file, and the plan of windows for
requests longer than the model's window.
"""
from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from typing import Any

from ...music import parse_key
from ...params import ParamSpec, count_param, lora_param, seed_param
from ..inputs import bars_seconds as bars_seconds  # public here before inputs.py had it
from ..inputs import input_file, requested_seconds

MAX_SECONDS = 600.0
MIN_SECONDS = 0.1
# audiocraft's extend_stride is 18 s of a 30 s window: each further window keeps 40 % as context
STRIDE_FRACTION = 0.6

_SAMPLING: tuple[ParamSpec, ...] = (
    ParamSpec("temperature", "float", 1.0, min=0.0, max=4.0,
              doc="randomness of sampling; 0 = always the most likely token"),
    ParamSpec("top_k", "int", 250, min=0, max=4096, doc="sample among the k most likely tokens; 0 = no limit"),
    ParamSpec("top_p", "float", 0.0, min=0.0, max=1.0,
              doc="nucleus sampling; above 0 it replaces top_k (as in audiocraft)"),
    ParamSpec("guidance_scale", "float", 3.0, min=1.0, max=20.0,
              doc="classifier-free guidance: how closely to follow the prompt (and melody); 1 = off"),
    seed_param("same seed + params = identical audio; default: random"),
    count_param(16, "variations made together in one batch; file i has seed + i and is made again by count 1 "
                    "with that seed"),
    lora_param(),
)
_PROMPT = ParamSpec("prompt", "str", "", max_length=1000,
                    doc="what to make: genre, instruments, mood; `bpm` and `key` are added to it as words")
_INPUT_DOC = "absolute path of an audio file (anything libsndfile reads)"

GENERATE_PARAMS: tuple[ParamSpec, ...] = (
    _PROMPT,
    ParamSpec("seconds", "float", 10.0, min=MIN_SECONDS, max=MAX_SECONDS,
              doc="length; `bars` at `bpm` overrides it; past the model's window (30 s) it is made window by window"),
    *_SAMPLING,
)
CONTINUE_PARAMS: tuple[ParamSpec, ...] = (
    ParamSpec("input", "str", None, max_length=4096, doc=f"the clip to continue: {_INPUT_DOC}"),
    ParamSpec("start", "float", None, min=0.0, max=86400.0,
              doc="seconds into `input` where the part to continue begins; default 0"),
    ParamSpec("end", "float", None, min=0.0, max=86400.0,
              doc="seconds into `input` where it ends (the continuation follows it); default: the end of the file"),
    ParamSpec("include_input", "bool", False,
              doc="false: the file holds only the new part; true: the input, untouched, then its continuation"),
    ParamSpec("prompt", "str", "", max_length=1000, doc="optional words to steer the continuation"),
    ParamSpec("seconds", "float", 10.0, min=MIN_SECONDS, max=MAX_SECONDS,
              doc="length to add; `bars` at `bpm` overrides it"),
    *_SAMPLING,
)
MELODY_PARAMS: tuple[ParamSpec, ...] = (
    ParamSpec("input", "str", None, max_length=4096,
              doc=f"the melody to follow (hummed, whistled or played): {_INPUT_DOC}"),
    _PROMPT,
    ParamSpec("seconds", "float", None, min=MIN_SECONDS, max=MAX_SECONDS,
              doc="length; default: the melody's; `bars` at `bpm` overrides it; a shorter melody is looped"),
    *_SAMPLING,
)


def target_seconds(params: Mapping[str, Any], input_seconds: float | None = None) -> float:
    """Seconds to generate (to add, for `continue`): bars at bpm, else `seconds`, else the input's length."""
    seconds = requested_seconds(params)
    if seconds is None:
        seconds = float(input_seconds) if input_seconds is not None else 10.0
    if seconds > MAX_SECONDS:
        raise ValueError(f"{seconds:.1f} s is longer than the {MAX_SECONDS:g} s this backend makes in one request")
    if seconds < MIN_SECONDS:
        raise ValueError(f"{seconds:.3f} s is shorter than the {MIN_SECONDS:g} s minimum")
    return seconds


def prompt_text(params: Mapping[str, Any]) -> str:
    """The prompt with the tempo (and key) as words, as MusicGen's training descriptions had them."""
    words = str(params.get("prompt") or "").strip()
    extra = []
    if params.get("key"):
        key = parse_key(str(params["key"]))
        extra.append(f"in {key.name.rstrip('m')} {'minor' if key.minor else 'major'}")
    if params.get("bpm") is not None and not re.search(r"\bbpm\b", words, re.I):
        extra.append(f"{float(params['bpm']):g} bpm")
    return ", ".join(part for part in (words, *extra) if part)


def check_input(params: Mapping[str, Any]) -> tuple[str, float]:
    """The input path and its usable length in seconds (after start/end); ValueError if unusable."""
    import soundfile as sf  # a core dependency; light next to torch

    path = input_file(params, "input", "an audio file")
    try:
        info = sf.info(path)
    except (RuntimeError, sf.LibsndfileError) as exc:
        raise ValueError(f"input: {path} is not an audio file libsndfile reads ({exc})") from None
    duration = info.frames / info.samplerate
    start = float(params.get("start") or 0.0)
    end = float(params["end"]) if params.get("end") is not None else duration
    end = min(end, duration)
    if end - start < 0.05:
        raise ValueError(f"input: the part from {start:g} s to {end:g} s of {os.path.basename(path)} "
                         f"({duration:.2f} s long) is empty or shorter than 0.05 s")
    return path, end - start


def check_request(verb: str, params: Mapping[str, Any]) -> None:
    """Submit-time checks of a MusicGen-style request (the musicgen and audiocraft backends): the
    input of `continue` / `melody` readable, the target length in range."""
    input_seconds = None
    if verb in ("continue", "melody"):
        _, input_seconds = check_input(params)
    target_seconds(params, input_seconds if verb == "melody" else None)


def estimate_seconds(params: Mapping[str, Any]) -> float:
    """A rough prior for queue ETAs (progress refines it): MusicGen-small on a GPU decodes about 50
    steps per second of audio at ~40 steps/s, batches costing a little more per step."""
    seconds = float(params.get("seconds") or 10.0)
    return seconds * 50 / 40 * (1 + 0.15 * (int(params.get("count", 1)) - 1)) + 2.0


def plan_windows(prompt_frames: int, new_frames: int, window: int, stride: int) -> list[tuple[int, int]]:
    """(context frames, new frames) of each generate call.

    The first call uses as much of the prompt as leaves room for the new frames; each later call
    keeps the last `window - stride` frames (more when less than a stride is left) as context and
    adds up to `window - context` frames: audiocraft's windowed extension, in frames.
    """
    if not 0 < stride < window:
        raise ValueError(f"stride {stride} must be between 0 and the window {window}")
    windows, have, made = [], prompt_frames, 0
    while made < new_frames:
        remaining = new_frames - made
        context = min(have, window - min(stride, remaining))
        new = min(remaining, window - context)
        windows.append((context, new))
        have, made = have + new, made + new
    return windows


def stride_frames(window: int) -> int:
    return max(1, min(window - 1, int(math.floor(window * STRIDE_FRACTION))))
