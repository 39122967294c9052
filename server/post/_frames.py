"""Shared input checks for the post-processing functions (grid, loop, loudness, resample).

Every step works on float32 arrays of shape (frames, channels), the layout soundfile and the
backends use. Checking once here gives every function the same clear errors instead of a numpy
broadcasting error three calls deep.
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["as_frames", "check_rate", "db", "mono"]


def as_frames(samples: np.ndarray, *, allow_empty: bool = False) -> np.ndarray:
    """float32 (frames, channels); a 1-D array is taken as mono (frames, 1).

    Raises ValueError for other shapes, NaN/inf (they would poison every later step) and, unless
    `allow_empty`, zero frames.
    """
    out = np.asarray(samples, dtype=np.float32)
    if out.ndim == 1:
        out = out[:, None]
    if out.ndim != 2 or out.shape[1] < 1:
        raise ValueError(f"audio must have shape (frames, channels), got {np.shape(samples)}")
    if out.shape[0] == 0 and not allow_empty:
        raise ValueError("audio is empty (0 frames)")
    if not np.all(np.isfinite(out)):
        raise ValueError("audio contains NaN or infinite samples")
    return out


def check_rate(sample_rate: float, name: str = "sample_rate") -> int:
    """A positive integer sample rate (a float such as 48000.0 is accepted when it is whole)."""
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name} must be a positive integer, got {sample_rate!r}")
    if not math.isfinite(float(sample_rate)) or float(sample_rate) != int(sample_rate) or int(sample_rate) <= 0:
        raise ValueError(f"{name} must be a positive integer, got {sample_rate!r}")
    return int(sample_rate)


def db(linear: float) -> float:
    """20·log10 of an amplitude; -inf for exact silence rather than a numpy warning."""
    return 20.0 * math.log10(linear) if linear > 0 else -math.inf


def mono(samples: np.ndarray) -> np.ndarray:
    """Channel mean in float64: analysis (tempo, onsets) needs one signal, not a mix for listening."""
    return samples.astype(np.float64).mean(axis=1)
