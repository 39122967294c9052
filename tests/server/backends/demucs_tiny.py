"""Tiny HTDemucs models with random weights, saved in demucs' own repo format as users' files are.

Each model is a `<signature>-<sha256 prefix>.th` written by demucs' `save_with_checksum` (class,
constructor arguments, half-precision weights, as demucs' `serialize_model` stores them) and named
by a bag `<name>.yaml` (`models: [signature]`), like htdemucs.yaml and its 955717e8-8726e21a.th.
About 314k parameters with 2 s segments: 10 s of stereo separate in about a second on 2 CPU cores.
Used by the tests and by bench/demucs.py (which also builds the default-size HTDemucs).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

SOURCES4 = ["drums", "bass", "other", "vocals"]
SOURCES6 = ["drums", "bass", "other", "vocals", "guitar", "piano"]
TINY = dict(channels=8, t_layers=1, t_heads=2, t_hidden_scale=1.0, segment=2)


def build(sources: list[str], seed: int = 0, **overrides: Any) -> Any:
    """An HTDemucs from its constructor (random weights); TINY unless `overrides` say otherwise."""
    import torch
    from demucs.htdemucs import HTDemucs

    torch.manual_seed(seed)
    return HTDemucs(list(sources), **{**TINY, **overrides}).eval()


def save(model: Any, folder: Path, signature: str) -> Path:
    """Write `model` as demucs' training code exports one; returns the .th path."""
    from demucs.states import get_state, save_with_checksum

    args, kwargs = model._init_args_kwargs  # recorded by demucs' @capture_init
    package = {"klass": type(model), "args": args, "kwargs": kwargs,
               "state": get_state(model, None, half=True), "training_args": {}}
    folder.mkdir(parents=True, exist_ok=True)
    save_with_checksum(package, folder / f"{signature}.th")
    return next(folder.glob(f"{signature}-*.th"))


def save_safetensors(model: Any, folder: Path, signature: str) -> Path:
    """Write `model` as demucs 4.1's Hugging Face repositories hold it: `<signature>.safetensors`
    with the class and constructor arguments as json metadata (read by demucs.hf)."""
    import json

    from safetensors.torch import save_file

    args, kwargs = model._init_args_kwargs
    klass = type(model)
    metadata = {"klass": f"{klass.__module__}.{klass.__name__}", "args": json.dumps(list(args)),
                "kwargs": json.dumps(kwargs)}
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{signature}.safetensors"
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(path), metadata=metadata)
    return path


def write_bag(folder: Path, name: str, signatures: list[str], weights: list[list[float]] | None = None) -> Path:
    lines = [f"models: [{', '.join(repr(s) for s in signatures)}]"]
    if weights is not None:
        lines.append(f"weights: {weights!r}")
    path = folder / f"{name}.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def make_repo(folder: Path) -> Path:
    """`tiny` (4 stems), `tiny_6s` (6 stems) and `tiny_bag` (two 4-stem members with weights)."""
    save(build(SOURCES4, seed=1), folder, "a1b2c3d4")
    save(build(SOURCES6, seed=2), folder, "e5f6a7b8")
    save(build(SOURCES4, seed=3, segment=3), folder, "c9d0e1f2")
    write_bag(folder, "tiny", ["a1b2c3d4"])
    write_bag(folder, "tiny_6s", ["e5f6a7b8"])
    write_bag(folder, "tiny_bag", ["a1b2c3d4", "c9d0e1f2"], [[1.0, 0.5, 1.0, 2.0], [1.0, 1.0, 0.25, 1.0]])
    return folder


def music(seconds: float, rate: int = 44100, channels: int = 2, seed: int = 0) -> np.ndarray:
    """Band-limited test audio (frames, channels): tones, a bass line and noise hits, peak ~0.5."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    x = 0.2 * np.sin(2 * np.pi * 110 * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 0.5 * t))
    x += 0.1 * np.sin(2 * np.pi * 440 * t + 3 * np.sin(2 * np.pi * 5 * t))
    hits = np.zeros_like(t)
    hits[:: rate // 2] = 1.0
    x += 0.2 * np.convolve(hits, rng.standard_normal(2000) * np.exp(-np.arange(2000) / 300), "same")
    out = np.stack([x * (1 + 0.1 * c) for c in range(channels)], axis=1)
    return (out / np.abs(out).max() * 0.5).astype(np.float32)
