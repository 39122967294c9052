"""Sampling from the models (torch; imported from _run and the training/bench code only).

All randomness comes from one torch.Generator seeded per output, so a seed and the same parameters
give the same notes. Melodies asked for in a scale are sampled with the pitches outside it masked
out (constrained sampling), so every note is in the scale; durations are masked so the last note ends
exactly on the last bar line.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from . import vocab as V
from .models import MELODY_CLASSES


def _pick(logits: torch.Tensor, temperature: float, gen: torch.Generator) -> int:
    if temperature <= 1e-4:
        return int(torch.argmax(logits))
    probs = torch.softmax(logits / temperature, -1)
    return int(torch.multinomial(probs, 1, generator=gen))


# -- melody ------------------------------------------------------------------------------------------
def melody_prefix(notes: Sequence[tuple[int, int, int]], steps: int, minor: bool) -> list[tuple[int, int]]:
    """(start step, duration, C-relative pitch) of a clip's line → (token, start step) from step 0 to
    `steps`, rests filling the gaps, the line cut at `steps`."""
    out = [(V.BOS_MINOR if minor else V.BOS_MAJOR, 0)]
    t = 0
    for start, dur, pitch in sorted(notes):
        if start < t or start >= steps:
            continue
        if start > t:
            out += _held(-1, start - t, t)
        dur = min(dur, steps - start)
        out += _held(pitch, dur, start)
        t = start + dur
    if t < steps:
        out += _held(-1, steps - t, t)
    return out


def _held(pitch: int, dur: int, start: int) -> list[tuple[int, int]]:
    out = []
    while dur > 0:
        part = min(dur, V.MAX_DUR)
        out += [(V.pitch_token(pitch), start), (V.dur_token(part), start)]
        start += part
        dur -= part
    return out


@torch.inference_mode()
def sample_melody(model: Any, steps: int, bar: int, minor: bool, scale: Sequence[int], temperature: float,
                  gen: torch.Generator, prefix: Sequence[tuple[int, int]] | None = None,
                  start: int = 0) -> list[tuple[int, int, int]]:
    """New notes (start step, duration, C-relative pitch or -1) from `start` to `start + steps`.

    `prefix`: (token, start step) the model reads first (a clip to continue); `scale`: allowed pitch
    classes relative to the tonic (C).
    """
    prefix = list(prefix or [(V.BOS_MINOR if minor else V.BOS_MAJOR, start)])
    toks = torch.tensor([[t for t, _ in prefix]])
    pos = torch.tensor([[(s % bar) % V.MAX_POS for _, s in prefix]])
    bar_t = torch.tensor([min(bar, V.MAX_POS)])
    logits, h = model(toks, pos, bar_t)
    last = logits[0, -1]
    pitch_mask = torch.full((V.VOCAB,), float("-inf"))
    pitch_mask[V.REST] = 0.0
    allowed = set(int(pc) % 12 for pc in scale)
    for tok in range(V.PITCH0, V.DUR0):
        if V.token_pitch(tok) % 12 in allowed:
            pitch_mask[tok] = 0.0
    out: list[tuple[int, int, int]] = []
    t, end = start, start + steps
    while t < end:
        tok = _pick(last + pitch_mask, temperature, gen)
        pitch = V.token_pitch(tok)
        logits, h = model(torch.tensor([[tok]]), torch.tensor([[(t % bar) % V.MAX_POS]]), bar_t, h)
        dur_mask = torch.full((V.VOCAB,), float("-inf"))
        dur_mask[V.DUR0: V.DUR0 + min(V.MAX_DUR, end - t)] = 0.0
        dtok = _pick(logits[0, -1] + dur_mask, temperature, gen)
        dur = dtok - V.DUR0 + 1
        logits, h = model(torch.tensor([[dtok]]), torch.tensor([[(t % bar) % V.MAX_POS]]), bar_t, h)
        last = logits[0, -1]
        out.append((t, dur, pitch))
        t += dur
    return [n for n in out if n[2] >= 0]


# -- drums --------------------------------------------------------------------------------------------
@torch.inference_mode()
def sample_drums(model: Any, steps: int, temperature: float, gen: torch.Generator,
                 history: tuple[np.ndarray, np.ndarray] | None = None, onsets: np.ndarray | None = None,
                 bar_steps: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """New (hits, velocities), each (steps, lanes). `history`: steps the model reads first (a clip to
    continue); `onsets`: (steps,) 0/1, where the clip to follow has onsets (drumify)."""
    L = V.N_LANES
    prev_h, prev_v = torch.zeros(1, 1, L), torch.zeros(1, 1, L)
    h = None
    n_hist = 0
    if history is not None and len(history[0]):
        hh = torch.as_tensor(history[0], dtype=torch.float32)[None]
        hv = torch.as_tensor(history[1], dtype=torch.float32)[None]
        n_hist = hh.shape[1]
        ph = torch.cat([torch.zeros(1, 1, L), hh[:, :-1]], 1)
        pv = torch.cat([torch.zeros(1, 1, L), hv[:, :-1]], 1)
        pos = torch.tensor([[(i % bar_steps) % 16 for i in range(n_hist)]])
        _, _, h = model(ph, pv, pos, torch.zeros(1, n_hist, 2), None)
        prev_h, prev_v = hh[:, -1:], hv[:, -1:]
    hits = np.zeros((steps, L), np.float32)
    vels = np.zeros((steps, L), np.float32)
    temp = max(temperature, 1e-4)
    for i in range(steps):
        t = n_hist + i
        cond = torch.zeros(1, 1, 2)
        if onsets is not None:
            cond[0, 0, 0] = float(onsets[i])
            cond[0, 0, 1] = 1.0
        logits, vel, h = model(prev_h, prev_v, torch.tensor([[(t % bar_steps) % 16]]), cond, h)
        logits = logits[0, 0]
        if temperature <= 1e-4:
            hit = (logits > 0).float()
        else:
            p = torch.sigmoid(logits / temp)
            hit = (torch.rand(L, generator=gen) < p).float()
        v = vel[0, 0] * hit
        hits[i], vels[i] = hit.numpy(), v.numpy()
        prev_h, prev_v = hit.view(1, 1, L), v.view(1, 1, L)
    return hits, vels


# -- VAE ----------------------------------------------------------------------------------------------
def melody_grid(notes: Sequence[tuple[int, int, int]], steps: int) -> np.ndarray:
    """(start, dur, absolute pitch) → (steps,) classes: 0 hold, 1 rest, 2 + pitch - LOW."""
    grid = np.ones(steps, np.int64)
    for start, dur, pitch in sorted(notes):
        if 0 <= start < steps:
            p = pitch
            while p < V.LOW:
                p += 12
            while p > V.HIGH:
                p -= 12
            grid[start] = 2 + p - V.LOW
            grid[start + 1: min(steps, start + dur)] = 0
    return grid


def grid_notes(grid: np.ndarray) -> list[tuple[int, int, int]]:
    out: list[tuple[int, int, int]] = []
    for i, c in enumerate(grid):
        if c >= 2:
            out.append((i, 1, V.LOW + int(c) - 2))
        elif c == 0 and out and out[-1][0] + out[-1][1] == i:
            s, d, p = out[-1]
            out[-1] = (s, d + 1, p)
    return out


@torch.inference_mode()
def vae_interpolate(model: Any, a: np.ndarray, b: np.ndarray, steps: int, temperature: float,
                    gen: torch.Generator) -> list[np.ndarray]:
    """a, b: (windows, WINDOW) classes (melody) or (windows, WINDOW, lanes) hits (drums), same
    number of windows. Returns `steps` grids from a's reconstruction to b's, through the latent means
    (spherical interpolation, as MusicVAE)."""
    def onehot(x: np.ndarray) -> torch.Tensor:
        if model.categorical:
            return torch.nn.functional.one_hot(torch.as_tensor(x), MELODY_CLASSES).float()
        return torch.as_tensor(x, dtype=torch.float32)

    za, _ = model.encode(onehot(a))
    zb, _ = model.encode(onehot(b))
    out = []
    for i in range(steps):
        t = i / max(1, steps - 1)
        z = _slerp(za, zb, t)
        logits = model.decode(z)
        if model.categorical:
            if temperature <= 1e-4:
                grid = logits.argmax(-1)
            else:
                probs = torch.softmax(logits / temperature, -1)
                grid = torch.multinomial(probs.view(-1, probs.shape[-1]), 1, generator=gen).view(probs.shape[:-1])
        else:
            p = torch.sigmoid(logits / max(temperature, 1e-4)) if temperature > 1e-4 else None
            grid = (logits > 0).float() if p is None else (torch.rand(p.shape, generator=gen) < p).float()
        out.append(grid.numpy())
    return out


def _slerp(a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
    an, bn = a / a.norm(dim=-1, keepdim=True).clamp_min(1e-8), b / b.norm(dim=-1, keepdim=True).clamp_min(1e-8)
    omega = torch.acos((an * bn).sum(-1, keepdim=True).clamp(-1 + 1e-6, 1 - 1e-6))
    so = torch.sin(omega)
    lerp = (1 - t) * a + t * b
    slerp = torch.sin((1 - t) * omega) / so * a + torch.sin(t * omega) / so * b
    return torch.where(so.abs() < 1e-4, lerp, slerp)
