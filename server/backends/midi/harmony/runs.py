"""One function per harmony verb (torch): parameters → Frame → models → files (verbs.py)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from ....output.naming import daw_suffix
from ...base import Output, RunContext
from .. import spec as S
from ..data import find_key
from . import chords as C
from . import plan as P
from .verbs import Harmony, _frame, _notes, bpm_meter, drum_channel_notes, melody_features, melody_line, read_input

TRACKS = {"chords": "Chords", "bass": "Bass", "piano": "Piano"}


def _default_key(p: Mapping[str, Any]) -> tuple[int, bool]:
    if p.get("chords"):
        return P.symbols_key(C.parse_progression(str(p["chords"])))
    return 0, False


def _bars_for_symbols(p: Mapping[str, Any], bar_steps: int, rhythm: str) -> int:
    """`bars`, else as many bars as the `chords=` symbols fill (one per slot), else the default."""
    bars = S.whole_bars(p, None)
    if bars:
        return bars
    if p.get("chords"):
        per_bar = len(P.grid(1, bar_steps, rhythm).starts())
        return max(1, min(S.MAX_BARS, -(-len(C.parse_progression(str(p["chords"]))) // per_bar)))
    return S.DEFAULT_BARS


def generate(h: Harmony, ctx: RunContext) -> list[Output]:
    p = ctx.params
    kind = str(p.get("kind"))
    bpm, num, den = bpm_meter(p)
    rhythm = str(p.get("chord_rhythm") or "bar")
    f = _frame(p, _bars_for_symbols(p, max(1, 16 * num // den), rhythm), rhythm, _default_key(p), num, den, bpm)
    voicing = str(p.get("voicing") or "triad")
    temp = float(p.get("temperature", 1.0))
    outs: list[Output] = []
    all_seeds = S.seeds(p)
    for i, seed in enumerate(all_seeds):
        ctx.progress(i / len(all_seeds), "generating")
        gen = torch.Generator().manual_seed(seed)
        chords = h.progression(f, p, gen)
        if kind == "chords":
            tracks = [("Chords", h.chord_notes(chords, f, voicing))]
        elif kind == "bass":
            tracks = [("Bass", _notes(h.line("bass", chords, f, p, gen), f, 0, 92))]
        elif kind == "piano":
            melody = [(s, d, pt) for s, d, pt in h.line("improv", chords, f, p, gen, temperature=0.8 * temp)]
            tracks = [("Piano", h.four_part(melody, chords, f, gen, 0.8 * temp))]
        else:  # trio: one progression under melody, bass and drums
            melody = h.line("improv", chords, f, p, gen)
            bass = h.line("bass", chords, f, p, gen)
            drums = drum_channel_notes(h.drums(f.grid.steps, gen, f.grid.bar))
            tracks = [("Melody", _notes(melody, f, 0, 92)), ("Bass", _notes(bass, f, 1, 96)), ("Drums", drums)]
        key = C.NAMES[f.tonic] + ("m" if f.minor else "")
        stem = "_".join(x for x in (kind, str(seed), daw_suffix(bpm, key, f.grid.bars)) if x)
        outs.append(h.write(tracks, chords, f, seed, stem, kind=kind, chord_rhythm=rhythm, voicing=voicing))
    return outs


def harmonize(h: Harmony, ctx: RunContext) -> list[Output]:
    p = ctx.params
    clip, stem_in = read_input(p)
    line = melody_line(clip)
    bpm, num, den = bpm_meter(p, clip)
    voices = int(p["voices"]) if p.get("voices") else None
    rhythm = str(p.get("chord_rhythm") or ("beat" if voices else "bar"))
    bars = S.whole_bars(p, None) or clip.bars
    f = _frame(p, bars, rhythm, find_key([n[2] for n in line], [n[1] for n in line]), num, den, bpm)
    line = [(s, min(d, f.grid.steps - s), pt) for s, d, pt in line if s < f.grid.steps]
    feats = melody_features(line, f.shift, f.grid.steps)
    temp = float(p.get("temperature", 1.0))
    outs: list[Output] = []
    all_seeds = S.seeds(p)
    for i, seed in enumerate(all_seeds):
        ctx.progress(i / len(all_seeds), "harmonizing")
        gen = torch.Generator().manual_seed(seed)
        chords = h.progression(f, {**p, "chords": None, "temperature": 0.7 * temp}, gen, melody=feats)
        if voices:
            relative = [(s, d, pt - f.shift) for s, d, pt in line]
            tracks = [("Harmony", h.four_part(relative, chords, f, gen, 0.7 * temp, voices))]
        else:
            tracks = [("Chords", h.chord_notes(chords, f, str(p.get("voicing") or "triad")))]
        outs.append(h.write(tracks, chords, f, seed, f"{stem_in}_harmony_{seed}", kind="harmony", voices=voices,
                            chord_rhythm=rhythm))
    return outs


def _over_chords(h: Harmony, ctx: RunContext, part: str, stage: str, track: str) -> list[Output]:
    p = ctx.params
    rhythm = str(p.get("chord_rhythm") or "bar")
    if p.get("input"):
        clip, stem_in = read_input(p)
        bpm, num, den = bpm_meter(p, clip)
        bars = S.whole_bars(p, None) or clip.bars
        f = _frame(p, bars, rhythm, (0, False), num, den, bpm)
        absolute = P.clip_chords(clip, P.grid(clip.bars, clip.bar_steps, rhythm), "input")
        if not p.get("key"):
            tonic, minor = P.symbols_key(absolute)
            f = _frame({**p, "key": C.NAMES[tonic] + ("m" if minor else "")}, bars, rhythm, (0, False), num, den, bpm)
        chords = C.spread([c.transposed(-f.tonic) for c in absolute], len(f.grid.starts()))
    else:
        bpm, num, den = bpm_meter(p)
        f = _frame(p, _bars_for_symbols(p, max(1, 16 * num // den), rhythm), rhythm, _default_key(p), num, den, bpm)
        chords = [c.transposed(-f.tonic) for c in C.parse_progression(str(p["chords"]))]
        chords = C.spread(chords, len(f.grid.starts()))
        stem_in = "chords"
    outs: list[Output] = []
    all_seeds = S.seeds(p)
    for i, seed in enumerate(all_seeds):
        ctx.progress(i / len(all_seeds), stage)
        gen = torch.Generator().manual_seed(seed)
        notes = _notes(h.line(part, chords, f, p, gen), f, 0, 92)
        outs.append(h.write([(track, notes)], chords, f, seed, f"{stem_in}_{track.lower()}_{seed}", kind=part,
                            chord_rhythm=rhythm))
    return outs


def bassline(h: Harmony, ctx: RunContext) -> list[Output]:
    return _over_chords(h, ctx, "bass", "bassline", "Bass")


def improvise(h: Harmony, ctx: RunContext) -> list[Output]:
    return _over_chords(h, ctx, "improv", "improvising", "Melody")


RUNS = {"midi/generate": generate, "midi/harmonize": harmonize, "midi/bassline": bassline, "midi/improvise": improvise}
