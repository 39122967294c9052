"""Paulstretch: the extreme time-stretch of Paul Nasca's algorithm, numpy only (a `process` chain step).

Each output frame is one window of the input, read at a position that advances `stretch` times
slower than the output: its FFT magnitudes are kept, its phases replaced by random ones, and the
frame overlap-added at half-window hops. Random phases make every frame a stationary, smeared
version of the sound, so the input's spectral envelope stays while its time structure dissolves.

Why these windows: the frames are uncorrelated, so their *powers* add; a sine (square-root Hann)
synthesis window at half-window hops has sin^2 summing to exactly 1, so the output's power is
flat across frame joins (no pumping), and it is zero at the frame edges, so no join can click.
Each frame is scaled back to the input's level (Parseval over the analysis window).

`loop=true` reads the input circularly and overlap-adds into a circular buffer whose length is a
whole number of hops: the frames that run past the end wrap into the start, so the end crossfades
into the start exactly as every other join does, a seamless loop with no fade in or out.

Memory: the output buffer and one frame at a time (stretch=1000 on a second of audio is ~8000
frames of work, not a 1000x intermediate); the result is capped at MAX_OUTPUT_SECONDS.
"""
from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from ...errors import DawgenError, ErrorCode
from .spec import MAX_INPUT_SECONDS

MIN_STRETCH, MAX_STRETCH = 1.0, 1000.0
MIN_WINDOW, MAX_WINDOW = 0.01, 10.0  # seconds
DEFAULTS = {"stretch": 8.0, "window_seconds": 0.25, "loop": False, "seed": 0}
# The longest result: what a job already holds in memory for its input (an hour of 48 kHz
# stereo float32 is ~1.4 GB).
MAX_OUTPUT_SECONDS = MAX_INPUT_SECONDS
PARAMS = ("stretch", "window_seconds", "loop", "seed")


def check_params(raw: dict) -> dict:
    """The step's parameters, defaults filled; ValueError naming the bad one."""
    unknown = [k for k in raw if k not in PARAMS]
    if unknown:
        raise ValueError(f"paulstretch has no parameter {unknown[0]!r} (its parameters: {', '.join(PARAMS)})")
    p = {**DEFAULTS, **raw}
    for key, lo, hi in (("stretch", MIN_STRETCH, MAX_STRETCH), ("window_seconds", MIN_WINDOW, MAX_WINDOW)):
        value = p[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"paulstretch.{key} must be a number, got {value!r}")
        if not lo <= value <= hi:
            raise ValueError(f"paulstretch.{key} must be {lo:g}..{hi:g}, got {value:g}")
        p[key] = float(value)
    if not isinstance(p["loop"], bool):
        raise ValueError(f"paulstretch.loop must be true or false, got {p['loop']!r}")
    if isinstance(p["seed"], bool) or not isinstance(p["seed"], int) or p["seed"] < 0:
        raise ValueError(f"paulstretch.seed must be a whole number >= 0, got {p['seed']!r}")
    return p


def check_chain_length(steps: list, seconds: float, rate: int) -> None:
    """Submit-time: ValueError when a chain's paulstretch steps would make `seconds` of audio longer
    than MAX_OUTPUT_SECONDS (the run checks again, for results whose length is known only then)."""
    frames = round(seconds * rate)
    for step in steps:
        if step.effect == "paulstretch":
            p = step.params
            frames = output_frames(frames, rate, p["stretch"], p["window_seconds"], p["loop"])
            if frames > MAX_OUTPUT_SECONDS * rate:
                raise ValueError(f"chain: paulstretch would make {seconds:.1f} s of input {frames / rate / 60:.0f} "
                                 f"minutes long; at most {MAX_OUTPUT_SECONDS / 60:.0f} minutes")


def window_frames(window_seconds: float, rate: int) -> int:
    """The window in samples: even (two half-window hops), at least 64."""
    return max(64, 2 * round(window_seconds * rate / 2))


