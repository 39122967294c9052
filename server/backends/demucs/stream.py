"""Separation of a whole file in bounded memory, equal to demucs' `apply_model` on the whole track.

`apply_model(split=True)` cuts the track into overlapping segments, runs the model on each and
overlap-adds them with triangular weights; with `shifts` it repeats that on randomly delayed copies
and averages; a bag of models averages its members with per-stem weights. It holds the whole track
and every stem at the model's rate (plus copies for the shifts). Here the same segments, weights,
delays and bag weights are computed in time order across all passes at once: a frame is final as
soon as no pass has a segment left that covers it, so it is finished, turned back to the input's
rate and written into the output arrays straight away. Only a few segments of audio are held
besides the outputs themselves, and the result equals apply_model's to float rounding.

Imported only from the backend's `_run` (it needs torch and demucs).
"""
from __future__ import annotations

import heapq
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..chunks import MixFeed, OverlapAdd, Sink

__all__ = ["MixFeed", "Settings", "Sink", "make_passes", "separate"]  # MixFeed, Sink: shared (chunks.py)

ProgressFn = Callable[[float], None]


@dataclass(frozen=True)
class Settings:
    shifts: int = 1
    overlap: float = 0.25
    segment: float | None = None  # seconds; None: each model's own
    device: str = "cpu"


@dataclass
class _Pass:
    """One model over one (possibly delayed) copy of the track, as apply_model's split loop runs it."""

    model: Any
    member: int      # index in the bag
    delay: int       # output frame t of this pass is mix frame t - delay (apply_model's max_shift - offset)
    length: int      # frames of the delayed copy: mix frames + delay
    seg: int         # segment length in frames
    stride: int
    weight: np.ndarray
    next: int = 0    # index of the next segment
    acc: OverlapAdd = field(default_factory=OverlapAdd)  # the weighted sum of its segments, in mix frames

    @property
    def segments(self) -> int:
        return len(range(0, self.length, self.stride))

    def start(self, j: int) -> int:
        """Mix frame where segment j begins (negative for the delayed copy's head)."""
        return j * self.stride - self.delay

    @property
    def frontier(self) -> int:
        """Mix frames before this one get nothing more from this pass."""
        return self.start(self.next) if self.next < self.segments else self.length - self.delay


def _members(model: Any) -> tuple[list[Any], list[list[float]] | None]:
    from demucs.apply import BagOfModels

    if isinstance(model, BagOfModels):
        return list(model.models), [list(w) for w in model.weights]
    return [model], None


