"""The look-ahead limiter's gain curve, computed only where it can differ from 1.

g_req = min(1, ceiling / env); g1 = moving minimum of g_req over 2W+1 frames (centred);
g = moving average of g1 over W+1 frames (centred). Every g1 averaged into g[n] comes from a
window that contains n, so each is <= g_req[n], and so is their mean: the limiter can never let a
peak through, and the gain starts falling ~1.5 W before a peak (the look-ahead).

g[n] depends on g_req within 1.5 W of n only, so it is exactly 1 farther than that from every frame
over the ceiling. A loop's peaks are a few short spans; the curve is kept as those spans (`pieces`)
rather than a full-length array, and each is computed from a window reaching past it by that
distance, which gives the same values as the whole-clip filters (wrapped around for a loop).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["GainCurve", "gain_curve"]


@dataclass
class GainCurve:
    """g over `pieces` [(start, stop, g[start:stop])], sorted, disjoint, inside the clip; 1 elsewhere."""
    frames: int
    pieces: list[tuple[int, int, np.ndarray]]

    def min(self) -> float:
        return min((float(g.min()) for _, _, g in self.pieces), default=1.0)

    def runs_below_one(self) -> list[tuple[int, int]]:
        """Sorted [start, stop) runs holding every frame where g < 1: per piece, from its first
        such frame to its last (no full-length mask)."""
        runs = []
        for a, _, g in self.pieces:
            under = np.flatnonzero(g < 1.0)
            if under.size:
                runs.append((a + int(under[0]), a + int(under[-1]) + 1))
        return runs


def _filtered(g_req: np.ndarray, width: int, mode: str) -> np.ndarray:
    from scipy.ndimage import minimum_filter1d, uniform_filter1d

    return uniform_filter1d(minimum_filter1d(g_req, size=2 * width + 1, mode=mode), size=width + 1, mode=mode)


def _required(env: np.ndarray, limit: float) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.minimum(1.0, limit / env)


def gain_curve(env: np.ndarray, limit: float, width: int, periodic: bool) -> GainCurve:
    """The limiter's gain for envelope `env` under `limit` (env and limit in the same scale)."""
    frames = env.shape[0]
    over = np.flatnonzero(env > limit)
    reach = width + width // 2 + 2  # how far from a frame over the limit g can be under 1 (see above)
    spans = _spans(over, reach, frames, periodic)
    if not spans:
        return GainCurve(frames, [])
    if sum(b - a for a, b in spans) >= frames // 2:  # dense: the whole clip at once
        return GainCurve(frames, [(0, frames, _filtered(_required(env, limit), width,
                                                        "wrap" if periodic else "nearest"))])
    pieces = []
    for a, b in spans:
        lo, hi = a - reach, b + reach
        if periodic:
            window = env[np.arange(lo, hi) % frames]
        else:
            lo, hi = max(0, lo), min(frames, hi)
            window = env[lo:hi]
        g = _filtered(_required(window, limit), width, "nearest")[a - lo: b - lo]
        pieces += _inside(a, b, g, frames)
    return GainCurve(frames, sorted(pieces, key=lambda p: p[0]))


def _spans(over: np.ndarray, reach: int, frames: int, periodic: bool) -> list[tuple[int, int]]:
    """Runs of frames within `reach` of a frame in `over`, merged; for a loop, a run may start
    before 0 or end after `frames` (it wraps), and the runs at the two ends join across the seam."""
    if over.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(over) > 2 * reach)
    starts = np.concatenate([[over[0]], over[breaks + 1]]) - reach
    stops = np.concatenate([over[breaks], [over[-1]]]) + reach + 1
    spans = [(int(a), int(b)) for a, b in zip(starts, stops)]
    if not periodic:
        return [(max(0, a), min(frames, b)) for a, b in spans]
    if len(spans) > 1 and spans[-1][1] - frames >= spans[0][0]:  # the last run wraps into the first
        last = spans.pop()
        spans[0] = (last[0] - frames, spans[0][1])
    if spans[-1][1] - spans[0][0] >= frames:  # covers the whole loop
        return [(0, frames)]
    return spans


def _inside(a: int, b: int, g: np.ndarray, frames: int) -> list[tuple[int, int, np.ndarray]]:
    """A span in loop coordinates (possibly past either end) as pieces inside [0, frames)."""
    if a < 0:
        return [(a + frames, frames, g[:-a]), (0, b, g[-a:])]
    if b > frames:
        return [(a, frames, g[: frames - a]), (0, b - frames, g[frames - a:])]
    return [(a, b, g)]
