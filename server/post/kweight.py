"""BS.1770-4 integrated loudness as block powers, so a gain can be applied without measuring again.

The reading is pyloudnorm's (the reference the tests hold it to): the same K-weighting biquads
(its coefficients, for any sample rate), the same 400 ms blocks at 100 ms hops with the same
integer bounds, the same absolute (-70 LUFS) and relative (-10 LU) gates. What differs is the cost:
one compiled pass that filters, squares and sums (post/_kernels.py), or one `sosfilt` over channel
rows, instead of four `lfilter` calls on strided columns, and the block sums from one pass over
the samples instead of a Python loop over every block and channel.

Loudness is measured in two steps: `measure` (the filtering, the only costly part: sums of squares
between block bounds) and `gated_lufs` (a few hundred numbers). A constant gain g scales every
block power by g**2 exactly, so normalisation finds the loudness of `x * g` from x's block powers,
gates re-applied, with no filter pass at all; a limiter's gain curve costs the spans it touches
(KWeighted.powers_with).
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import _kernels

__all__ = ["block_powers", "weighted", "powers_of", "gated_lufs", "measure", "KWeighted", "BLOCK_S"]

BLOCK_S = 0.4            # BS.1770 gating block
_STEP = 1.0 - 0.75       # 75 % overlap
_CHANNEL_GAINS = (1.0, 1.0, 1.0, 1.41, 1.41)  # L, R, C, Ls, Rs
_ABSOLUTE_GATE = -70.0
_RELATIVE_GATE = -10.0
_OFFSET = -0.691
_NYQUIST_FLOOR = np.array([1e-20, -1e-20])
_FLOOR_CHUNK = 1 << 16  # frames per pass: the floor tone below is 512 kB, cache-sized
_FLOOR_ROW = np.tile(_NYQUIST_FLOOR, _FLOOR_CHUNK // 2)
_TAIL_S = 0.12  # the K filter's impulse response is under 1e-13 of its peak after 0.12 s (any rate)


@functools.lru_cache(maxsize=8)
def _k_filter_sos(sample_rate: int) -> np.ndarray:
    """The K-weighting filter (high shelf, then high pass) as second-order sections, pyloudnorm's
    coefficients for this rate (its passband gains are 1.0, so nothing else scales the output)."""
    from pyloudnorm.iirfilter import IIRfilter

    shelf = IIRfilter(4.0, 1 / np.sqrt(2), 1500.0, sample_rate, "high_shelf")
    high_pass = IIRfilter(0.0, 0.5, 38.0, sample_rate, "high_pass")
    return np.array([np.concatenate([f.b, f.a]) for f in (shelf, high_pass)], dtype=np.float64)


def _block_bounds(frames: int, sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    """pyloudnorm's block bounds, evaluated in the same float order so every bound is the same integer."""
    blocks = int(np.round((frames / sample_rate - BLOCK_S) / (BLOCK_S * _STEP))) + 1
    j = np.arange(blocks, dtype=np.float64)
    lower = (BLOCK_S * (j * _STEP) * sample_rate).astype(np.int64)
    upper = (BLOCK_S * (j * _STEP + 1) * sample_rate).astype(np.int64)
    return lower, np.minimum(upper, frames)


def weighted(x: np.ndarray, sample_rate: int) -> np.ndarray:
    """The K-weighted signal as float64 channel rows, shape (channels, frames)."""
    kernels = _kernels.get()
    if kernels is not None:  # one compiled pass (see _kernels.py); the numpy below is its reference
        rows = np.empty((x.shape[1], x.shape[0]))
        _k_filter_pairs(kernels, x, sample_rate, np.zeros(1, np.int64), np.zeros((x.shape[1], 1)), rows)
        return rows
    from scipy.signal import sosfilt

    # In silent gaps the filter's decaying state turns subnormal and filtering slows ~10x. A tone at
    # Nyquist of 1e-20 (-400 dBFS, passed by both stages) keeps it normal; it is far below the -70
    # LUFS gate and float64's resolution of any real sample, so the reading is unchanged. It is added
    # in the same pass that makes the contiguous float64 channel rows sosfilt runs ~1.4x faster on
    # (one pass over the audio instead of a copy and a broadcast add over pairs: 2x less CPU).
    frames = x.shape[0]
    rows = np.empty((x.shape[1], frames))
    for a in range(0, frames, _FLOOR_CHUNK):
        b = min(frames, a + _FLOOR_CHUNK)
        np.add(x[a:b].T, _FLOOR_ROW[: b - a], out=rows[:, a:b], dtype=np.float64)
    # A copy of the cached sections: sosfilt wants a writable buffer.
    return sosfilt(_k_filter_sos(sample_rate).copy(), rows, axis=-1)


