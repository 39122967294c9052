"""The verbs on a loaded model: generate, vary, inpaint.

`vary` and `inpaint` edit a clip the user placed, so their files are written as they come (meta
post = "none": no trim, grid or loudness change). An inpaint file is the input, untouched outside
start..end (bit-exact: the model regenerates its whole window, and dawgen pastes only the region
back, with 10 ms fades inside the region), at the input's rate and channels.

Progress: sampler steps are 90 % of a job (every step passes through ctx.progress, the cancel
point); decoding the latents is the rest.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from ...errors import DawgenError, ErrorCode
from ...post.resample import resample
from ..audio_in import read_section, to_model
from ..base import Audio, Output, RunContext
from . import spec
from .model import K_SAMPLERS, SIGMA_MAX, SIGMA_MIN, Loaded, Request, encode, sample

GENERATING = 0.9
FADE_S = 0.01


def run(m: Loaded, verb: str, ctx: RunContext, full_window: bool = False) -> list[Output]:
    try:
        sampling = spec.resolve(m.files, ctx.params)
        if verb == "generate":
            return _generate(m, ctx, sampling, full_window)
        if verb == "vary":
            return _vary(m, ctx, sampling)
        return _inpaint(m, ctx, sampling)
    except ValueError as exc:  # checked at submit; a journaled job re-run after an upgrade lands here
        raise DawgenError(ErrorCode.BAD_REQUEST, str(exc)) from None


def _conditioning(m: Loaded, prompt: str, seconds: float, n: int) -> list[dict[str, Any]] | None:
    if not m.files.conditional:
        return None
    row: dict[str, Any] = {}
    for key in m.model.conditioner.conditioners:
        row[key] = {"seconds_start": 0.0, "seconds_total": float(seconds)}.get(key, prompt)
    return [dict(row) for _ in range(n)]


def _batches(m: Loaded, ctx: RunContext, make: Any, count: int, steps: int) -> list[np.ndarray]:
    """make(first, n, on_step) per batch through run_in_batches (an OOM halves the batch)."""
    from ..torch_util import run_in_batches

    def run_batch(first: int, n: int) -> list[np.ndarray]:
        def on_step(i: int) -> None:
            ctx.progress(GENERATING * (first + n * min(i + 1, steps) / steps) / count, "generating")
        audio = make(first, n, on_step)
        ctx.progress(GENERATING + (1 - GENERATING) * (first + n) / count, "decoding")
        return [audio[i].cpu().numpy().T.astype(np.float32) for i in range(n)]

    ctx.progress(0.0, "generating")
    return run_in_batches(run_batch, count, m.device)


def _request(m: Loaded, ctx: RunContext, sampling: spec.Sampling, seeds: list[int], latent: int, text_seconds: float,
             **extra: Any) -> Request:
    p = ctx.params
    prompt, negative = str(p.get("prompt") or ""), str(p.get("negative_prompt") or "")
    n = len(seeds)
    return Request(seeds, latent, sampling.steps, sampling.sampler, sampling.cfg_scale,
                   conditioning=_conditioning(m, prompt, text_seconds, n),
                   negative=_conditioning(m, negative, text_seconds, n) if negative else None, **extra)


def _generate(m: Loaded, ctx: RunContext, sampling: spec.Sampling, full_window: bool) -> list[Output]:
    p = ctx.params
    seed, count = int(p["seed"]), int(p.get("count", 1))
    seconds = spec.seconds(m.files, p)
    frames = int(round(seconds * m.files.sample_rate))
    latent = m.files.window // m.hop if full_window else _latent_frames(m, frames)

    def make(first: int, n: int, on_step: Any) -> Any:
        seeds = [seed + first + i for i in range(n)]
        return sample(m, _request(m, ctx, sampling, seeds, latent, seconds), on_step)

    rows = _batches(m, ctx, make, count, sampling.steps)
    meta = {"seconds": round(seconds, 6), "steps": sampling.steps, "sampler": sampling.sampler,
            "cfg_scale": sampling.cfg_scale, "family": m.files.family.name}
    return [Audio(_fit(r, frames), m.files.sample_rate, seed=seed + i, meta=dict(meta)) for i, r in enumerate(rows)]


def _noise_level(m: Loaded, sampler: str, strength: float) -> float:
    """`strength` 0..1 as the library's init_noise_level: the rectified-flow time and v-ddim's level
    are 0..1 already; k-diffusion samplers start from a sigma, spread log-evenly over their range."""
    if m.files.objective == "v" and sampler in K_SAMPLERS:
        return SIGMA_MIN * (SIGMA_MAX / SIGMA_MIN) ** strength
    return strength


def _vary(m: Loaded, ctx: RunContext, sampling: spec.Sampling) -> list[Output]:
    p = ctx.params
    seed, count, strength = int(p["seed"]), int(p.get("count", 1)), float(p.get("strength", 0.5))
    clip, rate = read_section(spec.input_path(p), None, None)
    seconds = spec.seconds(m.files, p, default=clip.shape[0] / rate)
    frames = int(round(seconds * m.files.sample_rate))
    x = _fit(to_model(clip, rate, m.files.sample_rate, m.files.channels), frames)
    meta = {"seconds": round(seconds, 6), "strength": strength, "post": "none", "steps": sampling.steps,
            "sampler": sampling.sampler, "family": m.files.family.name}
    if strength == 0.0:  # no noise: nothing to vary, the input is the answer (at the model's rate)
        ctx.progress(1.0, "generating")
        return [Audio(x.copy(), m.files.sample_rate, seed=seed + i, meta=dict(meta)) for i in range(count)]
    latent = _latent_frames(m, frames)
    init = encode(m, _fit(x, latent * m.hop).T)
    level = _noise_level(m, sampling.sampler, strength)

    def make(first: int, n: int, on_step: Any) -> Any:
        seeds = [seed + first + i for i in range(n)]
        return sample(m, _request(m, ctx, sampling, seeds, latent, seconds, init_latent=init, noise_level=level),
                      on_step)

    rows = _batches(m, ctx, make, count, sampling.steps)
    return [Audio(_headroom(_fit(r, frames)), m.files.sample_rate, seed=seed + i, meta=dict(meta))
            for i, r in enumerate(rows)]


def _inpaint(m: Loaded, ctx: RunContext, sampling: spec.Sampling) -> list[Output]:
    import torch

    p = ctx.params
    seed, count = int(p["seed"]), int(p.get("count", 1))
    path = spec.input_path(p)
    clip, rate = read_section(path, None, None)
    total = clip.shape[0] / rate
    start, end = spec.inpaint_region(p, total)
    window = m.files.window_seconds
    if end - start > window:
        raise ValueError(f"the region ({end - start:.2f} s) is longer than this model's window ({window:.2f} s)")
    # the model sees one window of the clip: all of it when it fits, else centred on the region
    length = min(total, window)
    offset = min(max(0.0, start - (length - (end - start)) / 2), total - length)
    sr, hop = m.files.sample_rate, m.hop
    segment = clip[int(round(offset * rate)):int(round((offset + length) * rate))]
    x = to_model(segment, rate, sr, m.files.channels)
    latent = _latent_frames(m, x.shape[0])
    keep = torch.ones(latent)
    keep[int(math.floor((start - offset) * sr / hop)):int(math.ceil((end - offset) * sr / hop))] = 0.0
    inpaint_latent = encode(m, _fit(x, latent * hop).T)

    def make(first: int, n: int, on_step: Any) -> Any:
        seeds = [seed + first + i for i in range(n)]
        return sample(m, _request(m, ctx, sampling, seeds, latent, length, keep_mask=keep,
                                  inpaint_latent=inpaint_latent), on_step)

    rows = _batches(m, ctx, make, count, sampling.steps)
    meta = {"start": start, "end": end, "window_offset": round(offset, 6), "post": "none", "steps": sampling.steps,
            "sampler": sampling.sampler, "family": m.files.family.name}
    return [Audio(_paste(clip, rate, r, sr, offset, start, end), rate, seed=seed + i, meta=dict(meta))
            for i, r in enumerate(rows)]


def _paste(clip: np.ndarray, rate: int, new: np.ndarray, model_rate: int, offset: float, start: float,
           end: float) -> np.ndarray:
    """The clip with start..end taken from `new` (which begins at `offset` s), faded in and out
    inside the region so that everything outside it stays exactly as it was."""
    out = clip.astype(np.float32).copy()
    y = resample(new, model_rate, rate) if rate != model_rate else new
    if y.shape[1] != clip.shape[1]:
        y = np.repeat(y.mean(axis=1, keepdims=True), clip.shape[1], axis=1) if clip.shape[1] > 1 else y.mean(
            axis=1, keepdims=True)
    a, b = int(round(start * rate)), min(clip.shape[0], int(round(end * rate)))
    first = int(round(offset * rate))
    region = _fit(y[a - first:], b - a)
    fade = min(int(FADE_S * rate), (b - a) // 2)
    ramp = np.ones(b - a, dtype=np.float32)
    if fade > 0:
        ramp[:fade] = np.linspace(0.0, 1.0, fade, dtype=np.float32)
        ramp[b - a - fade:] = np.linspace(1.0, 0.0, fade, dtype=np.float32)
    out[a:b] = out[a:b] * (1 - ramp[:, None]) + _headroom(region) * ramp[:, None]
    return out


def _latent_frames(m: Loaded, frames: int) -> int:
    """Latent frames for `frames` of audio, rounded up to the length the network accepts: the
    model makes the padded length and the result is trimmed back to `frames` (_fit)."""
    multiple = m.multiple
    return max(1, math.ceil(frames / (m.hop * multiple))) * multiple


def _fit(x: np.ndarray, frames: int) -> np.ndarray:
    if x.shape[0] >= frames:
        return x[:frames]
    return np.pad(x, ((0, frames - x.shape[0]), (0, 0)))


def _headroom(samples: np.ndarray) -> np.ndarray:
    """Unprocessed output (post = none) is written as it is: scaled under full scale if it is over."""
    peak = float(np.max(np.abs(samples))) if samples.size else 0.0
    return samples * (0.99 / peak) if peak > 0.99 else samples
