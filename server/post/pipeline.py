"""The DAW-ready chain every backend's audio goes through before it is written.

sanitize → resample (soxr) → exactly N bars at the project tempo (stretched when off tempo) and a
click-free loop seam, or a trimmed one-shot → loudness to a target under a true-peak ceiling.
Dither happens in the writer, at the bit depth of the file.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..backends.base import Audio
from ..errors import DawgenError, ErrorCode
from ..music import parse_time_signature
from .basic import sanitize

LOOP_LUFS = -14.0  # default loudness of loops; one-shots are peak-normalised to the ceiling instead
LOOP_CROSSFADE_MS = 10.0


def prepare(audio: Audio, params: Mapping[str, Any]) -> tuple[Audio, dict[str, Any]]:
    """Returns the finished audio and what was done to it (for the sidecar and the file's chunks)."""
    from .grid import fit_to_grid, grid_frames, trim_one_shot
    from .loudness import normalize
    from .resample import resample

    rate = int(params.get("sample_rate") or audio.sample_rate)
    samples = sanitize(audio.samples)
    info: dict[str, Any] = {"source_sample_rate": audio.sample_rate}
    if audio.sample_rate != rate:
        samples = resample(samples, audio.sample_rate, rate)

    meta = audio.meta
    if meta.get("post") == "none":
        # Material that must stay as it is (stems that sum to the mix, sample-aligned with the
        # input): checked and resampled only.
        info.update(grid=None, loop=False, loudness=None, skipped=True)
        return Audio(samples, rate, seed=audio.seed, meta=dict(meta)), info
    bars = params.get("bars") or meta.get("bars")
    bpm = params.get("bpm") or meta.get("bpm")
    if bars and bpm:
        signature = str(params.get("time_signature") or "4/4")
        numerator, denominator = parse_time_signature(signature)
        target = grid_frames(float(bars), float(bpm), signature, rate)
        loop = params.get("loop")
        loop = True if loop is None else bool(loop)
        samples, grid = _to_grid(samples, rate, target, float(bpm), meta, loop, fit_to_grid)
        grid.update(bpm=float(bpm), bars=float(bars), beats=float(bars) * numerator * 4 / denominator,
                    frames=target, time_signature=signature)
        info["grid"], info["loop"] = grid, loop
        target_lufs = params.get("loudness", LOOP_LUFS)
    else:
        samples = trim_one_shot(samples, rate)
        info["grid"], info["loop"] = None, False
        target_lufs = params.get("loudness")  # None: peak-normalise a one-shot to the ceiling
    samples, info["loudness"] = normalize(samples, rate, target_lufs, float(params.get("true_peak", -1.0)),
                                          periodic=bool(info["loop"]))  # a loop's limiter wraps across the seam
    return Audio(samples.astype(np.float32, copy=False), rate, seed=audio.seed, meta=dict(meta)), info


def warm() -> None:
    """The chain run once on 2 s of noise, as a loop and as a resampled one-shot, off the request
    path: its lazy imports (scipy.signal via pyloudnorm, scipy.ndimage: ~0.6 s), the compiled
    loops (post/_kernels.py) and soxr are ready before the first file is written."""
    from ._kernels import warm_up

    warm_up()
    noise = (np.random.default_rng(0).standard_normal((96000, 2)) * 0.3).astype(np.float32)
    for params in ({"sample_rate": 48000, "bpm": 120, "bars": 1}, {"sample_rate": 44100}):
        prepare(Audio(noise, 48000), params)


def _to_grid(samples: np.ndarray, rate: int, target: int, bpm: float, meta: Mapping[str, Any], loop: bool,
             fit_to_grid: Any) -> tuple[np.ndarray, dict[str, Any]]:
    from .grid import StretchUnavailable
    from .loop import make_seamless

    source_bpm = meta.get("bpm")
    if meta.get("seamless") and samples.shape[0] == target and source_bpm == bpm:
        return samples, {"stretch_ratio": None, "seam": "seamless by construction"}
    # A loop keeps the material past the grid: make_seamless crossfades it into the head.
    try:
        fitted, grid = fit_to_grid(samples, rate, target, bpm, source_bpm=source_bpm, keep_tail=loop)
    except StretchUnavailable as exc:
        raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, str(exc)) from None
    grid = dict(grid)
    if loop:
        fitted, grid["seam"] = make_seamless(fitted, target, rate, LOOP_CROSSFADE_MS)
    return fitted, grid
