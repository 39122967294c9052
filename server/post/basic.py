"""Sanity checks and dither (sample-rate conversion is post/resample.py)."""
from __future__ import annotations

import numpy as np

from ..errors import DawgenError, ErrorCode

# Only 16-bit gets dither: float32 audio already sits at 24-bit resolution, and a 24-bit LSB
# (-144 dBFS) is below every converter's noise floor, so dithering it costs time for nothing.
_BITS = {"16": 16}


def sanitize(samples: np.ndarray) -> np.ndarray:
    """float32 (frames, channels); a backend that produced NaN/inf failed, it is not written."""
    out = np.asarray(samples, dtype=np.float32)
    if out.ndim == 1:
        out = out[:, None]
    if out.size == 0:
        raise DawgenError(ErrorCode.BACKEND_FAILED, "backend produced empty audio")
    if not np.all(np.isfinite(out)):
        raise DawgenError(ErrorCode.BACKEND_FAILED, "backend produced NaN or infinite samples")
    return out


def dither_tpdf(samples: np.ndarray, bit_depth: str, seed: int = 0) -> np.ndarray:
    """Add triangular (TPDF) dither of one LSB before reducing to integer PCM.

    Seeded so the same job gives the same file bytes (regen reproducibility); 32f needs none.
    """
    bits = _BITS.get(bit_depth)
    if bits is None:
        return samples
    lsb = 1.0 / (2 ** (bits - 1))
    rng = np.random.default_rng(seed)
    noise = (rng.random(samples.shape, dtype=np.float32) - rng.random(samples.shape, dtype=np.float32)) * lsb
    return np.clip(samples + noise, -1.0, 1.0 - lsb).astype(np.float32)
