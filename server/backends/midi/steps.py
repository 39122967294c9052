"""One training step's pieces, shared by `dawgen train-midi` (train.py) and the `train` job's midi
family (server/training/midi): the batch tensors and the losses of MelodyLM and DrumLM (torch is
imported inside the functions that need it).

    melody   next-token cross-entropy over windows of up to SEQ tokens (vocab.py's tokens, the
             position in the bar and the bar length beside them)
    drums    per 16th step, a Bernoulli per lane (hit) plus the velocity's squared error on hits,
             over DRUM_WINDOW-step windows; half the windows train the drumify conditioning
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from . import data as D
from . import vocab as V

SEQ = 128  # melody tokens per training window
DRUM_SEQ = 64  # drum steps per held-out section (4 bars)
DRUM_WINDOW = DRUM_SEQ // 2  # drum steps per training window (2 bars)
DRUM_STRIDE = 2  # steps between two drum windows' starts
VELOCITY_WEIGHT = 4.0  # the velocity error's weight beside the hit loss


# -- melody ----------------------------------------------------------------------------------------
def tune_arrays(tune: D.Tune) -> tuple[list[int], list[int]]:
    """A tune's tokens and the position in its bar at which each is read."""
    toks = V.encode_tune(tune.notes, tune.minor)
    return toks, V.positions(toks, tune.pickup, tune.bar)


def melody_batch(chunk: Sequence[tuple[tuple[list[int], list[int]], int]], starts: Sequence[int]) -> tuple[Any, ...]:
    """((tokens, positions), bar) per tune and where each window starts -> (tokens (B, T+1),
    positions (B, T+1), bars (B,), mask (B, T)) with T = min(SEQ, the longest tune)."""
    import torch

    T = min(SEQ, max(len(s[0][0]) for s in chunk))
    toks = torch.zeros(len(chunk), T + 1, dtype=torch.long)
    pos = torch.zeros(len(chunk), T + 1, dtype=torch.long)
    mask = torch.zeros(len(chunk), T, dtype=torch.bool)
    bars = torch.tensor([b for _, b in chunk])
    for j, (((tk, ps), _), start) in enumerate(zip(chunk, starts)):
        tk, ps = tk[start: start + T + 1], ps[start: start + T + 1]
        toks[j, : len(tk)] = torch.tensor(tk)
        pos[j, : len(ps)] = torch.tensor(ps)
        mask[j, : len(tk) - 1] = True
    return toks, pos, bars, mask


def window_start(length: int, pick: Any) -> int:
    """Where a window of a `length`-token tune starts: 0, or `pick(n)` (a draw from range(n))
    when the tune is longer than a window."""
    return pick(max(1, length - SEQ)) if length > SEQ + 1 else 0


def melody_loss(model: Any, batch: Sequence[Any]) -> Any:
    """Mean next-token cross-entropy of a melody_batch."""
    import torch

    toks, pos, bars, mask = batch
    logits, _ = model(toks[:, :-1], pos[:, :-1], bars)
    return torch.nn.functional.cross_entropy(logits[mask], toks[:, 1:][mask])


# -- drums -----------------------------------------------------------------------------------------
def drum_cond(hits: np.ndarray) -> np.ndarray:
    """The rhythm drumify follows: an onset where kick, snare, clap or a tom hits."""
    return hits[:, [V.KICK, V.SNARE, V.CLAP, 5, 6, 7]].max(1)


def drum_tensors(hits: np.ndarray, vel: np.ndarray, cond_on: bool) -> tuple[Any, ...]:
    """One window's model inputs (the step before each step, position, conditioning) and targets."""
    import torch

    h = torch.as_tensor(hits)
    v = torch.as_tensor(vel)
    prev_h = torch.cat([torch.zeros(1, h.shape[1]), h[:-1]])
    prev_v = torch.cat([torch.zeros(1, v.shape[1]), v[:-1]])
    pos = torch.arange(h.shape[0]) % 16
    cond = torch.zeros(h.shape[0], 2)
    if cond_on:
        cond[:, 0] = torch.as_tensor(drum_cond(hits))
        cond[:, 1] = 1.0
    return prev_h, prev_v, pos, cond, h, v


def drum_loss(model: Any, batch: Sequence[tuple[Any, ...]], device: Any = None) -> tuple[Any, Any]:
    """(hit loss: summed lane BCE per step, velocity squared error on hits) of drum_tensors windows."""
    import torch

    ph, pv, pos, cond, h, v = (torch.stack(x) if device is None else torch.stack(x).to(device) for x in zip(*batch))
    logits, vel, _ = model(ph, pv, pos, cond)
    bce = torch.nn.functional.binary_cross_entropy_with_logits(logits, h, reduction="none").sum(-1).mean()
    mse = ((vel - v) ** 2 * h).sum() / h.sum().clamp_min(1)
    return bce, mse


def drum_objective(bce: Any, mse: Any) -> Any:
    """What a drum step minimises."""
    return bce + VELOCITY_WEIGHT * mse


def drum_windows(songs: Sequence[D.DrumSong]) -> list[tuple[np.ndarray, np.ndarray]]:
    """(hits, vel) windows of DRUM_WINDOW steps every DRUM_STRIDE steps; whole songs when none
    is that long."""
    windows = []
    for s in songs:
        for start in range(0, max(1, len(s.hits) - DRUM_WINDOW + 1), DRUM_STRIDE):
            windows.append((s.hits[start: start + DRUM_WINDOW], s.vel[start: start + DRUM_WINDOW]))
    return [w for w in windows if len(w[0]) == DRUM_WINDOW] or [(s.hits, s.vel) for s in songs]
