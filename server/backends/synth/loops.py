"""Drum loops: N bars of 4/4 on a 16th-note grid, patterns picked by style, varied by the seed.

Timing is exact: step s starts at frame round(s * 60 / bpm / 4 * sr) (plus swing on off-beat 16ths)
and the loop is round(bars * 4 * 60 / bpm * sr) frames long, so a DAW at the same tempo lines it
up with its own grid whatever the sample rate or a fractional bpm.

Tails that run past the end are WRAPPED to the start, not cut: the file is made to be looped, and
wrapping is exactly what the loop sounds like from its second repeat on. Cutting would drop the
tail of the last hits (open hat, 808) at every loop point - an audible hole at the seam.
Kicks and hats are choked like on a drum machine (a new kick or hat stops the ringing one), so
808 tails never pile up and a kick onset is never smeared by the previous kick.
(The lofi style's sample-and-hold and low-pass shift onsets by a few samples, < 0.2 ms: that is
the point of the effect, and the only place timing is not sample-exact.)
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from . import dsp
from .voices import VOICES, VoiceOpts, pick_note

STEPS_PER_BAR = 16
_VEL = {"X": 1.0, "x": 0.8, "g": 0.3}  # accent, normal, ghost
_MIX = {"kick": 1.0, "snare": 0.75, "clap": 0.7, "rim": 0.5, "hat_closed": 0.33, "hat_open": 0.3, "perc": 0.35}
_PAN = {"hat_closed": 0.2, "hat_open": -0.15, "perc": -0.35, "rim": 0.25}
_CHOKE = {"kick": "kick", "hat_closed": "hat", "hat_open": "hat"}


@dataclass(frozen=True)
class Style:
    voices: Mapping[str, tuple[str, ...]]  # voice -> variants of one bar, 16 chars: X x g .
    fills: tuple[str, ...] = ()            # snare bars for the end of a phrase
    ghost: float = 0.0                     # chance of a ghost snare on an empty off-beat 16th
    swing: float = 0.0                     # used when the caller asks for no swing
    rolls: bool = False                    # trap hi-hat rolls in 32nds
    kick_traits: tuple[str, ...] = ()
    kick_level: float = 1.0                # an 808 carries far more energy than a short kick
    lofi: float = 0.0                      # dusty-sampler processing of the whole mix


_EMPTY = "." * 16
STYLES: dict[str, Style] = {
    "basic": Style(
        {"kick": ("X.....x...x.....", "X.....x.x.......", "X......xx.x.....", "X.x...x...x....."),
         "snare": ("....X.......X...",),
         "hat_closed": ("x.x.x.x.x.x.x.x.", "xxxxxxxxxxxxxxxx", "X.x.X.x.X.x.X.x."),
         "hat_open": (_EMPTY, _EMPTY, "..............x.")},
        fills=("....X.......X.gX", "....X.......Xxxx", "....X.....g.X.X."), ghost=0.12),
    "lofi": Style(
        {"kick": ("X.........x.....", "X......x..x.....", "X.....x...x..x..", "X.x.......X....."),
         "snare": ("....X.......X...",),
         "hat_closed": ("x.x.x.x.x.x.x.x.", "x.xxx.xxx.xxx.x.", "X.x.X.x.X.x.X.xx")},
        fills=("....X.......X.g.", "....X..g....X..g"), ghost=0.15, swing=0.3, lofi=1.0),
    "house": Style(
        {"kick": ("X...X...X...X...",),
         "clap": ("....X.......X...",),
         "hat_closed": ("xxxxxxxxxxxxxxxx", "x.x.x.x.x.x.x.x.", ".x.x.x.x.x.x.x.x"),
         "hat_open": ("..x...x...x...x.",),
         "perc": (_EMPTY, "..x..x....x..x..", "...x..x....x..x.")}),
    "trap": Style(
        {"kick": ("X......x..x.....", "X.....x...x..x..", "X..x......x.....", "X......X.X......"),
         "clap": ("........X.......",),
         "hat_closed": ("xxxxxxxxxxxxxxxx", "x.x.x.x.x.x.x.x.")},
        rolls=True, kick_traits=("boom",), kick_level=0.6),
    "breakbeat": Style(
        {"kick": ("X.x.......xx....", "X.x.......x.....", "X.........x..x.."),
         "snare": ("....X..x.x..X..x", "....X.......X...", "....X..x.g..X..."),
         "hat_closed": ("x.x.x.x.x.x.x.x.", "xxxxxxxxxxxxxxxx"),
         "hat_open": (_EMPTY, "..........x.....")},
        fills=("....X..x.x..XxXx",), ghost=0.2),
}


@dataclass(frozen=True)
class Hit:
    step: float  # 16ths from the loop start; x.5 = a 32nd (trap rolls)
    voice: str
    vel: float


@dataclass
class LoopResult:
    samples: np.ndarray  # (frames, 2) float64, not normalised
    hits: list[Hit]
    style: str
    swing: float
    bars: float
    bpm: float


def loop_frames(bars: float, bpm: float, sr: int, beats_per_bar: float = 4.0) -> int:
    """Exact loop length; tempo counts quarter notes (a 7/8 bar is 3.5 beats), as in DAWs."""
    return int(round(bars * beats_per_bar * 60 / bpm * sr))


def _fit(pattern: str, steps: int) -> str:
    """A 16-step bar pattern cut (3/4, 7/8) or extended by repeating its start (5/4) to `steps`."""
    return (pattern * (steps // len(pattern) + 1))[:steps]


def step_frame(step: float, bpm: float, sr: int, swing: float = 0.0) -> int:
    """Frame of a grid step. Swing delays odd 16ths by swing/1.5 of a 16th: 0.5 = triplet feel, 0.75 = hard shuffle."""
    pos = step * 60 / bpm / 4 * sr
    if swing and float(step).is_integer() and int(step) % 2 == 1:
        pos += swing / 1.5 * 60 / bpm / 4 * sr
    return int(round(pos))


def make_pattern(style: Style, bars: float, rng: np.random.Generator, steps_per_bar: int = STEPS_PER_BAR) -> list[Hit]:
    """Hits for the whole loop: a main variant per voice, a varied kick on some bars, fills, ghosts, rolls."""
    n_bars = max(1, math.ceil(bars - 1e-9))
    main = {v: int(rng.integers(len(variants))) for v, variants in style.voices.items()}
    hits: list[Hit] = []
    for bar in range(n_bars):
        chosen = dict(main)
        if bar % 2 == 1 and len(style.voices["kick"]) > 1 and rng.random() < 0.4:
            chosen["kick"] = int(rng.integers(len(style.voices["kick"])))  # call and response
        bar_hits: dict[str, dict[float, float]] = {}
        for voice, variants in style.voices.items():
            pattern = _fit(variants[chosen[voice]], steps_per_bar)
            phrase_end = n_bars > 1 and (bar % 4 == 3 or bar == n_bars - 1)
            if voice == "snare" and style.fills and phrase_end and rng.random() < 0.6:
                pattern = _fit(style.fills[int(rng.integers(len(style.fills)))], steps_per_bar)
            spread = 0.12 if voice in ("hat_closed", "hat_open", "perc") else 0.05
            bar_hits[voice] = {float(s): float(np.clip(_VEL[c] * (1 + rng.normal(0, spread)), 0.1, 1.0))
                               for s, c in enumerate(pattern) if c != "."}
        if style.ghost:
            snares = bar_hits.setdefault("snare", {})
            for s in range(1, steps_per_bar, 2):
                if rng.random() < style.ghost and s not in snares and s - 1 not in snares:
                    snares[float(s)] = float(rng.uniform(0.15, 0.3))
        hats = bar_hits.get("hat_closed", {})
        if style.rolls and rng.random() < 0.6:
            start = float(rng.choice([s for s in (6, 10, 12, 14) if s + 2 <= steps_per_bar] or [steps_per_bar - 2]))
            for s in (start, start + 1):
                hats.pop(s, None)
            for k in range(4):  # four 32nds over two 16ths, getting louder
                hats[start + k / 2] = 0.45 + 0.15 * k
        for s in bar_hits.get("hat_open", {}):
            hats.pop(s, None)  # open and closed hat on one step: the open one wins
        for voice, steps in bar_hits.items():
            hits += [Hit(bar * steps_per_bar + s, voice, v) for s, v in sorted(steps.items())]
    limit = bars * steps_per_bar
    return sorted((h for h in hits if h.step < limit - 1e-9), key=lambda h: (h.step, h.voice))


def _add_wrapped(buf: np.ndarray, x: np.ndarray, pos: int) -> None:
    """Mix x into buf at pos; whatever runs past the end continues at the start (seamless loop)."""
    n, i, pos = len(buf), 0, pos % len(buf)
    while i < len(x):
        k = min(len(x) - i, n - pos)
        buf[pos:pos + k] += x[i:i + k]
        i, pos = i + k, 0


def render_loop(sr: int, rng: np.random.Generator, traits: Mapping[str, float], style_name: str | None, *,
                bpm: float, bars: float, swing: float = 0.0, tone: float | None = None, decay: float = 1.0,
                kick_note: int | None = None, progress: Callable[[float], None] | None = None,
                only: Sequence[str] | None = None, beats_per_bar: float = 4.0) -> LoopResult:
    """Render a loop. `kick_note` tunes the kick (e.g. a trap 808 to the song's key). `only` keeps just
    some voices (e.g. ("kick",) for measuring timing); it changes neither the pattern nor the random
    draws, so the kept voices are exactly those of the full loop."""
    report = progress or (lambda fraction: None)
    name = style_name if style_name in STYLES else "basic"
    style = STYLES[name]
    swing = swing if swing > 0 else style.swing
    n = loop_frames(bars, bpm, sr, beats_per_bar)
    steps_per_bar = max(2, int(round(beats_per_bar * 4)))  # 16ths per bar
    hits = make_pattern(style, bars, rng, steps_per_bar)

    # One sample per voice (two for closed hats, alternated, so 16ths don't sound machine-gunned).
    voice_traits = {k: v for k, v in traits.items() if k != "lofi"}  # lofi is applied to the mix
    opts = VoiceOpts(tone=tone, decay=decay, bpm=bpm)
    names = list(style.voices) + (["snare"] if style.ghost and "snare" not in style.voices else [])
    samples: dict[str, list[np.ndarray]] = {}
    for i, voice in enumerate(names):
        vt = dict(voice_traits)
        if voice == "kick":
            vt.update({t: 1.0 for t in style.kick_traits})
            note = pick_note("kick", vt, rng)  # drawn even when overridden: same draws, same pattern
            vopts = VoiceOpts(tone=tone, decay=decay, bpm=bpm, note=note if kick_note is None else kick_note)
        else:
            vopts = opts
        count = 2 if voice == "hat_closed" else 1
        takes = [VOICES[voice](sr, rng, vt, vopts) for _ in range(count)]
        level = _MIX[voice] * (style.kick_level if voice == "kick" else 1.0)
        samples[voice] = [level * dsp.normalize(s, 1.0) for s in takes]
        report(0.5 * (i + 1) / len(names))

    # Choke: each hit in a choke group may only ring until the next hit of its group (cyclically).
    placed = [h for h in hits if only is None or h.voice in only]
    positions = [step_frame(h.step, bpm, sr, swing) for h in placed]
    ring = [n] * len(placed)
    for group in set(_CHOKE.values()):
        idx = sorted((i for i, h in enumerate(placed) if _CHOKE.get(h.voice) == group), key=lambda i: positions[i])
        for a, b in zip(idx, idx[1:] + idx[:1]):
            gap = (positions[b] - positions[a]) % n
            ring[a] = gap if gap > 0 else (n if a == b else 0)

    out = np.zeros((n, 2))
    n_bars = max(1, math.ceil(bars - 1e-9))
    taken = dict.fromkeys(samples, 0)
    for bar in range(n_bars):
        for i, h in enumerate(placed):
            if not (bar * steps_per_bar <= h.step < (bar + 1) * steps_per_bar) or positions[i] >= n or ring[i] == 0:
                continue
            takes = samples[h.voice]
            x = takes[taken[h.voice] % len(takes)] * h.vel
            taken[h.voice] += 1
            if len(x) > ring[i]:
                x = dsp.fade_out(x[:ring[i]], sr, 2.0)
            x = dsp.pan(x, _PAN.get(h.voice, 0.0)) if x.ndim == 1 else x
            _add_wrapped(out, x, positions[i])
        report(0.5 + 0.45 * (bar + 1) / n_bars)

    lofi = max(style.lofi, traits.get("lofi", 0.0))
    if lofi > 0:
        out = dsp.lofi(out, sr, rng, lofi, cutoff=6000.0)
    drive = 0.6 * traits.get("hard", 0.0) + 2.0 * traits.get("distorted", 0.0)
    if drive > 0:
        out = dsp.saturate(dsp.normalize(out, 1.0), 1.0 + drive)
    return LoopResult(out, hits, name, float(swing), float(bars), float(bpm))
