"""Seamless loops: a file of exactly N frames whose end runs into its start without a click.

A DAW loops a clip by playing frame 0 right after frame L-1. If the material does not continue
across that seam, the waveform jumps and the listener hears a click once per loop. The cure used
here is the one samplers use: the audio that was generated *past* the loop end is exactly what
should follow frame L-1, so it is crossfaded into the head; the seam then becomes the original,
continuous L-1 -> L transition of the material.
"""
from __future__ import annotations

import math

import numpy as np

from ._frames import as_frames, check_rate, db

__all__ = ["make_seamless", "seam_discontinuity_db"]

# Above this correlation between head and tail, the two are mostly the same waveform and add in
# amplitude (equal-gain fades keep the level); below it they add in power (equal-power fades
# avoid the -3 dB dip mid-fade that linear fades give uncorrelated material, e.g. noise, hats).
_CORRELATED = 0.5
_FADE_IN_SHARE = 0.25  # fallback fade-in is a quarter of the crossfade: keeps the downbeat's attack


def seam_discontinuity_db(samples: np.ndarray) -> float:
    """How much the loop seam jumps, in dBFS: the linear-prediction error at the seam.

    Continuing the last two frames in a straight line predicts the frame after the end as
    2*x[L-1] - x[L-2]; a seamless loop's next frame, x[0], is close to it. The error
    |x[0] - (2*x[L-1] - x[L-2])| (max over channels) is a click's size; a smooth waveform's own
    error is tiny (a full-scale 110 Hz sine at 48 kHz: about -74 dB), so a value far above what
    the material shows elsewhere is an audible click. Noise has large errors everywhere: compare
    with the same measure inside the loop there. -inf for an exactly continuous seam.
    """
    x = as_frames(samples)
    if x.shape[0] < 2:
        raise ValueError("a loop needs at least 2 frames to have a seam")
    err = np.abs(x[0].astype(np.float64) - (2.0 * x[-1].astype(np.float64) - x[-2]))
    return db(float(err.max()))


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Normalised correlation of two equally long (frames, channels) blocks; 0 when one is silent."""
    a64, b64 = a.astype(np.float64).ravel(), b.astype(np.float64).ravel()
    denom = math.sqrt(float(a64 @ a64) * float(b64 @ b64))
    return float(a64 @ b64) / denom if denom > 0 else 0.0


def _crossfade(x: np.ndarray, target_frames: int, n: int) -> np.ndarray:
    """Loop of target_frames frames; its first n frames fade from the tail x[L:L+n] into the head."""
    head, tail = x[:n].astype(np.float64), x[target_frames:target_frames + n].astype(np.float64)
    # t = 0 at frame 0, which is then exactly x[L] (continuing x[L-1]); t would reach 1 at frame n,
    # which is x[n] untouched, so both ends of the fade join the material smoothly.
    t = np.arange(n) / n
    smooth = 0.5 - 0.5 * np.cos(np.pi * t)  # raised cosine: flat at both ends, so no kink where it joins
    if _correlation(head, tail) >= _CORRELATED:
        fade_in, fade_out = smooth, 1.0 - smooth  # equal gain: fade_in + fade_out = 1
    else:
        # Equal power (fade_in^2 + fade_out^2 = 1) along the raised cosine: a plain sin/cos pair
        # has a slope step at its ends that the seam measure sees at about -56 dB on a sine.
        fade_in, fade_out = np.sin(0.5 * np.pi * smooth), np.cos(0.5 * np.pi * smooth)
    out = x[:target_frames].copy()
    out[:n] = (head * fade_in[:, None] + tail * fade_out[:, None]).astype(np.float32)
    return out


def _fade_seam(x: np.ndarray, target_frames: int, fade_out_n: int) -> np.ndarray:
    """Fallback without spare material: fade the end of the material out and the head in.

    Both sides of the seam then meet at zero. When the material is shorter than the loop, it is
    zero-padded and its own end is faded, so no cut is left inside the loop either.
    """
    out = np.zeros((target_frames, x.shape[1]), dtype=np.float32)
    used = min(x.shape[0], target_frames)
    out[:used] = x[:used]
    fade_out_n = min(fade_out_n, used)
    if fade_out_n > 0:  # half cosine reaching exactly 0 on the last material frame
        ramp = 0.5 + 0.5 * np.cos(np.pi * np.arange(1, fade_out_n + 1) / fade_out_n)
        out[used - fade_out_n:used] *= ramp[:, None].astype(np.float32)
    fade_in_n = min(max(1, int(round(fade_out_n * _FADE_IN_SHARE))), used)
    ramp_in = 0.5 - 0.5 * np.cos(np.pi * np.arange(fade_in_n) / fade_in_n)  # starts at exactly 0
    out[:fade_in_n] *= ramp_in[:, None].astype(np.float32)
    return out


def make_seamless(samples: np.ndarray, target_frames: int, sample_rate: int,
                  crossfade_ms: float = 10.0) -> tuple[np.ndarray, str]:
    """Exactly `target_frames` frames whose seam (last frame -> first frame) is click-free.

    With at least target_frames + crossfade frames of input, the audio past the loop end is
    crossfaded into the head ("crossfade"): the seam continues the material and nothing is
    silenced. With less, the end fades out and the head fades in ("fade"); the fade-in is a
    quarter of `crossfade_ms` so a downbeat's attack survives.
    """
    x = as_frames(samples)
    sr = check_rate(sample_rate)
    if isinstance(target_frames, bool) or not isinstance(target_frames, (int, np.integer)) or target_frames < 2:
        raise ValueError(f"target_frames must be an integer >= 2, got {target_frames!r}")
    if not (math.isfinite(crossfade_ms) and crossfade_ms > 0):
        raise ValueError(f"crossfade_ms must be > 0, got {crossfade_ms!r}")
    target_frames = int(target_frames)
    n = max(2, int(round(crossfade_ms * sr / 1000)))
    if n > target_frames:
        raise ValueError(f"a {crossfade_ms:g} ms crossfade ({n} frames) is longer than the loop "
                         f"({target_frames} frames)")
    if x.shape[0] >= target_frames + n:
        return _crossfade(x, target_frames, n), "crossfade"
    return _fade_seam(x, target_frames, n), "fade"
