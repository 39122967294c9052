"""A RoFormer over a whole file in bounded memory, equal to MSST's `demix` (batch size 1) on the whole track.

MSST (utils/model_utils.py `demix`, mode "generic") reflect-pads the track by `border` = chunk − step
at both ends (when it is longer than two borders), runs the model on chunks of `chunk` frames every
`step` frames (a short last chunk reflect-padded, or zero-padded when under half a chunk), weights
each chunk with a window that fades over chunk/10 frames at both ends (not at the track's first
chunk's start nor the last chunk's end), overlap-adds, divides by the summed weights and cuts the
borders off. Here the same chunks, windows and padding run in time order and every frame is written
out as soon as no later chunk covers it (chunks.py), so only about a chunk of audio is held besides
the outputs. The residual stem of a one-target model is mix − target, frame by frame.

Imported only from the backend's `_run` (it needs torch).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...errors import DawgenError, ErrorCode
from ..chunks import MixFeed, OverlapAdd, Sink

ProgressFn = Callable[[float], None]


@dataclass(frozen=True)
class Plan:
    """Where the chunks go, in model frames: `pad` reflected frames each side, chunks every `step`."""

    frames: int  # of the mix
    chunk: int
    step: int

    @property
    def pad(self) -> int:
        border = self.chunk - self.step
        return border if border > 0 and self.frames > 2 * border else 0

    @property
    def length(self) -> int:
        return self.frames + 2 * self.pad

    @property
    def starts(self) -> range:
        return range(0, self.length, self.step)

    @property
    def fade(self) -> int:
        return self.chunk // 10

    def window(self, start: int) -> np.ndarray:
        """MSST's window for the chunk at `start` (its first chunk keeps its start, the last its end)."""
        w = np.ones(self.chunk, np.float32)
        if self.fade:
            w[:self.fade] *= np.linspace(0, 1, self.fade, dtype=np.float32)
            w[-self.fade:] *= np.linspace(1, 0, self.fade, dtype=np.float32)
        if start == 0:
            w[:self.fade] = 1
        elif start + self.step >= self.length:
            w[-self.fade:] = 1
        return w


def plan(frames: int, chunk: int, num_overlap: int | None = None, overlap: float | None = None) -> Plan:
    """MSST's step = chunk // num_overlap; an `overlap` fraction (the request's) overrides it."""
    step = chunk // max(1, num_overlap or 1) if overlap is None else round(chunk * (1 - overlap))
    return Plan(frames, chunk, max(1, min(chunk, step)))


def separate(model: Any, feed: MixFeed, sinks: Sequence[Sink], outputs: Sequence[Sequence[int]], layout: Plan,
             residual: bool, mean: float, std: float, device: str = "cpu",
             progress: ProgressFn | None = None) -> list[np.ndarray]:
    """Run every chunk in time order; `outputs[i]` lists the stems (the model's targets, then the
    residual when `residual`) summed into `sinks[i]`. `progress(fraction)` runs before each chunk
    (it may raise to cancel)."""
    import torch

    acc, flushed = OverlapAdd(), 0
    starts = list(layout.starts)
    with torch.inference_mode():
        for n, start in enumerate(starts):
            if progress is not None:
                progress(n / len(starts))
            seg = min(layout.chunk, layout.length - start)
            part = _chunk(feed, layout, start, seg)
            y = model(torch.from_numpy(part)[None].to(device))
            values = y.to("cpu", torch.float32).numpy().reshape(-1, feed.channels, y.shape[-1])
            if values.shape[-1] < seg:
                raise DawgenError(ErrorCode.BACKEND_FAILED, f"the model gave {values.shape[-1]} frames for a "
                                                            f"chunk of {layout.chunk} (chunk not a multiple of its hop?)")
            acc.add(start, values[..., :seg], layout.window(start)[:seg])
            ready = starts[n + 1] if n + 1 < len(starts) else layout.length
            _emit(acc.take(ready), flushed, feed, layout, residual, sinks, outputs, mean, std)
            flushed = ready
            # what later chunks and the residual still read: from the next chunk on, and the tail
            # frames the end padding reflects
            feed.release(max(0, min(ready - layout.pad, layout.frames - 1 - layout.pad)))
    return [sink.close(feed.channels) for sink in sinks]


def _chunk(feed: MixFeed, layout: Plan, start: int, seg: int) -> np.ndarray:
    """(channels, chunk) of the reflect-padded mix from `start`, padded to a chunk as MSST pads."""
    index = np.arange(start, start + seg) - layout.pad
    index = np.where(index < 0, -index, index)
    last = layout.frames - 1
    index = np.where(index > last, 2 * last - index, index)
    lo = int(index.min())
    part = feed.get(lo, int(index.max()) + 1)[:, index - lo]
    if seg < layout.chunk:  # MSST: reflect when over half a chunk is there, else zeros
        mode = "reflect" if seg > layout.chunk // 2 else "constant"
        part = np.pad(part, ((0, 0), (0, layout.chunk - seg)), mode=mode)
    return np.ascontiguousarray(part, dtype=np.float32)


def _emit(estimates: np.ndarray, lo: int, feed: MixFeed, layout: Plan, residual: bool, sinks: Sequence[Sink],
          outputs: Sequence[Sequence[int]], mean: float, std: float) -> None:
    """Padded frames [lo, lo + n) are final: the ones inside the track go to the sinks."""
    first, stop = max(lo, layout.pad), min(lo + estimates.shape[-1], layout.pad + layout.frames)
    if stop <= first:
        return
    stems = estimates[..., first - lo:stop - lo] * np.float32(std) + np.float32(mean)
    if residual:
        mix = feed.get(first - layout.pad, stop - layout.pad) * np.float32(std) + np.float32(mean)
        stems = np.concatenate([stems, (mix - stems[0])[None]])
    for sink, sources in zip(sinks, outputs):
        mixdown = stems[sources[0]]
        for k in sources[1:]:
            mixdown = mixdown + stems[k]
        sink.write(mixdown)
