"""One training step's pieces for the harmony models, shared by the recipe (train.py) and the
`train` job's midi kinds: per-piece arrays, batches of windows, losses (torch inside functions).

    chords    next-chord cross-entropy per beat; most windows see the melody (harmonising)
    bass      next-token cross-entropy per 16th of the bass voice, given the chord sounding
    improv    the same for the top voice (the melody over the chords)
    voicing   per beat, cross-entropy of bass, tenor and alto given the soprano and the chord
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from . import vocab as HV
from .data import BEAT, Piece

KINDS = ("chords", "bass", "improv", "voicing")
MELODY_ON = 0.7  # share of the chord model's training windows that see the melody (harmonising)
WINDOW = {"chords": 64, "bass": 128, "improv": 128, "voicing": 64}  # time steps per training window


def arrays(piece: Piece, kind: str) -> dict[str, np.ndarray]:
    """The time-major arrays a kind trains on (beats for chords/voicing, 16ths for the lines)."""
    beats = piece.steps // BEAT
    chords = piece.chords.astype(np.int64)[:beats]
    if kind == "chords":
        return {"prev": np.concatenate([[0], chords[:-1]]), "target": chords,
                "pos": np.arange(beats) % max(1, piece.bar // BEAT),
                "mel": HV.melody_features(piece.voices[0], beats, BEAT)}
    if kind in ("bass", "improv"):
        voice = 3 if kind == "bass" else 0
        toks = HV.line_tokens(piece.voices[voice], piece.onsets[voice], kind)
        t = np.arange(piece.steps)
        per_step = chords[np.minimum(t // BEAT, beats - 1)]
        change = (t == 0) | ((t % BEAT == 0) & (per_step != np.concatenate([[-1], per_step[:-1]])))
        return {"prev": np.concatenate([[1], toks[:-1]]), "target": toks, "chord": per_step,
                "change": change.astype(np.int64), "pos": t % piece.bar}
    if kind == "voicing":
        at = piece.voices[:, ::BEAT][:, :beats]
        toks = np.vectorize(HV.voice_token, otypes=[np.int64])(at) if at.size else np.zeros((4, 0), np.int64)
        atb = toks[1:].T  # (beats, 3): alto, tenor, bass
        return {"soprano": toks[0], "chord": chords, "pos": np.arange(beats) % max(1, piece.bar // BEAT),
                "prev": np.concatenate([np.zeros((1, 3), np.int64), atb[:-1]]), "target": atb}
    raise ValueError(f"unknown harmony kind {kind!r}")


def batch(items: Sequence[tuple[dict[str, np.ndarray], bool, int]], kind: str) -> dict[str, Any]:
    """(arrays, minor, window start) per sequence → padded tensors + `mask` (B, T) + `mode` (B,)."""
    import torch

    W = WINDOW[kind]
    T = min(W, max(len(a["target"]) - s for a, _, s in items))
    out: dict[str, Any] = {}
    for name in items[0][0]:
        first = items[0][0][name]
        shape = (len(items), T) + first.shape[1:]
        buf = np.zeros(shape, np.float32 if first.dtype.kind == "f" else np.int64)
        for j, (a, _, s) in enumerate(items):
            seg = a[name][s: s + T]
            buf[j, : len(seg)] = seg
        out[name] = torch.from_numpy(buf)
    mask = np.zeros((len(items), T), bool)
    for j, (a, _, s) in enumerate(items):
        mask[j, : max(0, min(T, len(a["target"]) - s))] = True
    out["mask"] = torch.from_numpy(mask)
    out["mode"] = torch.tensor([int(m) for _, m, _ in items])
    return out


def window_start(length: int, kind: str, pick: Any) -> int:
    return pick(length - WINDOW[kind] + 1) if length > WINDOW[kind] else 0


def loss(model: Any, kind: str, b: dict[str, Any], melody_on: Any = None) -> Any:
    """Mean cross-entropy of a batch (`melody_on`: (B,) 0/1 for the chord model, default all on)."""
    import torch
    from torch.nn.functional import cross_entropy

    mask = b["mask"]
    if kind == "chords":
        on = melody_on if melody_on is not None else torch.ones(mask.shape[0])
        logits, _ = model(b["prev"], b["pos"], b["mode"], model.melody(b["mel"], on))
        return cross_entropy(logits[mask], b["target"][mask])
    if kind in ("bass", "improv"):
        logits, _ = model(b["prev"], b["chord"], b["change"], b["pos"], b["mode"])
        return cross_entropy(logits[mask], b["target"][mask])
    y, _ = model.state(b["soprano"], b["chord"], b["pos"], b["prev"])
    tgt = b["target"]
    heads = model.heads(y, tgt[..., 2], tgt[..., 1])
    return sum(cross_entropy(h[mask], tgt[..., 2 - i][mask]) for i, h in enumerate(heads)) / 3


def sample_batch(data: Sequence[tuple[dict[str, np.ndarray], bool]], kind: str, rng: Any, size: int) -> dict[str, Any]:
    """A random batch of windows (rng: numpy Generator or random.Random)."""
    pick = rng.integers if hasattr(rng, "integers") else rng.randrange
    idx = [int(pick(len(data))) for _ in range(size)]
    items = [(data[i][0], data[i][1], window_start(len(data[i][0]["target"]), kind, lambda n: int(pick(n))))
             for i in idx]
    out = batch(items, kind)
    if kind == "chords":  # most windows harmonise a melody, the others write a free progression
        import torch

        out["melody_on"] = torch.from_numpy((torch_rand(rng, size) < MELODY_ON).astype(np.float32))
    return out


def torch_rand(rng: Any, n: int) -> np.ndarray:
    return rng.random(n) if hasattr(rng, "integers") else np.array([rng.random() for _ in range(n)])


def batch_loss(model: Any, kind: str, b: dict[str, Any]) -> Any:
    return loss(model, kind, b, b.get("melody_on"))