def _triangle(seg: int) -> np.ndarray:
    # apply_model's weight: a triangle peaking mid-segment, divided by its maximum (power 1)
    ramp = np.concatenate([np.arange(1, seg // 2 + 1), np.arange(seg - seg // 2, 0, -1)]).astype(np.float32)
    return ramp / ramp.max()


def make_passes(model: Any, frames: int, settings: Settings, rng: random.Random) -> list[_Pass]:
    """Every (bag member, shift) pass, with apply_model's random delays drawn in its order."""
    members, _ = _members(model)
    passes = []
    for index, member in enumerate(members):
        # the same expression as apply_model's (member.segment may be a Fraction: 39/5 s)
        seg = int(member.samplerate * (settings.segment if settings.segment is not None else member.segment))
        stride = int((1 - settings.overlap) * seg)
        max_shift = int(0.5 * member.samplerate)
        delays = [max_shift - rng.randint(0, max_shift) for _ in range(settings.shifts)] or [0]
        for delay in delays:
            passes.append(_Pass(member, index, delay, frames + delay, seg, stride, _triangle(seg)))
    return passes


def separate(model: Any, feed: MixFeed, sinks: Sequence[Sink], outputs: Sequence[Sequence[int]],
             settings: Settings, mean: float, std: float, rng: random.Random,
             progress: ProgressFn | None = None) -> list[np.ndarray]:
    """Run every segment of every pass in time order; `outputs[i]` lists the model sources summed
    into `sinks[i]`. `progress(fraction)` runs before each segment (it may raise to cancel)."""
    import torch

    passes = make_passes(model, feed.frames, settings, rng)
    total = sum(p.segments for p in passes)
    queue = [(p.start(0), i) for i, p in enumerate(passes)]
    heapq.heapify(queue)
    done, flushed = 0, 0
    with torch.inference_mode():
        while queue:
            if progress is not None:
                progress(done / total)
            _, i = heapq.heappop(queue)
            _run_segment(passes[i], feed, settings)
            done += 1
            if passes[i].next < passes[i].segments:
                heapq.heappush(queue, (passes[i].start(passes[i].next), i))
            ready = max(0, min(min(p.frontier for p in passes), feed.frames))
            if ready > flushed:
                _emit(passes, model, settings, flushed, ready, sinks, outputs, mean, std)
                flushed = ready
            feed.release(min(p.frontier - p.seg for p in passes))
    return [sink.close(feed.channels) for sink in sinks]


def _run_segment(p: _Pass, feed: MixFeed, settings: Settings) -> None:
    import torch
    from demucs.apply import TensorChunk

    j = p.next
    p.next += 1
    start, length = p.start(j), min(p.seg, p.length - j * p.stride)
    if start + length <= 0:
        return  # wholly inside the delayed copy's padding: apply_model computes it only to drop it
    # apply_model pads a short segment to the model's length with the track around it (zeros
    # outside the track); a context of one segment on each side covers any padding it asks for.
    context = p.seg
    mix = torch.from_numpy(feed.get(start - context, start + length + context))[None]
    out = _forward(p.model, TensorChunk(mix, context, length), length, settings)
    values = out[0].to("cpu", torch.float32).numpy()
    keep = max(0, -start)  # frames before the track start are dropped, as apply_model's slice does
    p.acc.add(start + keep, values[..., keep:], p.weight[keep:length])


def _forward(model: Any, chunk: Any, length: int, settings: Settings) -> Any:
    """apply_model(model, chunk, shifts=0, split=False, segment=..., device=...), demucs 4.1's
    branch for one segment, without the model.to(device) and model.eval() it starts with: each
    walks every module, once a segment, and the backend moved the model and set it to eval once,
    at load. Measured side by side in one process, 30 s of stereo on the tiny test model (2 CPU
    cores): 1.64 -> 1.57 s; where a segment's compute is short (a GPU) the walk's share is larger.
    tests/server/backends/test_demucs.py holds the result to apply_model's on the whole track."""
    import torch
    from demucs.htdemucs import HTDemucs
    from demucs.utils import center_trim

    if isinstance(model, HTDemucs) and settings.segment is not None:
        valid = int(settings.segment * model.samplerate)
    elif hasattr(model, "valid_length"):
        valid = model.valid_length(length)
    else:
        valid = length
    with torch.no_grad():
        out = model(chunk.padded(valid).to(settings.device))
    return center_trim(out, length)


def _emit(passes: list[_Pass], model: Any, settings: Settings, lo: int, hi: int, sinks: Sequence[Sink],
          outputs: Sequence[Sequence[int]], mean: float, std: float) -> None:
    """Frames [lo, hi) are final in every pass: combine as apply_model does and write them out."""
    _, weights = _members(model)
    shifts = max(1, settings.shifts)
    estimates: Any = None
    totals: list[float] = []
    for member in sorted({p.member for p in passes}):
        out: Any = 0.0
        for p in (q for q in passes if q.member == member):
            out = out + p.acc.take(hi)
        if settings.shifts:
            out = out / np.float32(shifts)
        if weights is None:
            estimates = out
            continue
        out = out * np.asarray(weights[member], np.float32)[:, None, None]
        totals = [a + b for a, b in zip(totals, weights[member])] if totals else list(weights[member])
        estimates = out if estimates is None else estimates + out
    if weights is not None:
        estimates = estimates / np.asarray(totals, np.float32)[:, None, None]
    estimates = estimates * np.float32(std) + np.float32(mean)  # demucs undoes its normalisation
    for sink, sources in zip(sinks, outputs):
        mixdown = estimates[sources[0]]
        for k in sources[1:]:
            mixdown = mixdown + estimates[k]
        sink.write(mixdown)
