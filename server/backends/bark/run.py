"""`generate` on a loaded Bark: the words pass by pass, joined into one take per seed.

Each take (`count` of them, file i with seed + i) is made alone from its own seed, so `dawgen regen`
of file i (count 1, seed + i) makes it again. Passes of a take are joined with a short linear
crossfade: Bark's passes start and end wherever their waveform is, and butting them together would
click. Without a voice preset the first pass's speaker (picked by the seed) is the preset of the
passes after it, so a long line keeps one voice.

Progress: every pass of every take is an equal share, split between its stages (model.SHARES);
every semantic and coarse token and fine step goes through ctx.progress, the job's cancel point.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ...errors import DawgenError, ErrorCode
from ..base import Audio, Output, RunContext
from . import spec
from .files import BarkFiles, load_voice
from .model import SHARES, BarkRunner

CROSSFADE_S = 0.02


def run(runner: BarkRunner, files: BarkFiles, ctx: RunContext, default_voice: str = "") -> list[Output]:
    p = ctx.params
    try:
        passes = spec.split_passes(spec.words(p))
    except ValueError as exc:  # checked at submit; a journaled job re-run after an upgrade lands here
        raise DawgenError(ErrorCode.BAD_REQUEST, str(exc)) from None
    voice_name = str(p.get("voice") or default_voice or "")
    voice = load_voice(files, voice_name) if voice_name else None
    seed, count = int(p["seed"]), int(p.get("count", 1))
    temps = float(p.get("text_temperature", 0.7)), float(p.get("waveform_temperature", 0.7))
    fade = int(round(CROSSFADE_S * runner.sample_rate))
    meta: dict[str, Any] = {"voice": voice_name, "passes": len(passes), "texts": passes,
                            "model_sample_rate": runner.sample_rate}
    outputs: list[Output] = []
    for row in range(count):
        runner.seed(seed + row)
        history, pieces = voice, []
        for k, text in enumerate(passes):
            made = runner.one_pass(text, history, *temps, _stages(ctx, row * len(passes) + k, count * len(passes)))
            if history is None:
                history = made.history  # the speaker the seed picked, for the passes after this one
            pieces.append(made.audio)
        samples = join(pieces, fade)
        outputs.append(Audio(samples[:, None], runner.sample_rate, seed=seed + row,
                             meta={**meta, "seconds": round(samples.shape[0] / runner.sample_rate, 4)}))
    return outputs


def _stages(ctx: RunContext, index: int, total: int) -> Any:
    """Stage progress of pass `index` of `total` → the job's progress (a cancel point)."""
    starts, at = {}, 0.0
    for stage, share in SHARES.items():
        starts[stage] = at
        at += share

    def progress(stage: str, fraction: float) -> None:
        within = starts[stage] + SHARES[stage] * min(1.0, max(0.0, fraction))
        ctx.progress((index + within) / total, stage)
    return progress


def join(pieces: list[np.ndarray], fade: int) -> np.ndarray:
    """Mono pieces one after another, each join a linear crossfade of `fade` samples (shorter where
    a piece is): the output moves from one piece to the next without a step."""
    out = np.asarray(pieces[0], dtype=np.float32)
    for piece in pieces[1:]:
        piece = np.asarray(piece, dtype=np.float32)
        n = min(fade, out.shape[0], piece.shape[0])
        if n == 0:
            out = np.concatenate([out, piece])
            continue
        ramp = np.linspace(0.0, 1.0, n + 2, dtype=np.float32)[1:-1]  # neither end is all one piece
        mixed = out[-n:] * (1.0 - ramp) + piece[:n] * ramp
        out = np.concatenate([out[:-n], mixed, piece[n:]])
    return out
