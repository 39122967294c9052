"""Training the VAEs behind `midi/interpolate` (part of `dawgen train-midi`, train.py): 2-bar
16th-grid windows of the melody and drum data, a categorical (melody) or Bernoulli (drums) VAE with
free bits and a KL warm-up, evaluated by reconstruction accuracy per grid cell on held-out windows."""
from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import data as D
from . import vocab as V

Log = Callable[[str], None]


def _out_of_time(started: float, args: argparse.Namespace) -> bool:
    return bool(args.max_minutes) and time.monotonic() - started > args.max_minutes * 60


def melody_windows(tunes: Sequence[D.Tune]) -> np.ndarray:
    from .generate import melody_grid

    out = []
    for t in tunes:
        notes, s = [], t.pickup
        for pitch, dur in t.notes:
            if pitch >= 0:
                notes.append((s, dur, pitch))
            s += dur
        grid = melody_grid(notes, s)
        first = (t.bar - t.pickup) % t.bar  # windows start on bar lines
        for start in range(first, len(grid) - 32 + 1, 16):
            w = grid[start: start + 32]
            if (w >= 2).sum() >= 4:
                out.append(w)
    return np.stack(out) if out else np.zeros((0, 32), np.int64)


def drum_windows(songs: Sequence[D.DrumSong]) -> np.ndarray:
    out = [s.hits[i: i + 32] for s in songs for i in range(0, len(s.hits) - 32 + 1, 8)]
    return np.stack(out).astype(np.float32) if out else np.zeros((0, 32, V.N_LANES), np.float32)


def _transpose_grid(x: Any, shift: Any) -> Any:
    """Melody class grids shifted by semitones (octave-wrapped into LOW..HIGH)."""
    import torch

    p = x - 2 + shift[:, None]
    p = torch.where(p < 0, p + 12, p)
    p = torch.where(p >= V.N_PITCH, p - 12, p)
    return torch.where(x >= 2, p + 2, x)


def train_vae(kind: str, windows: np.ndarray, held: np.ndarray, args: argparse.Namespace, log: Log) -> tuple[Any, dict]:
    import torch
    import torch.nn.functional as F

    from .models import MELODY_CLASSES, GridVAE, count_params

    categorical = kind == "vae_melody"
    model = GridVAE(MELODY_CLASSES if categorical else V.N_LANES, categorical)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    gen = torch.Generator().manual_seed(args.seed)
    data = torch.as_tensor(windows)
    started = time.monotonic()
    epochs = args.epochs * (1 if categorical else 15)
    steps_total = epochs * max(1, math.ceil(len(data) / 128))
    step = 0

    def prep(x: Any, augment: bool) -> Any:
        if not categorical:
            return x, x
        if augment:
            x = _transpose_grid(x, torch.randint(-5, 7, (x.shape[0],), generator=gen))
        return F.one_hot(x, MELODY_CLASSES).float(), x

    def recon(x: Any, target: Any, logits: Any) -> Any:
        if categorical:
            return F.cross_entropy(logits.transpose(1, 2), target, reduction="none").sum(1)
        return F.binary_cross_entropy_with_logits(logits, target, reduction="none").sum((1, 2))

    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(data), generator=gen)
        losses = []
        for i in range(0, len(data), 128):
            x, target = prep(data[order[i: i + 128]], True)
            logits, mu, logvar = model(x)
            kl = 0.5 * (mu ** 2 + logvar.exp() - 1 - logvar)  # (B, latent)
            kl = torch.clamp(kl, min=0.05).sum(1)  # free bits
            beta = 0.2 * min(1.0, step / max(1, steps_total * 0.5))
            loss = (recon(x, target, logits) + beta * kl).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
            losses.append(float(loss.detach()))
        if (epoch + 1) % max(1, epochs // 5) == 0:
            log(f"{kind} epoch {epoch + 1}/{epochs}: loss {np.mean(losses):.2f}")
        if _out_of_time(started, args):
            log(f"{kind}: --max-minutes reached")
            break
    seconds = time.monotonic() - started
    model.eval()
    with torch.inference_mode():
        x, target = prep(torch.as_tensor(held), False)
        logits, _, _ = model(x)
        if categorical:
            acc = float((logits.argmax(-1) == target).float().mean()) if len(held) else float("nan")
        else:
            acc = float(((logits > 0).float() == target).float().mean()) if len(held) else float("nan")
    return model, {"train_seconds": round(seconds, 1), "params": count_params(model), "windows": len(windows),
                   "eval": {"held_out_windows": len(held), "reconstruction_accuracy_per_cell": round(acc, 4)}}
