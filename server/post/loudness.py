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

from . import truepeak
from ._frames import as_frames, check_rate, db
from .kweight import BLOCK_S, KWeighted, gated_lufs, measure
from .limiter import GainCurve, gain_curve

__all__ = ["integrated_lufs", "true_peak_dbtp", "normalize"]

_LIMITER_MS = 4.0        # W below: the gain ramps over ~1.5 W, short enough to keep punch
_LUFS_TOLERANCE = 0.1    # normalisation iterates until this close (the tests allow 0.5)
_MAX_ROUNDS = 5
_MAX_EXTRA_GAIN_DB = 6.0  # how far the gain may be pushed to make up for the limiter's reduction


def _pad_to_block(x: np.ndarray, sr: int) -> np.ndarray:
    need = int(math.ceil(BLOCK_S * sr)) + 1
    return x if x.shape[0] >= need else np.pad(x, ((0, need - x.shape[0]), (0, 0)))


def _weighted(x: np.ndarray, sr: int, keep_signal: bool = False) -> KWeighted | None:
    """The clip's K-weighted block powers (see kweight.py); None for digital silence."""
    if x.shape[1] > 5:
        raise ValueError(f"loudness is defined for up to 5 channels, got {x.shape[1]}")
    if not np.any(x):
        return None
    return measure(_pad_to_block(x, sr), sr, keep_signal)


def _lufs(powers: np.ndarray | None, gain: float = 1.0) -> float:
    return -math.inf if powers is None else gated_lufs(powers, gain)


def integrated_lufs(samples: np.ndarray, sample_rate: int) -> float:
    """Integrated loudness in LUFS (ITU-R BS.1770-4, pyloudnorm's reading); -inf for silence.

    Clips shorter than one 400 ms gating block are zero-padded to one block, so a one-shot gets
    the loudness of a 400 ms window holding all of it (what EBU R128's momentary meter shows for
    it), rather than an error. Up to 5 channels (BS.1770's L, R, C, Ls, Rs weighting).
    """
    measured = _weighted(as_frames(samples), check_rate(sample_rate))
    return _lufs(None if measured is None else measured.powers)


def true_peak_dbtp(samples: np.ndarray, sample_rate: int, *, periodic: bool = False) -> float:
    """True peak in dBTP: max |x| over a 4x-oversampled signal (and the samples); -inf if silent."""
    x = as_frames(samples)
    check_rate(sample_rate)
    return db(truepeak.peak(x, periodic))


