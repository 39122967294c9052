"""The verbs on a loaded pipeline: generate (every pipeline) and vary (Stable Audio Open).

Rows: a `count` batch is one pipeline call with num_waveforms_per_prompt = count and one torch
generator per row, seeded seed + i, so row i is the same audio as a `count=1` request with seed + i
(`dawgen regen`). A batch that runs out of memory is retried in halves (torch_util.run_in_batches).

Progress and cancel: the pipeline calls back after every denoising step; each call goes through
ctx.progress, the cancel point, so a cancel raises at the next step boundary. Steps are 90 % of a
job, the VAE and vocoder decode the rest.

vary (Stable Audio Open): the input, resampled to the model's rate and channels and padded to its
window, is encoded by the VAE (the latent distribution's mean: the same for every row and every
regen), and sampling starts from it plus noise at a lower sigma than text-to-audio's: `strength`
spreads log-evenly from the scheduler's sigma_min (0) to its sigma_max (1). That is the pipeline's
own initial-audio formula (encoded audio + noise x init_noise_sigma) with a noise level to choose;
diffusers' `initial_audio_waveforms` always starts from sigma_max (500 for SAO 1.0, where the input
barely shows) and samples the encoding with the first row's generator, so rows past the first
could not be made again on their own.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ...errors import DawgenError, ErrorCode
from ..audio_in import read_section, to_model
from ..base import Audio, Output, RunContext
from . import spec
from .model import Loaded

GENERATING = 0.9


def run(m: Loaded, verb: str, ctx: RunContext) -> list[Output]:
    try:
        if verb == "vary":
            if not m.files.family.takes_audio:  # the verb is not offered; a journaled job from before lands here
                raise ValueError(f"vary: a {m.files.family.pipeline} takes no audio in (only Stable Audio Open does)")
            return _vary(m, ctx)
        return _generate(m, ctx)
    except ValueError as exc:
        raise DawgenError(ErrorCode.BAD_REQUEST, str(exc)) from None


def _generators(seed: int, n: int) -> list[Any]:
    import torch

    return [torch.Generator(device="cpu").manual_seed(seed + i) for i in range(n)]


def _call(m: Loaded, ctx: RunContext, first: int, n: int, count: int, steps: int, seconds: float,
          **kwargs: Any) -> list[np.ndarray]:
    """One pipeline call for rows first..first+n-1: (frames, channels) float32 arrays."""
    p = ctx.params
    seed = int(p["seed"]) + first
    negative = str(p.get("negative_prompt") or "") or None

    def on_step(step: int, *_: Any) -> None:
        ctx.progress(GENERATING * (first + n * min(step + 1, steps) / steps) / count, "generating")

    length = {"audio_end_in_s": seconds} if m.files.family.takes_audio else {"audio_length_in_s": seconds}
    out = m.pipe(prompt=str(p.get("prompt") or ""), negative_prompt=negative, num_inference_steps=steps,
                 num_waveforms_per_prompt=n, generator=_generators(seed, n), callback=on_step, callback_steps=1,
                 output_type="np", **length, **kwargs).audios
    ctx.progress(GENERATING + (1 - GENERATING) * (first + n) / count, "decoding")
    rows = np.asarray(out, dtype=np.float32)
    if rows.ndim == 2:  # (rows, frames): the LDMs' mono
        rows = rows[:, :, None]
    else:  # (rows, channels, frames): Stable Audio's stereo
        rows = rows.transpose(0, 2, 1)
    return [np.ascontiguousarray(r) for r in rows]


def _batches(m: Loaded, ctx: RunContext, count: int, make: Any) -> list[np.ndarray]:
    from ..torch_util import run_in_batches

    ctx.progress(0.0, "generating")
    return run_in_batches(make, count, m.device)


def _fit(x: np.ndarray, frames: int) -> np.ndarray:
    if x.shape[0] >= frames:
        return x[:frames]
    return np.pad(x, ((0, frames - x.shape[0]), (0, 0)))


def _meta(m: Loaded, sampling: spec.Sampling, seconds: float) -> dict[str, Any]:
    return {"seconds": round(seconds, 6), "steps": sampling.steps, "guidance": sampling.guidance,
            "pipeline": m.files.family.pipeline}


def _generate(m: Loaded, ctx: RunContext) -> list[Output]:
    p = ctx.params
    sampling = spec.sampling(m.files, p)
    seconds = spec.seconds(m.files, p)
    seed, count = int(p["seed"]), int(p.get("count", 1))
    frames = int(round(seconds * m.files.sample_rate))

    def make(first: int, n: int) -> list[np.ndarray]:
        return _call(m, ctx, first, n, count, sampling.steps, seconds, guidance_scale=sampling.guidance)

    rows = _batches(m, ctx, count, make)
    meta = _meta(m, sampling, seconds)
    return [Audio(_fit(r, frames), m.files.sample_rate, seed=seed + i, meta=dict(meta)) for i, r in enumerate(rows)]


def _vary(m: Loaded, ctx: RunContext) -> list[Output]:
    import torch

    p = ctx.params
    sampling = spec.sampling(m.files, p)
    seed, count, strength = int(p["seed"]), int(p.get("count", 1)), float(p.get("strength", 0.5))
    clip, rate = read_section(spec.input_path(p), None, None)
    seconds = spec.seconds(m.files, p, default=min(clip.shape[0] / rate, m.files.window_seconds))
    sr, channels = m.files.sample_rate, int(m.pipe.vae.config.audio_channels)
    frames = int(round(seconds * sr))
    x = _fit(to_model(clip, rate, sr, channels), frames)
    meta = {**_meta(m, sampling, seconds), "strength": strength, "post": "none"}
    if strength == 0.0:  # no noise: nothing to vary, the input is the answer (at the model's rate)
        ctx.progress(1.0, "generating")
        return [Audio(x.copy(), sr, seed=seed + i, meta=dict(meta)) for i in range(count)]
    pipe = m.pipe
    window = int(pipe.transformer.config.sample_size) * int(pipe.vae.hop_length)
    audio = torch.from_numpy(_fit(x, window).T.copy())[None].to(m.device, m.dtype)
    with torch.no_grad():
        encoded = pipe.vae.encode(audio).latent_dist.mean  # (1, latent channels, window latents)
    original = pipe.scheduler
    config = dict(original.config)
    if "sigma_max" not in config or "sigma_min" not in config:
        raise ValueError(f"vary: this model's scheduler ({type(original).__name__}) has no sigma range to start from")
    sigma = float(config["sigma_min"]) * (float(config["sigma_max"]) / float(config["sigma_min"])) ** strength
    scheduler = type(original).from_config(config, sigma_max=sigma)
    start = scheduler.init_noise_sigma

    def make(first: int, n: int) -> list[np.ndarray]:
        noise = torch.stack([torch.randn(encoded.shape[1:], generator=g) for g in _generators(seed + first, n)])
        latents = (noise.to(m.device, encoded.dtype) + encoded / start)  # the pipeline multiplies by start
        return _call(m, ctx, first, n, count, sampling.steps, seconds, guidance_scale=sampling.guidance,
                     latents=latents)

    pipe.scheduler = scheduler
    try:
        rows = _batches(m, ctx, count, make)
    finally:
        pipe.scheduler = original
    return [Audio(_headroom(_fit(r, frames)), sr, seed=seed + i, meta=dict(meta)) for i, r in enumerate(rows)]


def _headroom(samples: np.ndarray) -> np.ndarray:
    """Unprocessed output (post = none) is written as it is: scaled under full scale if it is over."""
    peak = float(np.max(np.abs(samples))) if samples.size else 0.0
    return samples * (0.99 / peak) if peak > 0.99 else samples
