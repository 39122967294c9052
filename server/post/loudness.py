"""Loudness: BS.1770-4 integrated loudness, true peak, and normalisation under a true-peak ceiling.

Peak-normalised generations come out at wildly different perceived levels and too loud to mix;
streaming-style loudness targets (-14 LUFS for loops) give files that sit at one level. Raising
a peaky signal to a loudness target can push its peaks past full scale, so a look-ahead limiter
holds the true peak (the peak between samples, which a DAC or a lossy encoder reconstructs) under
a ceiling: the result never clips.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._frames import as_frames, check_rate, db

__all__ = ["integrated_lufs", "true_peak_dbtp", "normalize"]

_BLOCK_S = 0.4           # BS.1770 gating block
_OVERSAMPLE = 4
_WRAP_PAD = 1024  # frames of wrapped context for a loop's seam (BS.1770-4 Annex 2: 4x suffices at 48 kHz)
_LIMITER_MS = 4.0        # W below: the gain ramps over ~1.5 W, short enough to keep punch
_LUFS_TOLERANCE = 0.1    # normalisation iterates until this close (the tests allow 0.5)
_MAX_ROUNDS = 5
_MAX_EXTRA_GAIN_DB = 6.0  # how far the gain may be pushed to make up for the limiter's reduction


def _pad_to_block(x: np.ndarray, sr: int) -> np.ndarray:
    need = int(math.ceil(_BLOCK_S * sr)) + 1
    return x if x.shape[0] >= need else np.pad(x, ((0, need - x.shape[0]), (0, 0)))


def integrated_lufs(samples: np.ndarray, sample_rate: int) -> float:
    """Integrated loudness in LUFS (ITU-R BS.1770-4 via pyloudnorm); -inf for silence.

    Clips shorter than one 400 ms gating block are zero-padded to one block, so a one-shot gets
    the loudness of a 400 ms window holding all of it (what EBU R128's momentary meter shows for
    it), rather than an error. Up to 5 channels (BS.1770's L, R, C, Ls, Rs weighting).
    """
    import pyloudnorm  # imports scipy.signal; only jobs that measure loudness pay for it

    x = as_frames(samples)
    sr = check_rate(sample_rate)
    if x.shape[1] > 5:
        raise ValueError(f"loudness is defined for up to 5 channels, got {x.shape[1]}")
    meter = pyloudnorm.Meter(sr)  # cheap to build, and holds per-call state: not shared
    data = _pad_to_block(x, sr).astype(np.float64)
    if not np.any(data):
        return -math.inf
    # In silent gaps the K filter's decaying state turns subnormal and lfilter slows ~10x. A tone
    # at Nyquist of 1e-20 (-400 dBFS, passed by both filter stages) keeps it normal; it is far
    # below the -70 LUFS gate and float64 resolution of any real sample, so the reading is unchanged.
    data += _nyquist_floor(data.shape[0])[:, None]
    with np.errstate(divide="ignore"):
        return float(meter.integrated_loudness(data))


def _nyquist_floor(frames: int) -> np.ndarray:
    return np.where(np.arange(frames) % 2 == 0, 1e-20, -1e-20)


def _oversampled_abs(x: np.ndarray, periodic: bool) -> np.ndarray:
    """|x| upsampled 4x, max over channels: shape (frames * 4,).

    soxr (HQ, linear phase, delay compensated) rather than scipy's resample_poly: 4x faster here,
    and this is the costliest step of loudness normalisation. `periodic` treats the audio as a loop
    (wrapped context at both ends), so the peak across the seam is the one the DAW plays;
    otherwise silence is assumed before and after, as in a file.
    """
    import soxr

    pad = min(_WRAP_PAD, x.shape[0]) if periodic else 0  # covers soxr HQ's filter at 4x
    frames = np.ascontiguousarray(x, dtype=np.float32)
    if pad:
        frames = np.concatenate([frames[-pad:], frames, frames[:pad]], axis=0)
    up = np.abs(soxr.resample(frames, 1000 * 1, 1000 * _OVERSAMPLE, quality="HQ"))
    if up.ndim == 1:
        up = up[:, None]
    if pad:
        up = up[pad * _OVERSAMPLE: (pad + x.shape[0]) * _OVERSAMPLE]
    rows = np.ascontiguousarray(up.T)  # reducing along a 2-wide last axis is ~5x slower than rows
    return np.maximum.reduce(rows, axis=0) if rows.shape[0] > 1 else rows[0]


def _peak_envelope(x: np.ndarray, periodic: bool) -> np.ndarray:
    """Per frame, the largest |value| between it and the next frame, sample values included."""
    blocks = _oversampled_abs(x, periodic)[: x.shape[0] * _OVERSAMPLE].reshape(x.shape[0], _OVERSAMPLE)
    env = blocks[:, 0].copy()
    for k in range(1, _OVERSAMPLE):  # column by column: a reduction along the short axis is slow
        np.maximum(env, blocks[:, k], out=env)
    # Interpolated values can sit a hair under the samples they pass through: count those too.
    for ch in range(x.shape[1]):
        np.maximum(env, np.abs(x[:, ch]), out=env)
    return env


def true_peak_dbtp(samples: np.ndarray, sample_rate: int, *, periodic: bool = False) -> float:
    """True peak in dBTP: max |x| over a 4x-oversampled signal (and the samples); -inf if silent."""
    x = as_frames(samples)
    check_rate(sample_rate)
    return db(float(_peak_envelope(x, periodic).max()))


def _limiter_gain(env: np.ndarray, ceiling: float, width: int, periodic: bool) -> np.ndarray:
    """Smooth gain g with g * env <= ceiling at every frame, computed without a sample loop.

    g_req = min(1, ceiling / env); g1 = moving minimum of g_req over 2W+1 frames (centred);
    g = moving average of g1 over W+1 frames (centred). Every g1 averaged into g[n] comes from a
    window that contains n, so each is <= g_req[n], and so is their mean: the limiter can never
    let a peak through, and the gain starts falling ~1.5 W before a peak (the look-ahead).
    """
    from scipy.ndimage import minimum_filter1d, uniform_filter1d

    with np.errstate(divide="ignore"):
        g_req = np.minimum(1.0, ceiling / env)
    mode = "wrap" if periodic else "nearest"
    g1 = minimum_filter1d(g_req, size=2 * width + 1, mode=mode)
    return uniform_filter1d(g1, size=width + 1, mode=mode)


def _under_ceiling(y: np.ndarray, ceiling: float, periodic: bool) -> tuple[np.ndarray, float]:
    """Final guarantee: scale down if any inter-sample peak still exceeds the ceiling.

    The limiter's gain changes the waveform between samples a little (its peaks were measured
    before the gain curve was applied). The true peak is linear in a constant gain, so one
    scaling settles it without measuring again (4x oversampling is the costliest step here); the
    1e-6 margin is 16x float32's rounding. Returns the audio and its true peak.
    """
    peak = float(_peak_envelope(y, periodic).max())
    if peak <= ceiling:
        return y, peak
    scale = ceiling / peak * (1 - 1e-6)
    return (y.astype(np.float64) * scale).astype(np.float32), peak * scale


def _finite_or_none(value: float) -> float | None:
    """-inf (silence) as None, so the report serialises as strict JSON."""
    return value if math.isfinite(value) else None


def normalize(samples: np.ndarray, sample_rate: int, target_lufs: float | None,
              ceiling_dbtp: float = -1.0, *, periodic: bool = False) -> tuple[np.ndarray, dict[str, Any]]:
    """Gain to `target_lufs` under a true-peak ceiling; never exceeds the ceiling, never clips.

    target_lufs None peak-normalises: the true peak lands on the ceiling (one-shots, whose
    loudness over a 400 ms block says little). A signal too quiet for BS.1770's -70 LUFS gate is
    peak-normalised too (mode "peak"). Silence is returned unchanged (mode "silent").
    After the gain, the limiter (see _limiter_gain) catches peaks over the ceiling; as limiting
    lowers the loudness a little, the gain is raised and the limiter re-run until the result is
    within 0.1 LU (at most 6 dB of make-up). `periodic=True` treats the audio as a loop: the
    limiter's gain and the peak measure wrap across the seam, so they cannot open a click there.

    Report: mode, target_lufs, ceiling_dbtp, lufs_before/after, true_peak_before/after (dBTP,
    None for silence), gain_db (the static gain), limiter_max_reduction_db (0.0 if idle).
    """
    x = as_frames(samples)
    sr = check_rate(sample_rate)
    if not (math.isfinite(ceiling_dbtp) and ceiling_dbtp <= 0):
        raise ValueError(f"ceiling_dbtp must be <= 0 dBTP (above full scale would clip), got {ceiling_dbtp!r}")
    if target_lufs is not None and not (math.isfinite(target_lufs) and -70 <= target_lufs <= 0):
        raise ValueError(f"target_lufs must be between -70 and 0 LUFS, got {target_lufs!r}")
    ceiling = 10 ** (ceiling_dbtp / 20)
    env = _peak_envelope(x, periodic)
    peak = float(env.max())
    lufs_before = integrated_lufs(x, sr)
    report: dict[str, Any] = {"mode": "lufs", "target_lufs": target_lufs, "ceiling_dbtp": ceiling_dbtp,
                              "lufs_before": _finite_or_none(lufs_before),
                              "true_peak_before": _finite_or_none(db(peak)),
                              "gain_db": 0.0, "limiter_max_reduction_db": 0.0}
    if peak == 0.0:
        report.update(mode="silent", lufs_after=None, true_peak_after=None)
        return x.copy(), report
    if target_lufs is None or not math.isfinite(lufs_before):
        report["mode"] = "peak"
        # A constant gain scales the true peak exactly: no second oversampling pass is needed.
        gain, reduction = ceiling / peak * (1 - 1e-6), 0.0
        y, peak_after = (x.astype(np.float64) * gain).astype(np.float32), peak * gain
        lufs_after = integrated_lufs(y, sr)
    else:
        limited, gain, reduction, lufs_after = _loudness_rounds(x, sr, env, target_lufs, ceiling, periodic,
                                                                lufs_before)
        y, peak_after = limited, peak * gain
        if reduction > 0.0:  # the gain curve moved samples: measure what it left between them
            y, peak_after = _under_ceiling(limited, ceiling, periodic)
        if y is not limited:  # scaled down a hair: measure again rather than extrapolate
            lufs_after = integrated_lufs(y, sr)
    report.update(gain_db=db(gain), limiter_max_reduction_db=reduction,
                  lufs_after=_finite_or_none(lufs_after), true_peak_after=db(peak_after))
    return y, report


def _loudness_rounds(x: np.ndarray, sr: int, env: np.ndarray, target: float, ceiling: float,
                     periodic: bool, lufs: float) -> tuple[np.ndarray, float, float, float]:
    """Static gain + limiter, re-run with make-up gain until the loudness is on target.

    Returns (audio, static gain, the limiter's largest reduction in dB, its loudness); the caller
    still runs the final ceiling check.
    """
    width = max(1, int(round(_LIMITER_MS * sr / 1000)))
    first_gain = gain = 10 ** ((target - lufs) / 20)
    x64 = x.astype(np.float64)
    for _ in range(_MAX_ROUNDS):
        # The peak envelope scales with the gain, so it is measured once, on the input.
        g = _limiter_gain(env * gain, ceiling * (1 - 1e-6), width, periodic)  # margin for float32 rounding
        y = (x64 * (gain * g)[:, None]).astype(np.float32)
        lufs = integrated_lufs(y, sr)
        miss = target - lufs
        if abs(miss) <= _LUFS_TOLERANCE or gain / first_gain >= 10 ** (_MAX_EXTRA_GAIN_DB / 20):
            break
        gain = min(gain * 10 ** (miss / 20), first_gain * 10 ** (_MAX_EXTRA_GAIN_DB / 20))
    reduction = -db(float(g.min())) if g.min() < 1.0 else 0.0
    return y, gain, reduction, lufs