def _under_ceiling(y: np.ndarray, ceiling: float, periodic: bool, curve: GainCurve,
                   known: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Final guarantee: scale down if any inter-sample peak still exceeds the ceiling.

    The limiter's gain changes the waveform between samples a little (its peaks were measured
    before the gain curve was applied). Only where its gain is under 1 (and the filter's reach
    around that) can y peak anywhere but at `known`, the scaled input envelope: only those spans
    are oversampled again. The true peak is linear in a constant gain, so one scaling settles it
    without measuring again; the 1e-6 margin is 16x float32's rounding. Returns the audio, its true
    peak and the scale applied.
    """
    peak = truepeak.peak_where(y, curve.runs_below_one(), known, periodic)
    if peak <= ceiling:
        return y, peak, 1.0
    scale = ceiling / peak * (1 - 1e-6)
    return _scaled(y, scale), peak * scale, scale


def _next_gain_db(seen: list[tuple[float, float]], target: float) -> float:
    """The next round's gain (dB): a secant step through the last two (gain dB, loudness) points.

    Limiting makes loudness rise less than the gain (the limited peaks stay at the ceiling), so a
    dB-for-dB step falls short and took three rounds on a drum loop; the secant through the point
    where the limiter starts and the first limited round lands within tolerance in two. The slope is
    kept between 0.1 (a step at most 10x the miss) and 1 (limiting never adds loudness).
    """
    (g0, l0), (g1, l1) = seen[-2], seen[-1]
    slope = (l1 - l0) / (g1 - g0) if g1 - g0 > 1e-9 else 1.0
    return g1 + (target - l1) / min(1.0, max(0.1, slope))


def _scaled(x: np.ndarray, gain: float | np.ndarray) -> np.ndarray:
    """float32(x * gain) computed in float64, as `(x.astype(float64) * gain).astype(float32)` but
    without its two full-size temporaries (numpy casts in small buffers)."""
    out = np.empty(x.shape, np.float32)
    np.multiply(x, gain, out=out, dtype=np.float64, casting="unsafe")
    return out


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
    weighted_x = _weighted(x, sr, keep_signal=target_lufs is not None)  # the limiter may need the signal
    powers = None if weighted_x is None else weighted_x.powers
    lufs_before = _lufs(powers)
    report: dict[str, Any] = {"mode": "lufs", "target_lufs": target_lufs, "ceiling_dbtp": ceiling_dbtp,
                              "lufs_before": _finite_or_none(lufs_before), "true_peak_before": None,
                              "gain_db": 0.0, "limiter_max_reduction_db": 0.0}
    if weighted_x is None:  # digital silence: no peak, no loudness
        report.update(mode="silent", lufs_after=None, true_peak_after=None)
        return x.copy(), report
    if target_lufs is None or not math.isfinite(lufs_before):
        report["mode"] = "peak"
        peak = truepeak.peak(x, periodic)
        # A constant gain scales the true peak and every block power exactly: nothing is measured again.
        gain, reduction = ceiling / peak * (1 - 1e-6), 0.0
        y, peak_after = _scaled(x, gain), peak * gain
        lufs_after = _lufs(powers, gain)
    else:
        env = truepeak.envelope(x, periodic)  # the limiter's input; it scales with the gain
        peak = float(env.max())
        y, gain, curve, lufs_after, measured = _loudness_rounds(x, sr, env, weighted_x, target_lufs,
                                                                ceiling, periodic, lufs_before)
        peak_after, reduction = peak * gain, 0.0
        if curve is not None and curve.min() < 1.0:  # the curve moved samples: measure what it left between them
            reduction = -db(curve.min())
            y, peak_after, scale = _under_ceiling(y, ceiling, periodic, curve, env * gain)
            lufs_after = _lufs(measured[0], measured[1] * scale)
    report.update(true_peak_before=db(peak), gain_db=db(gain), limiter_max_reduction_db=reduction,
                  lufs_after=_finite_or_none(lufs_after), true_peak_after=db(peak_after))
    return y, report


def _loudness_rounds(x: np.ndarray, sr: int, env: np.ndarray, weighted_x: KWeighted,
                     target: float, ceiling: float, periodic: bool, lufs: float
                     ) -> tuple[np.ndarray, float, GainCurve | None, float, tuple[np.ndarray, float]]:
    """Static gain + limiter, re-run with make-up gain until the loudness is on target.

    A round where the limiter is idle (the scaled peak under the ceiling) is a constant gain: its
    loudness comes from the input's block powers, with no filtering. A round where it acts filters
    only the difference its gain curve makes (KWeighted.powers_with), around the spans it touched.
    Returns (audio, static gain, the limiter's gain curve (None when idle), its loudness, (block
    powers, gain) that give the audio's loudness scaled by any further gain); the caller still runs
    the final ceiling check.
    """
    powers = weighted_x.powers
    width = max(1, int(round(_LIMITER_MS * sr / 1000)))
    margin_ceiling = ceiling * (1 - 1e-6)  # margin for float32 rounding
    peak = float(env.max())
    first_gain = gain = 10 ** ((target - lufs) / 20)
    # Up to the gain where the limiter starts, loudness rises dB for dB: that point anchors the first
    # secant step (see _next_gain_db).
    idle_db = db(margin_ceiling / peak)
    seen = [(idle_db, lufs + idle_db)]
    curve: GainCurve | None = None
    for last in range(_MAX_ROUNDS, 0, -1):
        if peak * gain <= margin_ceiling:  # limiter idle: its gain would be exactly 1 everywhere
            curve, measured = None, (powers, gain)
        else:
            # The peak envelope scales with the gain, so it is measured once, on the input.
            curve = gain_curve(env * gain, margin_ceiling, width, periodic)
            measured = (weighted_x.powers_with(gain, curve.pieces), 1.0)
        lufs = _lufs(*measured)
        miss = target - lufs
        # The last round's gain is the one applied (and reported), even when it missed the target.
        if abs(miss) <= _LUFS_TOLERANCE or gain / first_gain >= 10 ** (_MAX_EXTRA_GAIN_DB / 20) or last == 1:
            break
        seen.append((db(gain), lufs))
        gain = min(10 ** (_next_gain_db(seen, target) / 20), first_gain * 10 ** (_MAX_EXTRA_GAIN_DB / 20))
    y = _scaled(x, gain)
    for a, b, g in curve.pieces if curve is not None else ():
        y[a:b] = _scaled(x[a:b], (gain * g)[:, None])
    return y, gain, curve, lufs, measured
