"""One training loss and the demo renders, following stable-audio-tools 0.0.20's training wrappers.

The loss is what DiffusionUncondTrainingWrapper / DiffusionCondTrainingWrapper.training_step
compute, without Lightning: audio -> the pretransform's latents (frozen, no grad) -> a timestep t
from a scrambled Sobol sequence (shifted by the model's distribution shift where it has one) ->
noised = x*alpha + noise*sigma with the objective's schedule -> MSE between the network's output
and the objective's target:
- "v" (Dance Diffusion, SAO 1.0): alpha, sigma = cos, sin of t*pi/2; target noise*alpha - x*sigma
- "rectified_flow" / "rf_denoiser" (SAO Small and other flow models): alpha, sigma = 1-t, t;
  target noise - x.
Conditioned models see their conditioner's output computed under no_grad (else the second
backward fails: field notes) and the library's classifier-free-guidance dropout (10 %), so the
fine-tune still answers cfg_scale.
"""
from __future__ import annotations

import contextlib
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

Trainee = Any  # models.Trainee (not imported: models imports this module)


CFG_DROPOUT = 0.1  # DiffusionCondTrainingWrapper's default cfg_dropout_prob


def conditioning_rows(wrapper: Any, prompts: Sequence[str], seconds: float) -> list[dict[str, Any]]:
    """One metadata row per clip, keyed by the model's conditioner ids (as the backend's run.py)."""
    rows = []
    for prompt in prompts:
        row: dict[str, Any] = {}
        for key in wrapper.conditioner.conditioners:
            row[key] = {"seconds_start": 0.0, "seconds_total": float(seconds)}.get(key, str(prompt))
        rows.append(row)
    return rows


def to_tensor(trainee: Trainee, batch: np.ndarray) -> Any:
    """(batch, channels, frames) float audio -> a tensor of the model's channels, its length cut to
    what the network accepts (a multiple of its stride product times the pretransform's hop)."""
    import torch

    x = torch.as_tensor(np.ascontiguousarray(batch), dtype=torch.float32)
    if x.ndim != 3:
        raise ValueError(f"a batch is (batch, channels, frames), got shape {tuple(x.shape)}")
    channels = trainee.files.channels
    if x.shape[1] != channels:  # mono data for a stereo model and the reverse
        x = x.mean(dim=1, keepdim=True).repeat(1, channels, 1)
    unit = frames_multiple(trainee)
    usable = max(unit, (x.shape[2] // unit) * unit)
    if x.shape[2] < usable:
        x = torch.nn.functional.pad(x, (0, usable - x.shape[2]))
    return x[:, :, :usable].to(trainee.device)


def frames_multiple(trainee: Trainee) -> int:
    from ..backends.stable_audio.model import latent_multiple

    pre = trainee.wrapper.pretransform
    hop = int(pre.downsampling_ratio) if pre is not None else 1
    return hop * latent_multiple(trainee.files.config, trainee.wrapper, hop)


def loss(trainee: Trainee, audio: Any, prompts: Sequence[str], sobol: Any, autocast: Any) -> Any:
    """The objective's MSE on one micro-batch (a scalar tensor with a graph to the trained weights)."""
    import torch
    import torch.nn.functional as F
    from stable_audio_tools.inference.sampling import get_alphas_sigmas

    wrapper, device = trainee.wrapper, trainee.device
    with torch.no_grad():
        x = audio
        if wrapper.pretransform is not None:
            with autocast:
                x = wrapper.pretransform.encode(audio).float()
        cond = None
        if trainee.conditional:
            seconds = audio.shape[2] / trainee.files.sample_rate
            cond = wrapper.conditioner(conditioning_rows(wrapper, prompts, seconds), device)
    t = sobol.draw(x.shape[0])[:, 0].to(device)
    shift = getattr(wrapper, "dist_shift", None)
    if shift is not None:
        t = shift.shift(t, x.shape[2])
    if trainee.files.objective == "v":
        alphas, sigmas = get_alphas_sigmas(t)
    else:
        alphas, sigmas = 1 - t, t
    alphas, sigmas = alphas[:, None, None], sigmas[:, None, None]
    noise = torch.randn_like(x)
    noised = x * alphas + noise * sigmas
    target = noise * alphas - x * sigmas if trainee.files.objective == "v" else noise - x
    with autocast:
        if cond is not None:
            output = wrapper(noised, t, cond=cond, cfg_dropout_prob=CFG_DROPOUT)
        else:
            output = wrapper(noised, t)
    return F.mse_loss(output.float(), target.float())


def render(trainee: Trainee, seeds: Sequence[int], seconds: float, prompts: Sequence[str] | None = None,
           steps: int | None = None) -> list[np.ndarray]:
    """Demo audio from the weights a checkpoint exports now: (frames, channels) float32 per seed,
    sampled as the backend samples (its sampler defaults for the family, one seed per row), with the
    training random state left untouched."""
    import torch

    from ..backends.stable_audio.model import Loaded, Request, sample

    files = trainee.files
    frames = int(round(seconds * files.sample_rate))
    rows = list(prompts or [""]) * len(seeds)
    devices = [torch.device(trainee.device).index or 0] if trainee.device.startswith("cuda") else []
    with torch.random.fork_rng(devices=devices), ema_weights(trainee) as wrapper:
        loaded = Loaded(files, wrapper, trainee.device, torch.float32)
        unit = loaded.multiple
        latent = max(1, math.ceil(frames / (loaded.hop * unit))) * unit
        family = files.family
        conditioning = conditioning_rows(wrapper, rows[:len(seeds)], seconds) if files.conditional else None
        request = Request(list(seeds), latent, int(steps or family.steps), family.sampler, family.cfg_scale,
                          conditioning=conditioning)
        audio = sample(loaded, request, lambda _i: None)
    return [audio[i, :, :frames].cpu().numpy().T.astype(np.float32) for i in range(len(seeds))]


def autocast_for(device: str, precision: str) -> tuple[Any, Any]:
    """(autocast context, GradScaler or None) for a resolved precision: "fp32", "bf16" or "fp16"."""
    import torch

    kind = device.split(":")[0]
    if precision == "fp32":
        return contextlib.nullcontext(), None
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    scaler = torch.amp.GradScaler(kind) if precision == "fp16" else None
    return torch.autocast(device_type=kind, dtype=dtype), scaler


def resolve_precision(device: str, precision: str) -> str:
    """`auto`: bf16 mixed on CUDA (fp16 with loss scaling where the card has no bf16), fp32 on CPU
    and MPS. fp16 needs CUDA (loss scaling is a CUDA path)."""
    import torch

    if precision == "auto":
        if device.startswith("cuda"):
            return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        return "fp32"
    if precision == "fp16" and not device.startswith("cuda"):
        raise ValueError("precision: fp16 needs a CUDA device (use bf16 or fp32 here)")
    return precision


@contextlib.contextmanager
def ema_weights(trainee: Trainee) -> Any:
    """The wrapper running the weights a checkpoint exports (EMA for full kinds), in eval mode."""
    wrapper, online = trainee.wrapper, trainee.net
    if trainee.ema is not None:
        wrapper.model = trainee.ema.ema_model
    wrapper.model.eval()
    try:
        yield wrapper
    finally:
        wrapper.model = online
        online.train()
