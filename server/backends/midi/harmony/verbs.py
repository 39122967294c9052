"""The harmony verbs (torch): `midi/generate kind=chords|bass|piano|trio`, `midi/harmonize`,
`midi/bassline`, `midi/improvise`, over the models the midi backend loaded (`models[kind]`).

Pitches are worked out with the tonic at C and moved to `key` at the end; chord symbols are
written in the key as markers (smfout.py) and listed in each file's sidecar (`meta["chords"]`).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ....output.naming import slugify
from ...base import Midi
from .. import spec as S
from .. import vocab as V
from ..smf import DRUM_CHANNEL, PPQ, Clip, Note, read_clip, top_line
from . import chords as C
from . import plan as P
from . import sample as HS
from . import vocab as HV

STEP = PPQ // 4  # ticks of a 16th


@dataclass
class Frame:
    """What every output of one request shares: grid, tempo, meter, key."""

    grid: P.Grid
    bpm: float
    num: int
    den: int
    tonic: int
    minor: bool
    scale: str

    @property
    def shift(self) -> int:  # semitones from C up (or down) to the tonic: nearest the trained register
        return self.tonic if self.tonic <= 6 else self.tonic - 12

    @property
    def bar_ticks(self) -> int:
        return self.grid.bar * STEP

    @property
    def length(self) -> int:
        return self.grid.steps * STEP


def _frame(p: Mapping[str, Any], bars: int, rhythm: str, key: tuple[int, bool], num: int, den: int,
           bpm: float) -> Frame:
    bar_steps = max(1, 16 * num // den)
    tonic, minor = P.tonic_of(p, key)
    scale = str(p.get("scale") or ("minor" if minor else "major"))
    return Frame(P.grid(bars, bar_steps, rhythm), bpm, num, den, tonic, scale in V.MINOR_SCALES, scale)


def _notes(line: Sequence[tuple[int, int, int]], f: Frame, channel: int = 0, velocity: int = 88) -> list[Note]:
    out = []
    for s, d, pitch in line:
        accent = 10 if s % f.grid.bar == 0 else 0
        out.append(Note(s * STEP, d * STEP, max(0, min(127, pitch + f.shift)), min(127, velocity + accent), channel))
    return out


class Harmony:
    """The harmony verbs over loaded models; `drums` samples the drum model (for trios)."""

    def __init__(self, models: Mapping[str, Any], drums: Callable[[int, torch.Generator], list[Note]]) -> None:
        self.models = models
        self.drums = drums

    # -- chords ----------------------------------------------------------------------------------
    def progression(self, f: Frame, p: Mapping[str, Any], gen: torch.Generator,
                    melody: np.ndarray | None = None) -> list[C.Chord]:
        """Key-relative chords per slot: `chords=` when given, else sampled from the chord model."""
        if p.get("chords"):
            given = [c.transposed(-f.tonic) for c in C.parse_progression(str(p["chords"]))]
            return C.spread(given, len(f.grid.starts()))
        complexity = float(p.get("complexity", 0.5))
        temp = float(p.get("temperature", 1.0)) * (0.5 + complexity)
        mask = HS.chord_mask(V.SCALES[f.scale], f.minor, complexity if melody is None else 1.0)
        beats = HS.sample_chords(self.models["chords"], f.grid.beats, f.grid.beats_per_bar, f.grid.changes(), f.minor,
                                 temp, gen, mask, melody)
        chords = [C.from_token(beats[s // P.BEAT]) or C.Chord(0, 0) for s in f.grid.starts()]
        if str(p.get("voicing") or "triad") == "seventh":
            chords = [C.with_seventh(c, dominant=c.root == 7) for c in chords]
        return chords

    def chord_notes(self, chords: Sequence[C.Chord], f: Frame, voicing: str) -> list[Note]:
        out, prev = [], None
        ends = f.grid.starts()[1:] + [f.grid.steps]
        for start, end, chord in zip(f.grid.starts(), ends, chords):
            pitches = C.voice(chord, voicing, prev)
            prev = pitches[1:] if voicing != "open" else pitches
            vel = 84 if start % f.grid.bar == 0 else 76
            out += [Note(start * STEP, (end - start) * STEP, max(0, min(127, p + f.shift)), vel, 0) for p in pitches]
        return out

    # -- lines -----------------------------------------------------------------------------------
    def line(self, part: str, chords: Sequence[C.Chord], f: Frame, p: Mapping[str, Any], gen: torch.Generator,
             temperature: float | None = None) -> list[tuple[int, int, int]]:
        per_step = [c.token for c in f.grid.per_step(chords)]
        temp = float(p.get("temperature", 1.0)) if temperature is None else temperature
        return HS.sample_line(self.models[part], per_step, f.grid.bar, f.minor, temp, gen,
                              float(p.get("density", 0.5)), V.SCALES[f.scale])

    def four_part(self, soprano: Sequence[tuple[int, int, int]], chords: Sequence[C.Chord], f: Frame,
                  gen: torch.Generator, temperature: float, voices: int = 4) -> list[Note]:
        """The soprano line plus alto, tenor, bass per beat from the voicing model (`voices` of them
        kept: 4 = SATB, 3 = STB, 2 = SB)."""
        sop = np.full(f.grid.steps, -1)
        for s, d, pitch in soprano:
            sop[s: s + d] = pitch
        per_step = f.grid.per_step(chords)
        beat_chords = [per_step[min(len(per_step) - 1, b * P.BEAT)].token for b in range(f.grid.beats)]
        atb = HS.sample_voices(self.models["voicing"], [int(sop[min(len(sop) - 1, b * P.BEAT)]) for b in range(f.grid.beats)],
                               beat_chords, f.grid.beats_per_bar, temperature, gen)
        keep = {4: (0, 1, 2), 3: (1, 2), 2: (2,)}[voices]
        lines: list[tuple[int, int, int]] = list(soprano)
        for v in keep:
            run: tuple[int, int, int] | None = None
            for b, pitches in enumerate(atb):
                start, dur = b * P.BEAT, min(P.BEAT, f.grid.steps - b * P.BEAT)
                if run and run[2] == pitches[v] and beat_chords[b] == beat_chords[b - 1]:
                    run = (run[0], run[1] + dur, run[2])
                    continue
                if run:
                    lines.append(run)
                run = (start, dur, pitches[v])
            if run:
                lines.append(run)
        return _notes(lines, f, 0, 80)

    # -- outputs ---------------------------------------------------------------------------------
    def write(self, tracks: list[tuple[str, list[Note]]], chords: Sequence[C.Chord], f: Frame, seed: int,
              stem: str, **meta: Any) -> Midi:
        from .smfout import write_tracks

        events, listed = P.symbol_events(chords, f.grid, f.tonic, STEP, f.bar_ticks)
        data = write_tracks(tracks, f.bpm, f.num, f.den, PPQ, f.length, events)
        key = C.NAMES[f.tonic] + ("m" if f.minor else "")
        info = {"name": stem, "bpm": f.bpm, "time_signature": f"{f.num}/{f.den}", "ppq": PPQ, "bars": f.grid.bars,
                "key": key, "scale": f.scale, "chords": listed, "tracks": [n for n, _ in tracks],
                "notes": sum(len(n) for _, n in tracks), **meta}
        return Midi(data=data, seed=seed, meta=info)


def bpm_meter(p: Mapping[str, Any], clip: Clip | None = None) -> tuple[float, int, int]:
    num, den = S.meter(p) if (p.get("time_signature") or clip is None) else (clip.numerator, clip.denominator)
    return float(p.get("bpm") or (clip.bpm if clip else S.DEFAULT_BPM)), num, den


def read_input(p: Mapping[str, Any]) -> tuple[Clip, str]:
    path = S.input_path(p, "input")
    try:
        clip = read_clip(path)
    except ValueError as exc:
        raise ValueError(f"input: {exc}") from None
    return (clip.rescaled(PPQ) if clip.ppq != PPQ else clip), slugify(Path(path).stem, fallback="clip")


def melody_line(clip: Clip) -> list[tuple[int, int, int]]:
    line = top_line(clip)
    if not line:
        raise ValueError("input: no melody notes (all of its notes are drums on channel 10)")
    return line


def melody_features(line: Sequence[tuple[int, int, int]], shift: int, steps: int) -> np.ndarray:
    arr = np.full(steps, -1)
    for s, d, pitch in line:
        if s < steps:
            arr[s: s + d] = pitch - shift
    return HV.melody_features(arr, -(-steps // P.BEAT), P.BEAT)


def drum_channel_notes(notes: Sequence[Note]) -> list[Note]:
    return [n if n.channel == DRUM_CHANNEL else Note(n.tick, n.dur, n.pitch, n.velocity, DRUM_CHANNEL) for n in notes]