def output_frames(frames: int, rate: int, stretch: float, window_seconds: float, loop: bool) -> int:
    """The result's length: stretch x input plus one window (its fade in and out); a loop has no
    fades: stretch x input rounded to whole hops (at least two)."""
    window = window_frames(window_seconds, rate)
    hop = window // 2
    if loop:
        return hop * max(2, round(stretch * frames / hop))
    return round(stretch * frames) + window


def paulstretch(samples: np.ndarray, rate: int, stretch: float = 8.0, window_seconds: float = 0.25,
                loop: bool = False, seed: int = 0, check: Callable[[], None] | None = None) -> np.ndarray:
    """(frames, channels) float32 in and out. `check()` runs every few hundred frames (cancel)."""
    x = np.asarray(samples, dtype=np.float32)
    if x.shape[0] == 0:
        raise DawgenError(ErrorCode.BAD_REQUEST, "paulstretch: the audio is empty")
    length = output_frames(x.shape[0], rate, stretch, window_seconds, loop)
    if length > MAX_OUTPUT_SECONDS * rate:
        raise DawgenError(ErrorCode.BAD_REQUEST, f"paulstretch: {x.shape[0] / rate:.1f} s x {stretch:g} would be "
                                                 f"{length / rate / 60:.0f} minutes; at most "
                                                 f"{MAX_OUTPUT_SECONDS / 60:.0f} minutes (stretch less or a shorter input)")
    window = window_frames(window_seconds, rate)
    return _stretch(x, window, length, loop, np.random.default_rng(seed), check)


def _stretch(x: np.ndarray, window: int, length: int, loop: bool, rng: np.random.Generator,
             check: Callable[[], None] | None) -> np.ndarray:
    n, channels = x.shape
    hop = window // 2
    # the input advances `n` samples over the stretched span (the loop's, or the length less its window)
    span = length if loop else length - window
    rate_in = n / span
    k = np.arange(window)
    analysis = 0.5 - 0.5 * np.cos(2 * np.pi * (k + 0.5) / window)  # Hann: clean magnitudes
    synthesis = np.sin(np.pi * (k + 0.5) / window)  # sin^2 at half-window hops sums to 1
    gain = 1.0 / math.sqrt(float(np.mean(analysis ** 2)))  # a frame's power back to the input's
    frames = length // hop if loop else (length - window + hop - 1) // hop + 1
    out = np.zeros((length + (0 if loop else window), channels), np.float32)
    for f in range(frames):
        if check is not None and f % 256 == 0:
            check()
        frame = _read(x, round(f * hop * rate_in) - hop, window, loop) * analysis[:, None]
        magnitude = np.abs(np.fft.rfft(frame, axis=0))
        # one set of phases for every channel: a mono input stays mono, the stereo image its magnitudes give stays
        phase = np.exp(2j * np.pi * rng.random(magnitude.shape[0]))[:, None]
        grain = np.fft.irfft(magnitude * phase, n=window, axis=0) * (synthesis * gain)[:, None]
        _add(out, grain.astype(np.float32), f * hop, loop, length)
    if loop:
        return out[:length]
    out = out[:length]
    fade = min(hop, length)  # the last frame is cut at the length: fade it out rather than click
    out[length - fade:] *= np.cos(0.5 * np.pi * (np.arange(fade) + 0.5) / fade)[:, None].astype(np.float32)
    return out


def _read(x: np.ndarray, start: int, window: int, loop: bool) -> np.ndarray:
    """`window` samples of x from `start`: circular for a loop, zeros outside it otherwise."""
    n = x.shape[0]
    if loop:
        return x[(start + np.arange(window)) % n]
    frame = np.zeros((window, x.shape[1]), np.float32)
    lo, hi = max(start, 0), min(start + window, n)
    if hi > lo:
        frame[lo - start:hi - start] = x[lo:hi]
    return frame


def _add(out: np.ndarray, grain: np.ndarray, at: int, loop: bool, length: int) -> None:
    if not loop:
        out[at:at + grain.shape[0]] += grain
        return
    at %= length
    first = min(grain.shape[0], length - at)
    out[at:at + first] += grain[:first]
    out[:grain.shape[0] - first] += grain[first:]  # the frames past the end wrap into the start
