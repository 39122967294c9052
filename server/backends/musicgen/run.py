"""The three verbs on a loaded model: generate, continue, melody.

A continuation is written as it comes (meta post = "none"), never trimmed, looped, stretched or
normalised: it must start where the clip ends and flow out of it (a loop seam would crossfade its
end into its start), and it is already exactly `seconds` (or `bars` at `bpm`) long.

Progress: decoding steps across every window are 95 % of a job, decoding the codes to audio the
rest; every step passes through ctx.progress, so a cancel stops the job at the next token.
"""
from __future__ import annotations

import math
import os
from typing import Any

import numpy as np

from ...errors import DawgenError, ErrorCode
from ...post.resample import resample
from ..audio_in import read_section, to_model
from ..base import Audio, Output, RunContext
from . import spec
from .audio import chroma
from .model import DECODE_PREROLL, MusicgenModel
from .sampling import Sampling

GENERATING = 0.95
CROSSFADE_S = 0.01  # from the clip into its re-decoded tail, where include_input joins them


def run(model: MusicgenModel, verb: str, ctx: RunContext) -> list[Output]:
    p = ctx.params
    seed, count = int(p["seed"]), int(p.get("count", 1))
    sampling = Sampling(float(p.get("temperature", 1.0)), int(p.get("top_k", 250)), float(p.get("top_p", 0.0)),
                        float(p.get("guidance_scale", 3.0)))
    text = spec.prompt_text(p)
    meta: dict[str, Any] = {"prompt_used": text, "model_sample_rate": model.sampling_rate}
    if verb == "continue":
        return _continue(model, ctx, text, seed, count, sampling, meta)
    melody = None
    input_seconds = None
    if verb == "melody":
        samples, rate = read_section(str(p["input"]), None, None)
        input_seconds = samples.shape[0] / rate
        melody = chroma(samples, rate, model.files.preprocessor)
    seconds = _seconds(p, input_seconds)
    wanted = int(round(seconds * model.sampling_rate))
    windows = model.plan(0, math.ceil(wanted / model.hop))
    def make(first: int, n: int) -> list[np.ndarray]:
        codes = model.generate(text, n, seed + first, sampling, windows, chroma=melody,
                               on_step=_stepper(ctx, model, windows, first, n, count))
        return list(model.decode(codes, _decoding(ctx, first, n, count))[:, :wanted])

    audio = _rows(model, count, make)
    meta.update(seconds=round(seconds, 6), windows=len(windows))
    return [Audio(audio[i], model.sampling_rate, seed=seed + i, meta=dict(meta)) for i in range(count)]


def _seconds(p: dict[str, Any], input_seconds: float | None) -> float:
    try:
        return spec.target_seconds(p, input_seconds)
    except ValueError as exc:  # checked at submit; a journaled job re-run after an upgrade lands here
        raise DawgenError(ErrorCode.BAD_REQUEST, str(exc)) from None


def _rows(model: MusicgenModel, count: int, make: Any) -> list[np.ndarray]:
    """make(first, n) → n rows of audio: all `count` rows in one batch, halved on out-of-memory
    (row i keeps seed + i whatever the batch, so the files are the same)."""
    from ..torch_util import run_in_batches

    return run_in_batches(make, count, model.device)


def _stepper(ctx: RunContext, model: MusicgenModel, windows: list[tuple[int, int]], first: int = 0, n: int = 1,
             count: int = 1) -> Any:
    """Progress of rows first..first+n-1 of `count` (one batch of them)."""
    total = max(1, model.steps(windows))
    done = [0]

    def on_step() -> None:
        share = (first + n * min(done[0], total) / total) / count
        ctx.progress(GENERATING * share, "generating")  # raises JobCancelled when cancelled
        done[0] += 1
    return on_step


def _decoding(ctx: RunContext, first: int = 0, n: int = 1, count: int = 1) -> Any:
    return lambda fraction: ctx.progress(GENERATING + (1 - GENERATING) * (first + n * fraction) / count, "decoding")


