"""The first call through each harmony model is slow: one short pass at load time."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from . import sample as HS
from .chords import Chord


def warm_up(models: Mapping[str, Any], gen: torch.Generator) -> None:
    mask = HS.chord_mask(range(12), False, 1.0)
    HS.sample_chords(models["chords"], 4, 4, [True] * 4, False, 1.0, gen, mask)
    tokens = [Chord(0, 0).token] * 8
    HS.sample_line(models["bass"], tokens, 16, False, 1.0, gen)
    HS.sample_line(models["improv"], tokens, 16, False, 1.0, gen)
    HS.sample_voices(models["voicing"], [72, 72], tokens[:2], 4, 1.0, gen)
