"""Objective figures of harmony (numpy; bench/midi_harmony.py and the tests).

Lines are (start 16th, duration, key-relative pitch) notes, tonic C; `chords` a chord token per
16th step. Each figure is a fraction in 0..1 (NaN when there is nothing to count).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from . import chords as C
from .vocab import VOICE_RANGES

Line = Sequence[tuple[int, int, int]]
MAJOR = {0, 2, 4, 5, 7, 9, 11}
MINOR = {0, 2, 3, 5, 7, 8, 10, 11}  # natural minor + the leading tone


def _frac(hits: int, total: int) -> float:
    return hits / total if total else float("nan")


def notes_in_key(line: Line, minor: bool) -> float:
    scale = MINOR if minor else MAJOR
    return _frac(sum(1 for _, _, p in line if p % 12 in scale), len(line))


def chord_tones_on_strong_beats(line: Line, chords: Sequence[int], bar: int) -> float:
    """Of the notes starting on a strong beat (the bar's first beat, and its middle in even bars),
    the share that are tones of the chord sounding."""
    strong = {0, bar // 2} if bar % 8 == 0 else {0}
    hits = total = 0
    for s, _, p in line:
        if s % bar in strong and s < len(chords) and chords[s]:
            total += 1
            chord = C.from_token(int(chords[s]))
            hits += int(chord is not None and p % 12 in chord.pcs)
    return _frac(hits, total)


def bass_on_root_or_fifth(line: Line, chords: Sequence[int]) -> float:
    """At each chord change, does the bass sounding there play the chord's root or fifth."""
    sounding = np.full(len(chords), -1)
    for s, d, p in line:
        sounding[s: s + d] = p
    hits = total = 0
    for t in range(len(chords)):
        if chords[t] and (t == 0 or chords[t] != chords[t - 1]):
            chord = C.from_token(int(chords[t]))
            if chord is None or sounding[t] < 0:
                continue
            total += 1
            hits += int(sounding[t] % 12 in (chord.root, chord.fifth()))
    return _frac(hits, total)


def in_ranges(voices: np.ndarray) -> float:
    """voices: (4, beats) S, A, T, B pitches (-1 rest): share of sounding pitches in their voice's range."""
    hits = total = 0
    for v, name in enumerate(("soprano", "alto", "tenor", "bass")):
        lo, hi = VOICE_RANGES[name]
        row = voices[v][voices[v] >= 0]
        hits += int(((row >= lo) & (row <= hi)).sum())
        total += len(row)
    return _frac(hits, total)


def crossings(voices: np.ndarray) -> float:
    """Share of beats where a lower voice sounds above the one over it."""
    ok = (voices >= 0).all(0)
    v = voices[:, ok]
    crossed = (v[1] > v[0]) | (v[2] > v[1]) | (v[3] > v[2])
    return _frac(int(crossed.sum()), v.shape[1])


def parallels(voices: np.ndarray) -> float:
    """Parallel fifths or octaves (two voices a perfect fifth/octave apart moving the same way to
    another perfect fifth/octave of the same kind) per beat-to-beat transition."""
    count = total = 0
    for t in range(voices.shape[1] - 1):
        a, b = voices[:, t], voices[:, t + 1]
        if (a < 0).any() or (b < 0).any():
            continue
        total += 1
        for i in range(4):
            for j in range(i + 1, 4):
                i1, i2 = (a[i] - a[j]) % 12, (b[i] - b[j]) % 12
                moved = a[i] != b[i] and np.sign(b[i] - a[i]) == np.sign(b[j] - a[j])
                if moved and i1 == i2 and i1 in (0, 7):
                    count += 1
    return _frac(count, total)


def agreement(predicted: Sequence[int], truth: Sequence[int]) -> tuple[float, float]:
    """(root, root + quality) agreement of chord tokens per beat, over beats where truth has a chord."""
    root = both = total = 0
    for p, t in zip(predicted, truth):
        tc, pc = C.from_token(int(t)), C.from_token(int(p))
        if tc is None:
            continue
        total += 1
        if pc is not None and pc.root == tc.root:
            root += 1
            both += int(C.as_triad(pc).quality == C.as_triad(tc).quality)
    return _frac(root, total), _frac(both, total)


def random_line(line: Line, minor: bool, low: int, high: int, rng: np.random.Generator) -> list[tuple[int, int, int]]:
    """The random baseline: the same rhythm, each pitch drawn from the key's scale in [low, high]."""
    scale = sorted(MINOR - {11} if minor else MAJOR)
    pool = [p for p in range(low, high + 1) if p % 12 in scale]
    return [(s, d, int(rng.choice(pool))) for s, d, _ in line]