def _continue(model: MusicgenModel, ctx: RunContext, text: str, seed: int, count: int, sampling: Sampling,
              meta: dict[str, Any]) -> list[Output]:
    p = ctx.params
    clip, rate = read_section(str(p["input"]), p.get("start"), p.get("end"))
    seconds = _seconds(p, None)
    wanted = int(round(seconds * model.sampling_rate))
    x = to_model(clip, rate, model.sampling_rate, model.channels)
    available = x.shape[0] // model.hop
    if available < 1:
        raise DawgenError(ErrorCode.BAD_REQUEST, f"input: shorter than one model frame ({1000 / model.frame_rate:g} ms)")
    windows = model.plan(available, math.ceil(wanted / model.hop))
    context = windows[0][0]
    # the prompt is the clip's last `context` frames, so the continuation starts where the clip ends
    prompt = model.encode(x[x.shape[0] - context * model.hop:])
    pre = min(context, DECODE_PREROLL)  # decode with some clip before the new part: no cold start

    def make(first: int, n: int) -> list[np.ndarray]:
        codes = model.generate(text, n, seed + first, sampling, windows, prompt=prompt,
                               on_step=_stepper(ctx, model, windows, first, n, count))
        return list(model.decode(codes[..., context - pre:], _decoding(ctx, first, n, count)))

    audio = _rows(model, count, make)
    head = pre * model.hop
    meta.update(seconds=round(seconds, 6), windows=len(windows), context_seconds=round(context / model.frame_rate, 4),
                include_input=bool(p.get("include_input")), input=os.path.basename(str(p["input"])))
    outputs: list[Output] = []
    for i in range(count):
        if p.get("include_input"):
            fade = min(head, int(CROSSFADE_S * model.sampling_rate))
            tail = audio[i][head - fade:head + wanted]
            samples = _join(clip, rate, tail, model.sampling_rate, fade)
            # the clip stays as it is: no trim, grid fitting or loudness change (post = none)
            outputs.append(Audio(samples, rate, seed=seed + i, meta={**meta, "post": "none"}))
        else:
            rate_out = int(p.get("sample_rate") or model.sampling_rate)
            new = _exact(audio[i][head:head + wanted], model.sampling_rate, rate_out, seconds)
            outputs.append(Audio(_headroom(new), rate_out, seed=seed + i, meta={**meta, "post": "none"}))
    return outputs


def _exact(samples: np.ndarray, rate: int, rate_out: int, seconds: float) -> np.ndarray:
    """At the request's rate and exactly `seconds` long (bars at bpm land on the grid to the sample)."""
    out = resample(samples, rate, rate_out) if rate != rate_out else samples
    want = int(round(seconds * rate_out))
    if out.shape[0] < want:
        out = np.pad(out, ((0, want - out.shape[0]), (0, 0)), mode="edge")
    return out[:want]


def _join(clip: np.ndarray, rate: int, tail: np.ndarray, model_rate: int, fade: int) -> np.ndarray:
    """The clip, untouched, then the continuation: a short crossfade from the clip's last samples
    into the model's re-decoded version of them, then the new audio, at the clip's rate and channels."""
    new = resample(tail, model_rate, rate) if rate != model_rate else tail.astype(np.float32)
    if new.shape[1] != clip.shape[1]:
        new = np.repeat(new.mean(axis=1, keepdims=True), clip.shape[1], axis=1)
    fade = min(int(round(fade * rate / model_rate)), clip.shape[0], new.shape[0])
    new = _headroom(new)
    out = np.concatenate([clip, new[fade:]], axis=0).astype(np.float32)
    if fade > 0:
        ramp = np.linspace(0.0, 1.0, fade, dtype=np.float32)[:, None]
        joint = slice(clip.shape[0] - fade, clip.shape[0])
        out[joint] = clip[-fade:] * (1 - ramp) + new[:fade] * ramp
    return out


def _headroom(samples: np.ndarray) -> np.ndarray:
    """Unprocessed output (post = none) is written as it is: scale it under full scale if it is over."""
    peak = float(np.max(np.abs(samples))) if samples.size else 0.0
    return samples * (0.99 / peak) if peak > 0.99 else samples
