"""Sample-rate conversion with soxr (the SoX resampler library) at its very-high-quality setting.

A model that renders at 44.1 or 32 kHz must land in the project's rate without audible
aliasing or a level change. soxr's VHQ filter keeps the passband flat to well within 0.01 dB and
attenuates everything over the new Nyquist by far more than 100 dB, at a cost of milliseconds per
second of audio. The output length is exact, so a grid-fitted loop stays on the grid.
"""
from __future__ import annotations

import numpy as np

from . import _parallel
from ._frames import as_frames, check_rate

__all__ = ["resample"]

_QUALITY = "VHQ"


def resample(samples: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """float32 (frames, channels) at `to_rate`, exactly round(frames * to_rate / from_rate) frames.

    Same rate returns a float32 copy. soxr aligns its output with the input (its filter delay is
    compensated) and its length can differ from the exact ratio by a frame, so the end is trimmed
    or padded with zeros to the exact count.
    """
    x = as_frames(samples)
    src, dst = check_rate(from_rate, "from_rate"), check_rate(to_rate, "to_rate")
    want = int(round(x.shape[0] * dst / src))
    if src == dst:
        return x.copy()
    out = _converted(x, src, dst)
    if out.shape[0] > want:
        out = out[:want]
    elif out.shape[0] < want:
        out = np.pad(out, ((0, want - out.shape[0]), (0, 0)))
    return np.ascontiguousarray(out)


def _converted(x: np.ndarray, src: int, dst: int) -> np.ndarray:
    """soxr's conversion of every channel; each channel in a thread of its own where
    post/_parallel.py has cores to spare (soxr filters channels independently: the samples are the
    same, tested). 2.5 s of stereo 44.1 -> 48 kHz measured 2.7 ms at once, 1.8 ms side by side,
    the transposes included."""
    import soxr  # native module; only loaded when a conversion is needed

    # float32 in and out: soxr runs its VHQ filter in double precision whatever the I/O type, so a
    # float64 copy of the input gave the same samples (tested) for a third more time.
    if _parallel.side_by_side(x.shape[1], x.shape[0]):
        rows = _parallel.map_rows(lambda row: soxr.resample(row, src, dst, quality=_QUALITY),
                                  list(np.ascontiguousarray(x.T)), x.shape[0])
        return np.stack(rows, axis=1)
    return soxr.resample(np.ascontiguousarray(x), src, dst, quality=_QUALITY).reshape(-1, x.shape[1])