def powers_of(weighted_rows: np.ndarray, sample_rate: int) -> np.ndarray:
    """Mean square per channel and gating block of a K-weighted signal: shape (channels, blocks)."""
    lower, upper = _block_bounds(weighted_rows.shape[1], sample_rate)
    cuts = _cuts(weighted_rows.shape[1], lower, upper)
    return _blocks(_piece_sums(np.square(weighted_rows), cuts), cuts, lower, upper) / (BLOCK_S * sample_rate)


def block_powers(x: np.ndarray, sample_rate: int) -> np.ndarray:
    """Mean square of the K-weighted signal per channel and gating block: shape (channels, blocks).

    `x` is (frames, channels), at least one block long (the caller pads a shorter clip). With the
    compiled kernels the filter, the squares and the sums are one pass that keeps no signal.
    """
    return measure(x, sample_rate).powers


def _k_filter_pairs(kernels: Any, x: np.ndarray, sample_rate: int, cuts: np.ndarray, sums: np.ndarray,
                    rows: np.ndarray) -> None:
    """The compiled K filter over x's channels, two at a time (a lone last channel with itself)."""
    channels = x.shape[1]
    for c in range(0, channels, 2):
        kernels.k_filter(x, c, min(c + 1, channels - 1), _k_filter_sos(sample_rate), cuts, _NYQUIST_FLOOR[0],
                         sums, rows)


@dataclass
class KWeighted:
    """A clip's K-weighted loudness as sums of squares between block bounds (`pieces`, per channel,
    between `cuts`), from which the block powers of the clip under any gain, or under a limiter's
    gain curve, follow without filtering the clip again. The K-weighted signal itself is kept from
    that pass when asked (`measure(keep_signal=True)`), or made when first asked for: only a
    limiter that acts needs it."""
    x: np.ndarray  # the clip, padded to a block
    sample_rate: int
    pieces: np.ndarray
    cuts: np.ndarray
    bounds: tuple[np.ndarray, np.ndarray]  # the blocks' [lower, upper) frames
    _signal: np.ndarray | None = None

    @functools.cached_property
    def powers(self) -> np.ndarray:
        return self._powers(self.pieces)

    def _powers(self, pieces: np.ndarray) -> np.ndarray:
        return _blocks(pieces, self.cuts, *self.bounds) / (BLOCK_S * self.sample_rate)

    def signal(self) -> np.ndarray:
        if self._signal is None:
            self._signal = weighted(self.x, self.sample_rate)
        return self._signal

    def powers_with(self, gain: float, curve: list[tuple[int, int, np.ndarray]]) -> np.ndarray:
        """Block powers of K(x * gain * g), where the gain curve g is 1 outside `curve` [(start,
        stop, g[start:stop])], sorted and disjoint.

        K is linear, so K(x·gain·g) = gain·kx + kd, with kd = K(x·gain·(g - 1)), which is zero
        outside the curve's pieces and their filter tails: each block's sum of squares is gain²
        times kx's, plus the sum of kd·(2·gain·kx + kd) where kd is not zero. kd is filtered from
        the start of a group of pieces to the end of its last one's tail (where its response has
        decayed below 1e-13 of its size), so a round of the limiter costs its pieces, not the clip.
        """
        pieces = self.pieces * (gain * gain)
        kx = self.signal()
        tail = int(_TAIL_S * self.sample_rate)
        kernels = _kernels.get()
        for group in _groups(curve, tail):
            start, end = group[0][0], min(self.x.shape[0], group[-1][1] + tail)
            step = np.zeros(end - start)
            for a, b, g in group:
                step[a - start: b - start] = gain * (g.astype(np.float64) - 1.0)  # the audio is rounded once
            first = int(np.searchsorted(self.cuts, start, side="right")) - 1  # the piece `start` falls in
            if kernels is not None:
                self._cross_compiled(kernels, start, step, kx, gain, first, pieces)
            else:
                self._cross_numpy(start, step, kx, gain, first, pieces)
        return self._powers(np.maximum(pieces, 0.0))  # rounding could leave -1e-20 where kd cancels kx

    def _cross_compiled(self, kernels: Any, start: int, step: np.ndarray, kx: np.ndarray, gain: float,
                        first: int, pieces: np.ndarray) -> None:
        channels = self.x.shape[1]
        for c in range(0, channels, 2):
            kernels.k_cross(self.x, c, min(c + 1, channels - 1), start, step, kx, gain,
                            _k_filter_sos(self.sample_rate), self.cuts, first, _NYQUIST_FLOOR[0], pieces)

    def _cross_numpy(self, start: int, step: np.ndarray, kx: np.ndarray, gain: float, first: int,
                     pieces: np.ndarray) -> None:
        from scipy.signal import sosfilt

        end = start + step.size
        diff = (self.x[start:end].astype(np.float64) * step[:, None]).T
        diff[:, 0::2] += _NYQUIST_FLOOR[0]  # keeps the state normal across the zeros (see weighted)
        diff[:, 1::2] -= _NYQUIST_FLOOR[0]
        kd = sosfilt(_k_filter_sos(self.sample_rate).copy(), diff, axis=-1)
        inside = self.cuts[(self.cuts > start) & (self.cuts < end)] - start
        sums = _piece_sums(kd * (2.0 * gain * kx[:, start:end] + kd), np.concatenate([[0], inside]))
        pieces[:, first: first + sums.shape[1]] += sums


