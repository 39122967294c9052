"""True peak: the largest |value| of the 4x-oversampled signal, the samples themselves included.

The oversampler is soxr (HQ, linear phase, delay compensated), run on each channel as one
contiguous row: soxr is ~1.8x faster on a mono row than on interleaved stereo, and its output per
channel is the same. The row goes through soxr in pieces (`_pieces`), each piece of 4x output
reduced while it is still in the cache: the same samples as one call, without writing a 4x copy of
the row to memory and reading it back. `periodic` treats the audio as a loop (wrapped context at
both ends), so the peak across the seam is the one the DAW plays; otherwise silence is assumed
before and after, as in a file.

Three readings: `peak` (one number: two contiguous reductions per channel, no per-frame envelope),
`envelope` (per frame, for the limiter), and `peak_where` (the peak of audio that differs from an
already-measured one only in some frames: only those, with their filter context, are oversampled).
"""
from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from . import _kernels, _parallel

__all__ = ["OVERSAMPLE", "WRAP_PAD", "peak", "envelope", "peak_where"]

OVERSAMPLE = 4
WRAP_PAD = 1024  # frames of context around a span: covers soxr HQ's filter at 4x (BS.1770-4 Annex 2)


def _context(x: np.ndarray, start: int, stop: int, periodic: bool) -> tuple[np.ndarray, int]:
    """Channel rows of x[start:stop] with up to WRAP_PAD frames of context either side (wrapped
    around for a loop, the real neighbours inside the clip, nothing past a file's ends); and how
    many context frames lead."""
    frames = x.shape[0]
    if periodic:
        pad = min(WRAP_PAD, frames)
        if start == 0 and stop == frames:  # the whole loop: its tail before it, its head after
            wrapped = np.concatenate([x[frames - pad:], x, x[:pad]], axis=0)
        elif start >= pad and stop + pad <= frames:  # a span inside the loop: its real neighbours
            wrapped = x[start - pad: stop + pad]
        else:  # a span at the seam: index arithmetic, cheap at its size (a full-length gather is not)
            wrapped = x[np.arange(start - pad, stop + pad) % frames]
        return np.ascontiguousarray(wrapped.T, dtype=np.float32), pad
    lead = min(WRAP_PAD, start)
    tail = min(WRAP_PAD, frames - stop)
    return np.ascontiguousarray(x[start - lead: stop + tail].T, dtype=np.float32), lead


_PIECE = 16384  # input frames per soxr call in _pieces: 256 kB of 4x output, which stays in a core's cache


def _upsampled(row: np.ndarray) -> np.ndarray:
    """The whole row's 4x oversampling at once (the numpy envelope's reference path)."""
    import soxr

    return soxr.resample(row, 1000, 1000 * OVERSAMPLE, quality="HQ")


def _pieces(row: np.ndarray) -> Iterator[tuple[int, np.ndarray]]:
    """The row's 4x oversampling as (offset in the whole output, piece), in order: the samples of
    _upsampled, piece by piece (tested). A/B in one process on 10 s of stereo noise, one core: the
    envelope 10.8-12.4 ms from one call per channel, 9.9-11.0 ms from pieces reduced as they come
    (one call runs each stage of soxr's filter over the whole row, through memory)."""
    import soxr

    stream = soxr.ResampleStream(1000, 1000 * OVERSAMPLE, 1, dtype="float32", quality="HQ")
    frames, at = row.shape[0], 0
    for start in range(0, frames, _PIECE):
        piece = stream.resample_chunk(row[start: start + _PIECE], last=start + _PIECE >= frames)
        if piece.size:
            yield at, piece
            at += piece.size


def peak(x: np.ndarray, periodic: bool = False, start: int = 0, stop: int | None = None) -> float:
    """Largest |value| of x[start:stop] between and at its samples (linear; 0.0 for silence)."""
    return _spans_peak(x, [(start, x.shape[0] if stop is None else stop)], periodic)


def _spans_peak(x: np.ndarray, spans: list[tuple[int, int]], periodic: bool) -> float:
    """Largest |value| of x over sorted, disjoint [start, stop) spans, between and at its samples.

    The spans, each with its context, are oversampled as one row per channel: one soxr call
    however many spans a limiter left (a drum loop has dozens). A span's samples depend only on
    input within WRAP_PAD of it, which is its own context; what lies beyond, the next span's
    context here or silence in a call of its own, does not reach them. The first span is first
    and the last is last, so a file's ends still see silence.
    """
    best = 0.0
    chunks, inner, at = [], [], 0
    for a, b in spans:
        span = x[a:b]
        if span.size:
            best = max(best, float(span.max()), -float(span.min()))  # two reductions, no |x| array
        rows, lead = _context(x, a, b, periodic)
        chunks.append(rows)
        inner.append(((at + lead) * OVERSAMPLE, (at + lead + b - a) * OVERSAMPLE))
        at += rows.shape[1]
    joined = chunks[0] if len(chunks) == 1 else np.concatenate(chunks, axis=1)

    def row_peak(row: np.ndarray) -> float:  # in the row's thread: its reductions run side by side too
        return _windows_peak(_pieces(row), inner)
    return max(best, *_parallel.map_rows(row_peak, list(joined), joined.shape[1]))


