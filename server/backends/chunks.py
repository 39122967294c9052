"""Audio in and out of a separation model in bounded memory, shared by the stem backends (demucs, roformer).

- `MixFeed`: the input mix at the model's rate and channel layout, normalised, pulled from the file
  on demand; frames no chunk will read again are released, so only a window of the song is held.
- `Sink`: one output stem: model-rate frames in, the input's rate and channel layout out, exactly
  as many frames as the input (frames soxr did not give stay zero).
- `OverlapAdd`: weighted overlap-add of chunk outputs in time order; finished frames are taken out
  as soon as no later chunk covers them.

numpy and soxr only (no torch): the backends' chunk loops (demucs/stream.py, roformer/stream.py) run
the models and hand their outputs here.
"""
from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from .audio_in import convert_channels


class Resampler:
    """A soxr VHQ stream (chunked output equals one-shot soxr), or nothing at equal rates."""

    def __init__(self, from_rate: int, to_rate: int, channels: int) -> None:
        self._stream = None
        if from_rate != to_rate:
            import soxr

            self._stream = soxr.ResampleStream(from_rate, to_rate, channels, dtype="float64", quality="VHQ")

    def __call__(self, x: np.ndarray, last: bool = False) -> np.ndarray:
        if self._stream is None:
            return x
        out = self._stream.resample_chunk(np.ascontiguousarray(x, dtype=np.float64), last=last)
        return np.asarray(out, dtype=np.float32).reshape(-1, x.shape[1])


class MixFeed:
    """The normalised mix at the model's rate, pulled from the input on demand; frames no segment
    will read again are dropped (`release`), so only a window of it is ever held."""

    def __init__(self, blocks: Iterator[np.ndarray], frames: int, channels: int, in_rate: int, rate: int,
                 mean: float, std: float) -> None:
        self.frames, self.channels = frames, channels  # at the model's rate and layout
        self._blocks, self._channels = blocks, channels
        self._resample = Resampler(in_rate, rate, channels)
        self._mean, self._std = np.float32(mean), np.float32(std)
        self._buf = np.zeros((0, channels), np.float32)
        self._base = 0  # model frame of _buf[0]
        self._done = False
        self.max_held = 0  # the most frames ever held (tests check that it stays bounded)

    def get(self, start: int, stop: int) -> np.ndarray:
        """(channels, stop - start) float32; zeros outside the track, as demucs pads."""
        while not self._done and self._base + self._buf.shape[0] < min(stop, self.frames):
            self._pull()
        first = max(start, 0)
        if first < self._base and first < min(stop, self.frames):
            raise RuntimeError(f"mix frame {first} was released (window starts at {self._base})")
        out = np.zeros((self._channels, stop - start), np.float32)
        lo, hi = max(start, self._base), min(stop, self._base + self._buf.shape[0])
        if hi > lo:
            out[:, lo - start:hi - start] = self._buf[lo - self._base:hi - self._base].T
        return out

    def release(self, before: int) -> None:
        drop = min(max(0, before - self._base), self._buf.shape[0])
        if drop:
            self._buf = self._buf[drop:]
            self._base += drop

    def _pull(self) -> None:
        block = next(self._blocks, None)
        x = self._resample(convert_channels(block, self._channels) if block is not None
                           else np.zeros((0, self._channels), np.float32), last=block is None)
        if block is None:
            self._done = True
        room = self.frames - (self._base + self._buf.shape[0])  # soxr may give a frame more or less
        x = x[:max(0, room)]
        if self._done and x.shape[0] < room:
            x = np.concatenate([x, np.zeros((room - x.shape[0], self._channels), np.float32)])
        # demucs normalises after resampling, in float32: (wav - mean) / std
        x = (x - self._mean) / self._std
        self._buf = np.concatenate([self._buf, x.astype(np.float32, copy=False)])
        self.max_held = max(self.max_held, self._buf.shape[0])


class Sink:
    """One output: frames at the model's rate in, the input's rate and channel layout out."""

    def __init__(self, frames: int, channels: int, model_channels: int, rate: int, out_rate: int) -> None:
        self.samples = np.zeros((frames, channels), np.float32)
        self._channels, self._pos = channels, 0
        self._resample = Resampler(rate, out_rate, model_channels)

    def write(self, x: np.ndarray, last: bool = False) -> None:
        """x: (model_channels, n) at the model's rate."""
        y = self._resample(x.T, last=last)
        y = convert_channels(y, self._channels) if y.shape[1] != self._channels else y
        n = min(y.shape[0], self.samples.shape[0] - self._pos)
        if n > 0:
            self.samples[self._pos:self._pos + n] = y[:n]
            self._pos += n

    def close(self, model_channels: int) -> np.ndarray:
        self.write(np.zeros((model_channels, 0), np.float32), last=True)
        return self.samples  # frames past what soxr gave stay zero: the length is the input's


class OverlapAdd:
    """Sum of weighted chunk outputs (..., frames) and of their weights, from frame `base` on."""

    def __init__(self, base: int = 0) -> None:
        self.base = base  # frame of num[..., 0]
        self.num: np.ndarray | None = None
        self.den = np.zeros(0, np.float32)

    def add(self, start: int, values: np.ndarray, weight: np.ndarray) -> None:
        """values (..., n) times weight (n,) added at frames [start, start + n); start >= base."""
        if self.num is None:
            self.num = np.zeros((*values.shape[:-1], 0), np.float32)
        end = start + values.shape[-1]
        if end - self.base > self.den.shape[0]:
            grow = end - self.base - self.den.shape[0]
            self.num = np.concatenate([self.num, np.zeros((*values.shape[:-1], grow), np.float32)], axis=-1)
            self.den = np.concatenate([self.den, np.zeros(grow, np.float32)])
        i = start - self.base
        self.num[..., i:i + values.shape[-1]] += weight * values
        self.den[i:i + values.shape[-1]] += weight

    def take(self, upto: int) -> np.ndarray:
        """The finished estimate (..., upto - base), num / den (0 where no weight fell), and forget it."""
        k = upto - self.base
        assert self.num is not None, "take() before any add()"
        den = self.den[:k]
        out = self.num[..., :k] / np.where(den > 0, den, np.float32(1))  # no weight: num is 0 there too
        self.num, self.den, self.base = self.num[..., k:], self.den[k:], upto
        return out