def measure(x: np.ndarray, sample_rate: int, keep_signal: bool = False) -> KWeighted:
    """The K-weighted sums of x (padded to a block by the caller): one compiled pass, which keeps
    the signal too when asked (a limiter is likely to need it: one pass instead of two), or
    numpy's filter, whose signal is always kept."""
    lower, upper = _block_bounds(x.shape[0], sample_rate)
    cuts = _cuts(x.shape[0], lower, upper)
    kernels = _kernels.get()
    if kernels is None:
        kx = weighted(x, sample_rate)
        return KWeighted(x, sample_rate, _piece_sums(np.square(kx), cuts), cuts, (lower, upper), kx)
    pieces = np.empty((x.shape[1], cuts.size))
    rows = np.empty((x.shape[1], x.shape[0])) if keep_signal else np.zeros((0, 0))
    _k_filter_pairs(kernels, x, sample_rate, cuts, pieces, rows)
    return KWeighted(x, sample_rate, pieces, cuts, (lower, upper), rows if keep_signal else None)


def _piece_sums(rows: np.ndarray, cuts: np.ndarray) -> np.ndarray:
    """rows' sums between `cuts` (cuts[0] is 0; the last piece runs to the end)."""
    return np.add.reduceat(rows, cuts, axis=-1)


def _groups(pieces: list[tuple[int, int, np.ndarray]], tail: int) -> list[list[tuple[int, int, np.ndarray]]]:
    """Pieces closer than a tail apart, together: one filter call covers them and the gaps."""
    groups: list[list[tuple[int, int, np.ndarray]]] = []
    for piece in pieces:
        if groups and piece[0] - groups[-1][-1][1] < tail:
            groups[-1].append(piece)
        else:
            groups.append([piece])
    return groups


def _cuts(frames: int, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """Every block bound inside the clip, sorted: the rows are summed piece by piece between them."""
    cuts = np.unique(np.concatenate([lower, upper]))
    return cuts[cuts < frames]


def _blocks(pieces: np.ndarray, cuts: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """rows[:, lower[j]:upper[j]].sum() per block j, from `pieces`, the rows' sums between `cuts`.

    Blocks overlap 4x, so summing each block reads every sample four times; instead the rows are
    cut at every block bound (one pass), and a block sums its few pieces.
    """
    before = np.zeros((pieces.shape[0], cuts.size + 1))  # before[:, k]: the sum of rows[:, :cuts[k]]
    np.cumsum(pieces, axis=-1, out=before[:, 1:])
    at = np.searchsorted(cuts, lower), np.searchsorted(cuts, upper)  # a bound at `frames` maps to the end
    return before[:, at[1]] - before[:, at[0]]


def gated_lufs(powers: np.ndarray, gain: float = 1.0) -> float:
    """Integrated loudness of the signal whose block powers are `powers`, scaled by `gain` (linear
    amplitude): BS.1770-4's two gates applied to the scaled blocks. -inf when no block passes."""
    z = powers * (gain * gain)
    weights = np.asarray(_CHANNEL_GAINS[: z.shape[0]])[:, None]
    summed = (weights * z).sum(axis=0)
    with np.errstate(divide="ignore"):
        loudness = _OFFSET + 10.0 * np.log10(summed)
    above = loudness >= _ABSOLUTE_GATE
    if not above.any():
        return -math.inf
    relative = _OFFSET + 10.0 * math.log10(float((weights[:, 0] * z[:, above].mean(axis=1)).sum())) \
        + _RELATIVE_GATE
    kept = (loudness > relative) & (loudness > _ABSOLUTE_GATE)
    if not kept.any():
        return -math.inf
    total = float((weights[:, 0] * z[:, kept].mean(axis=1)).sum())
    return _OFFSET + 10.0 * math.log10(total) if total > 0 else -math.inf
