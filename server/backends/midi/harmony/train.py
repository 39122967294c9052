"""`dawgen train-midi harmony`: the four harmony models from the Bach chorales (or `--data`, a
folder of your MIDI files), written into a midi weights folder beside the other models.

Fixed seed, one torch thread, a fixed number of steps per model: the same data and seed give the
same weights. Held-out figures (NLL per predicted symbol, and beside it a model trained on nothing:
the uniform NLL) go into midi.json.
"""
from __future__ import annotations

import math
import os
import random
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from . import data as HD
from . import steps as HS

Log = Callable[[str], None]
STEPS = {"chords": 1000, "bass": 500, "improv": 500, "voicing": 600}  # optimiser steps of the recipe
BATCH = 32
SOURCE = ("music21 corpus: J. S. Bach's four-part chorales (music21.corpus.chorales.Iterator, BSD-3); "
          "chords from chordify + roman-numeral analysis; tonic moved to C")


def pieces(data: str | None, workers: int, log: Log) -> tuple[list[HD.Piece], list[HD.Piece], dict]:
    """(training, held out, data record) from the chorales or a MIDI folder."""
    if data:
        from ..data import midi_folder_clips

        found = [HD.clip_piece(clip, os.path.basename(path)) for path, clip in midi_folder_clips(data)]
        found = [p for p in found if p is not None]
        if not found:
            raise SystemExit(f"train-midi: no MIDI files with two or more voices under {data}")
        held = found[-1:] if len(found) > 1 else []
        return found[: len(found) - len(held)], held, {"source": f"MIDI files under {data}", "pieces": len(found)}
    import music21

    started = time.monotonic()
    allp = HD.load_chorales(workers, log)
    train, held = HD.split(allp)
    log(f"harmony data: {len(allp)} chorales ({time.monotonic() - started:.0f} s)")
    return train, held, {"source": SOURCE + f" (music21 {music21.__version__})", "pieces": len(allp),
                         "held_out": [p.source for p in held]}


def prepared(ps: Sequence[HD.Piece], kind: str) -> list[tuple[dict[str, np.ndarray], bool]]:
    return [(HS.arrays(p, kind), p.minor) for p in ps if p.steps >= 2 * HD.BEAT]


def held_nll(model: Any, kind: str, held: Sequence[tuple[dict[str, np.ndarray], bool]]) -> float:
    """Mean NLL per predicted symbol on whole held-out pieces (the chord model with the melody)."""
    import torch

    total, count = 0.0, 0
    with torch.inference_mode():
        for arr, minor in held:
            n = len(arr["target"])
            b = HS.batch([(arr, minor, 0)], kind) if n <= HS.WINDOW[kind] else None
            if b is None:  # longer than a window: whole piece in one batch of one
                b = _whole(arr, minor, kind)
            total += float(HS.loss(model, kind, b)) * n
            count += n
    return total / max(1, count)


def _whole(arr: dict[str, np.ndarray], minor: bool, kind: str) -> dict[str, Any]:
    saved = HS.WINDOW[kind]
    HS.WINDOW[kind] = len(arr["target"])
    try:
        return HS.batch([(arr, minor, 0)], kind)
    finally:
        HS.WINDOW[kind] = saved


def train_kind(kind: str, train: Sequence[HD.Piece], held: Sequence[HD.Piece], seed: int, steps: int,
               log: Log, model: Any = None) -> tuple[Any, dict]:
    import torch

    from .models import build

    torch.manual_seed(seed)
    model = model if model is not None else build(kind, {})
    data = prepared(train, kind)
    hdata = prepared(held, kind)
    rng = np.random.default_rng(seed)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    started = time.monotonic()
    model.train()
    losses = []
    for i in range(steps):
        loss = HS.batch_loss(model, kind, HS.sample_batch(data, kind, rng, BATCH))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        losses.append(float(loss.detach()))
        if (i + 1) % 100 == 0:
            log(f"{kind} step {i + 1}/{steps}: train loss {np.mean(losses[-100:]):.3f}")
    model.eval()
    info: dict[str, Any] = {"train_seconds": round(time.monotonic() - started, 1), "steps": steps,
                            "params": sum(p.numel() for p in model.parameters()),
                            "train_loss_last100": round(float(np.mean(losses[-100:])), 4)}
    if hdata:
        classes = model.out.out_features if hasattr(model, "out") else model.bass.out_features
        info["eval"] = {"held_out_nll": round(held_nll(model, kind, hdata), 4), "uniform_nll": round(math.log(classes), 4),
                        "pieces_held_out": len(hdata)}
    return model, info


def run(out: str | os.PathLike[str], seed: int = 0, data: str | None = None, workers: int = 2,
        steps_scale: float = 1.0, kinds: Sequence[str] = HS.KINDS, log: Log = print) -> dict:
    """Train `kinds` and write them into the weights folder `out` (other models there are kept)."""
    import torch

    from ..store import read_index, store_model, write_index

    folder = Path(out).expanduser()
    folder.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)
    random.seed(seed)
    try:
        index = read_index(folder)
    except ValueError:
        index = {"version": 1, "format": "dawgen-midi-1", "models": {}}
    train, held, record = pieces(data, workers, log)
    index.setdefault("data", {})["harmony"] = record
    index.setdefault("training", {})["harmony"] = {"seed": seed, "steps": {k: max(1, round(STEPS[k] * steps_scale)) for k in kinds},
                                                   "batch": BATCH, "threads": 1, "torch": torch.__version__}
    for kind in kinds:
        model, info = train_kind(kind, train, held, seed, max(1, round(STEPS[kind] * steps_scale)), log)
        store_model(folder, index, kind, model, info, log)
    write_index(folder, index)
    return index
