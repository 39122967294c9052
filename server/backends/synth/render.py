"""The synth backend's single entry point: prompt + params -> stereo float32 audio.

This is plain DSP synthesis (numpy/scipy oscillators, noise, filters and envelopes driven by a
table of prompt words), NOT a neural network or any trained model: it downloads nothing, knows
only the words listed in words.py, and its sounds are recipes, not learned from recordings. It is
the default backend so dawgen works out of the box, fast and fully deterministic per seed.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...params import BPM_MAX, BPM_MIN
from . import dsp, loops, voices, words
from .words import parse_note

__all__ = ["KINDS", "MAX_SECONDS", "PEAK", "Rendered", "parse_note", "render"]

KINDS: tuple[str, ...] = tuple(voices.VOICES) + ("loop",)
PEAK = 10 ** (-1 / 20)  # -1 dBFS: loud enough to audition, with headroom for inter-sample peaks
MAX_SECONDS = 180.0     # one render is held in memory as float64 stereo; keep it bounded


@dataclass
class Rendered:
    samples: np.ndarray  # float32, (frames, 2), peak <= PEAK
    kind: str            # "kick", ..., "loop"
    meta: dict[str, Any]


def _check_range(name: str, value: float, lo: float, hi: float) -> float:
    value = float(value)
    if not (math.isfinite(value) and lo <= value <= hi):
        raise ValueError(f"{name} must be between {lo:g} and {hi:g}, got {value!r}")
    return value


def render(prompt: str, *, seed: int, sample_rate: int = 48000, seconds: float | None = None,
           bpm: float = 120.0, bars: float | None = None, note: int | None = None,
           tone: float | None = None, decay: float = 1.0, swing: float = 0.0,
           progress: Callable[[float], None] | None = None, beats_per_bar: float = 4.0) -> Rendered:
    """Synthesise what `prompt` names. Same arguments and seed -> bit-identical samples.

    `progress(fraction)` is called with increasing fractions; whatever it raises (the engine's
    cancel) propagates untouched.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if (isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, np.integer))
            or not 8000 <= sample_rate <= 384000):
        raise ValueError(f"sample_rate must be an integer between 8000 and 384000, got {sample_rate!r}")
    sr = int(sample_rate)
    bpm = _check_range("bpm", bpm, BPM_MIN, BPM_MAX)  # the range requests are checked against
    decay = _check_range("decay", decay, 0.1, 4.0)
    swing = _check_range("swing", swing, 0.0, 0.75)
    if tone is not None:
        tone = _check_range("tone", tone, 0.0, 1.0)
    if seconds is not None:
        seconds = _check_range("seconds", seconds, 1e-4, MAX_SECONDS)
    if bars is not None:
        bars = _check_range("bars", bars, 1.0 / 16, 1000.0)
    if note is not None and (isinstance(note, bool) or not isinstance(note, (int, np.integer)) or not 0 <= note <= 127):
        raise ValueError(f"note must be a MIDI note number 0-127, got {note!r}")

    report = progress or (lambda fraction: None)
    parsed = words.parse(str(prompt))
    rng = np.random.default_rng(int(seed))  # the only source of randomness, passed all the way down
    meta: dict[str, Any] = {"kind": parsed.kind, "traits": list(parsed.traits), "matched": parsed.matched,
                            "words": list(parsed.words), "note": None, "synthesis": "dsp"}
    report(0.05)

    if parsed.kind == "loop":
        if bars is None:
            # Only seconds given: the nearest whole number of beats (at least one), as bars of 4/4.
            bars = 2.0 if seconds is None else max(1, round(seconds * bpm / 60)) / beats_per_bar
        if bars * beats_per_bar * 60 / bpm > MAX_SECONDS:
            raise ValueError(f"{bars:g} bars at {bpm:g} bpm is longer than {MAX_SECONDS:g} s")
        note = note if note is not None else parsed.note  # tunes the loop's kick when given
        result = loops.render_loop(sr, rng, parsed.traits, parsed.style, bpm=bpm, bars=bars, swing=swing,
                                   tone=tone, decay=decay, kick_note=note,
                                   progress=lambda f: report(0.05 + 0.9 * f), beats_per_bar=beats_per_bar)
        audio = result.samples
        meta.update(note=note, bpm=bpm, bars=bars, style=result.style, swing=result.swing, seamless=True,
                    hits=[[int(h.step) if float(h.step).is_integer() else h.step, h.voice] for h in result.hits])
    else:
        if parsed.kind in voices.PITCHED:
            note = note if note is not None else parsed.note
            if note is None:
                note = voices.pick_note(parsed.kind, parsed.traits, rng)
            meta["note"] = int(note)
        opts = voices.VoiceOpts(seconds=seconds, note=None if note is None else int(note), tone=tone,
                                decay=decay, bpm=bpm)
        audio = voices.VOICES[parsed.kind](sr, rng, parsed.traits, opts)
        report(0.9)

    out = dsp.normalize(dsp.to_stereo(audio), PEAK).astype(np.float32)
    if not np.all(np.isfinite(out)):  # a bug, never a sound: refuse rather than hand a DAW NaNs
        raise RuntimeError(f"synth produced non-finite samples for {prompt!r}")
    meta["seconds"] = out.shape[0] / sr
    report(1.0)
    return Rendered(np.ascontiguousarray(out), parsed.kind, meta)
