"""A loaded audiocraft model and the sampling that makes `count` rows reproducible one by one.

audiocraft samples every token with torch's global generator, so row 2 of a `count=4` batch could
not be made again alone. `row_seeds` swaps audiocraft's one sampling function
(`audiocraft.utils.utils.multinomial`, which its top-k, top-p and MAGNeT sampling all call) for one
that draws each batch row from its own generator seeded `seed + row`; `dawgen regen` (count 1
with a file's seed) then makes the same row. Imported only from the backend's `_load`/`_run`.
"""
from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import torch

from .files import Checkpoint

_sampling_lock = threading.Lock()
_stems_lock = threading.Lock()


def load(checkpoint: Checkpoint, device: str, stem_model: Any = None) -> Any:
    """audiocraft's MusicGen / AudioGen / MAGNeT from the checkpoint's folder, in eval mode. A melody
    model's chroma_stem conditioner gets `stem_model` (a demucs htdemucs loaded from a local folder)."""
    from audiocraft.models import AudioGen, MAGNeT, MusicGen

    from .imports import use_sdpa_attention

    if not device.startswith("cuda"):
        use_sdpa_attention()
    kind = MAGNeT if checkpoint.magnet else AudioGen if checkpoint.family == "audiogen" else MusicGen
    with stems_from(stem_model):
        return kind.get_pretrained(str(checkpoint.folder), device=device)


@contextlib.contextmanager
def stems_from(stem_model: Any) -> Iterator[None]:
    """While open, `demucs.pretrained.get_model` (which audiocraft's ChromaStemConditioner calls with
    "htdemucs", a download) returns `stem_model`; any other name is refused, nothing is downloaded."""
    if stem_model is None:
        yield
        return
    from demucs import pretrained

    def get_model(name: str, repo: Any = None) -> Any:
        if name != "htdemucs":
            raise RuntimeError(f"audiocraft asked demucs for {name!r}; only htdemucs (demucs_path) is loaded")
        return stem_model

    with _stems_lock:
        original = pretrained.get_model
        pretrained.get_model = get_model
        try:
            yield
        finally:
            pretrained.get_model = original


def _generators(seed: int, count: int, device: Any) -> list[torch.Generator]:
    where = torch.device(device)
    if where.type == "mps":
        where = torch.device("cpu")
    return [torch.Generator(device=where).manual_seed(seed + i) for i in range(count)]


@contextlib.contextmanager
def row_seeds(seed: int, count: int, device: str) -> Iterator[None]:
    """While open, audiocraft samples batch row i with its own generator seeded seed + i."""
    from audiocraft.utils import utils

    gens = _generators(seed, count, device)
    original = utils.multinomial

    def multinomial(input: torch.Tensor, num_samples: int, replacement: bool = False, *,
                    generator: Any = None) -> torch.Tensor:
        flat = input.reshape(-1, input.shape[-1])
        if flat.shape[0] % count:
            return original(input, num_samples, replacement, generator=generator)
        rows = []
        for block, gen in zip(flat.chunk(count), gens, strict=True):
            where = block if gen.device == block.device else block.cpu()
            rows.append(torch.multinomial(where, num_samples, replacement, generator=gen).to(block.device))
        return torch.cat(rows).reshape(*input.shape[:-1], -1)

    with _sampling_lock:
        torch.manual_seed(seed)  # anything else random (none at inference today) follows the seed too
        utils.multinomial = multinomial
        try:
            yield
        finally:
            utils.multinomial = original


def to_rows(wav: torch.Tensor) -> list[Any]:
    """audiocraft's (batch, channels, samples) → numpy (samples, channels) per row."""
    return [row.detach().float().cpu().numpy().T.copy() for row in wav]