def _windows_peak(pieces: Iterator[tuple[int, np.ndarray]], windows: list[tuple[int, int]]) -> float:
    """Largest |value| of a row, given in pieces, over its sorted, disjoint [lo, hi) windows."""
    best, first = 0.0, 0
    for at, up in pieces:
        end = at + up.size
        while first < len(windows) and windows[first][1] <= at:  # windows wholly before this piece
            first += 1
        for lo, hi in windows[first:]:
            if lo >= end:
                break
            part = up[max(lo, at) - at: min(hi, end) - at]
            if part.size:
                best = max(best, float(part.max()), -float(part.min()))  # two reductions, no |x| array
    return best


def envelope(x: np.ndarray, periodic: bool = False) -> np.ndarray:
    """Per frame, the largest |value| between it and the next frame, sample values included."""
    frames = x.shape[0]
    rows, lead = _context(x, 0, frames, periodic)
    kernels = _kernels.get()

    def row_envelope(ch: int) -> np.ndarray:  # one channel's, in its own thread where there are cores
        env = np.abs(x[:, ch])
        if kernels is not None:  # piece by piece, one pass over the four phases (the numpy below is its reference)
            for at, piece in _pieces(rows[ch]):
                kernels.envelope_max_at(env, piece, at - lead * OVERSAMPLE)
            return env
        up = _upsampled(rows[ch])[lead * OVERSAMPLE: (lead + frames) * OVERSAMPLE]
        np.abs(up, out=up)
        phases = up.reshape(frames, OVERSAMPLE)
        for k in range(OVERSAMPLE):  # column by column: a reduction along the short axis is slow
            np.maximum(env, phases[:, k], out=env)
        return env

    env, *others = _parallel.map_rows(row_envelope, range(x.shape[1]), frames)
    for other in others:
        np.maximum(env, other, out=env)
    return env


_MERGE_GAP = 4 * WRAP_PAD  # spans closer than this are oversampled as one (one soxr call each)


def peak_where(x: np.ndarray, changed: np.ndarray | list[tuple[int, int]], known: np.ndarray,
               periodic: bool = False) -> float:
    """True peak of x, where `known[n]` is already its envelope at every frame n that is not within
    WRAP_PAD frames of a `changed` frame (e.g. a constant gain times the input's envelope).
    `changed` is a per-frame mask, or the sorted [start, stop) runs that hold every changed frame.

    After the limiter only the frames its gain curve touched (and their neighbours, which the
    interpolation filter reaches) can peak anywhere new: those spans are oversampled, the rest
    is read from `known`. Falls back to the whole clip when the spans cover most of it.
    """
    frames = x.shape[0]
    runs = _runs(changed) if isinstance(changed, np.ndarray) else changed
    spans = _spans(runs, frames, periodic)
    if sum(b - a for a, b in spans) > frames // 2:
        return peak(x, periodic)
    best, at = 0.0, 0
    for a, b in [*spans, (frames, frames)]:  # `known` between the spans, slice by slice (no mask)
        if a > at:
            best = max(best, float(known[at:a].max()))
        at = b
    return max(best, _spans_peak(x, spans, periodic))


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    edges = np.diff(np.concatenate([[0], mask.view(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist()))


def _spans(runs: list[tuple[int, int]], frames: int, periodic: bool) -> list[tuple[int, int]]:
    """The runs widened by WRAP_PAD each side (clipped to the clip; a loop's wrapped neighbours
    are covered by peak's wrapped context), runs closer than _MERGE_GAP joined."""
    spans: list[tuple[int, int]] = []
    for a, b in runs:
        a, b = max(0, a - WRAP_PAD), min(frames, b + WRAP_PAD)
        if spans and a - spans[-1][1] < _MERGE_GAP:
            spans[-1] = (spans[-1][0], max(spans[-1][1], b))
        else:
            spans.append((a, b))
    if periodic and spans:  # a change near one end reaches across the seam to the other end
        if runs[0][0] < WRAP_PAD:
            spans.append((max(0, frames - WRAP_PAD), frames))
        if runs[-1][1] > frames - WRAP_PAD:
            spans.insert(0, (0, min(frames, WRAP_PAD)))
        spans = _merged(spans)
    return spans


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for a, b in sorted(spans):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out
