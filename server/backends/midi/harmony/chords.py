"""Chord symbols: parse, format, token ids, and inference from notes (no torch here).

A chord is a root pitch class and a quality (QUALITIES, with its intervals). Models see a chord as
a token: 0 = no chord, 1 + root * len(QUALITIES) + quality. Inference is template matching over the
duration-weighted pitch classes of a slice of notes, the lowest note favouring the root, so a MIDI
clip of chords (block, broken or inverted) reads back as the symbols it spells.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

# quality suffix (as written) → intervals above the root
QUALITIES: tuple[tuple[str, tuple[int, ...]], ...] = (
    ("", (0, 4, 7)), ("m", (0, 3, 7)), ("dim", (0, 3, 6)), ("aug", (0, 4, 8)), ("sus4", (0, 5, 7)),
    ("7", (0, 4, 7, 10)), ("maj7", (0, 4, 7, 11)), ("m7", (0, 3, 7, 10)), ("m7b5", (0, 3, 6, 10)),
    ("dim7", (0, 3, 6, 9)),
)
NQ = len(QUALITIES)
N_CHORDS = 1 + 12 * NQ  # tokens, 0 = no chord
TRIADS = frozenset(range(5))  # quality indices of the three-note chords
_ALIASES = {"": "", "maj": "", "M": "", "major": "", "m": "m", "min": "m", "-": "m", "minor": "m",
            "dim": "dim", "o": "dim", "°": "dim", "aug": "aug", "+": "aug", "sus4": "sus4", "sus": "sus4",
            "7": "7", "dom7": "7", "maj7": "maj7", "M7": "maj7", "Δ": "maj7", "Δ7": "maj7", "ma7": "maj7",
            "m7": "m7", "min7": "m7", "-7": "m7", "m7b5": "m7b5", "ø": "m7b5", "ø7": "m7b5", "min7b5": "m7b5",
            "dim7": "dim7", "o7": "dim7", "°7": "dim7"}
_QINDEX = {name: i for i, (name, _) in enumerate(QUALITIES)}
_LETTERS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
NAMES = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
_SYMBOL = re.compile(r"^([A-Ga-g])([#b♯♭]*)(.*?)(?:/([A-Ga-g][#b♯♭]*))?$")


@dataclass(frozen=True)
class Chord:
    root: int  # pitch class 0..11
    quality: int  # index into QUALITIES

    @property
    def intervals(self) -> tuple[int, ...]:
        return QUALITIES[self.quality][1]

    @property
    def pcs(self) -> tuple[int, ...]:
        return tuple((self.root + i) % 12 for i in self.intervals)

    @property
    def symbol(self) -> str:
        return NAMES[self.root] + QUALITIES[self.quality][0]

    @property
    def token(self) -> int:
        return 1 + self.root * NQ + self.quality

    def transposed(self, semitones: int) -> Chord:
        return Chord((self.root + semitones) % 12, self.quality)

    @property
    def is_minor_third(self) -> bool:
        return 3 in self.intervals

    def fifth(self) -> int:
        """The pitch class a fifth above the root (its diminished/augmented fifth where it has one)."""
        for i in (7, 6, 8):
            if i in self.intervals:
                return (self.root + i) % 12
        return (self.root + 7) % 12


def from_token(token: int) -> Chord | None:
    if token <= 0 or token >= N_CHORDS:
        return None
    return Chord((token - 1) // NQ, (token - 1) % NQ)


def _pc(letter: str, accidentals: str) -> int:
    pc = _LETTERS[letter.upper()]
    return (pc + sum(1 if a in "#♯" else -1 for a in accidentals)) % 12


def parse_symbol(text: str) -> Chord:
    """'Dm7' → Chord(2, m7); slash basses ('C/E') are read and dropped. ValueError names the symbol."""
    m = _SYMBOL.match(text.strip())
    suffix = m.group(3) if m else None
    if m is None or suffix not in _ALIASES:
        raise ValueError(f"{text!r} is not a chord symbol this reads (a root A-G with # or b, then one of "
                         f"{', '.join(repr(q) for q, _ in QUALITIES)})")
    return Chord(_pc(m.group(1), m.group(2)), _QINDEX[_ALIASES[suffix]])


def parse_progression(text: str) -> list[Chord]:
    """Space- (or comma/bar-) separated symbols; ValueError when empty or when one does not parse."""
    parts = [p for p in re.split(r"[\s,|]+", text.strip()) if p]
    if not parts:
        raise ValueError("no chord symbols (give e.g. \"Dm7 G7 Cmaj7 Cmaj7\")")
    return [parse_symbol(p) for p in parts]


def infer(weights: Sequence[float], bass: int | None = None) -> Chord | None:
    """The chord whose template best explains a 12-bin pitch-class weight vector (None when silent).

    Score = weight on chord tones - weight off them - a missing-tone penalty (a seventh chord only
    wins over its triad when its seventh really sounds); the lowest pitch class favours the root."""
    total = float(sum(weights))
    if total <= 0:
        return None
    w = [float(x) / total for x in weights]
    best, best_score = None, -1e9
    for root in range(12):
        for q, (_, ivs) in enumerate(QUALITIES):
            tones = {(root + i) % 12 for i in ivs}
            on = sum(w[p] for p in tones)
            missing = sum(1 for p in tones if w[p] < 0.02)
            score = on - (1.0 - on) - 0.25 * missing - (0.06 if len(ivs) > 3 else 0.0)
            score += 0.1 if bass == root else 0.0
            score -= 0.04 if q in (3, 4, 9) else 0.0  # rarer readings lose ties
            if score > best_score:
                best, best_score = Chord(root, q), score
    return best


def slice_weights(notes: Iterable[tuple[int, int, int]], start: int, end: int) -> tuple[list[float], int | None]:
    """(tick, dur, pitch) notes → pitch-class weights of what sounds in [start, end), lowest pitch class."""
    w = [0.0] * 12
    low = None
    for tick, dur, pitch in notes:
        overlap = min(end, tick + dur) - max(start, tick)
        if overlap > 0:
            w[pitch % 12] += overlap
            low = pitch if low is None or pitch < low else low
    return w, (None if low is None else low % 12)


def infer_slots(notes: Sequence[tuple[int, int, int]], slot_ticks: int, slots: int) -> list[Chord | None]:
    """The chord of each `slot_ticks` slice of a clip (None where nothing sounds)."""
    out = []
    for i in range(slots):
        w, bass = slice_weights(notes, i * slot_ticks, (i + 1) * slot_ticks)
        out.append(infer(w, bass))
    return out


def fill_gaps(chords: Sequence[Chord | None]) -> list[Chord]:
    """Silent slots take the chord before (the first ones the first chord); ValueError when none."""
    first = next((c for c in chords if c is not None), None)
    if first is None:
        raise ValueError("no chord could be read from its notes")
    out, last = [], first
    for c in chords:
        last = c or last
        out.append(last)
    return out


def spread(chords: Sequence[Chord], slots: int) -> list[Chord]:
    """A progression looped or cut to `slots` chords."""
    return [chords[i % len(chords)] for i in range(slots)]


def with_seventh(chord: Chord, dominant: bool) -> Chord:
    """The seventh chord of a triad (a dominant seventh on the key's fifth degree)."""
    names = {"": "7" if dominant else "maj7", "m": "m7", "dim": "m7b5", "sus4": "7"}
    name = QUALITIES[chord.quality][0]
    return Chord(chord.root, _QINDEX[names[name]]) if name in names else chord


def as_triad(chord: Chord) -> Chord:
    names = {"7": "", "maj7": "", "m7": "m", "m7b5": "dim", "dim7": "dim"}
    name = QUALITIES[chord.quality][0]
    return Chord(chord.root, _QINDEX[names[name]]) if name in names else chord


def voice(chord: Chord, voicing: str, previous: Sequence[int] | None = None) -> list[int]:
    """MIDI pitches of a chord: `triad`/`seventh` in close position around middle C, the inversion
    nearest the previous chord (smooth voice leading), with the root an octave below; `open`: root in
    the bass, fifth, then third and seventh spread above."""
    pcs = list(chord.pcs)
    if voicing == "open":
        root = 36 + (chord.root - 36) % 12
        third = pcs[1]
        upper = [p for p in pcs[2:]] + [third]
        out, last = [root], root
        for pc in upper:
            nxt = last + 7 - (last + 7 - pc) % 12 + (12 if (last + 7 - (last + 7 - pc) % 12) <= last else 0)
            out.append(nxt)
            last = nxt
        return sorted(out)
    options = []
    for inversion in range(len(pcs)):
        order = pcs[inversion:] + pcs[:inversion]
        for base in (55, 60):
            notes, last = [], base - 1
            for pc in order:
                p = last + 1 + (pc - last - 1) % 12
                notes.append(p)
                last = p
            options.append(notes)
    if previous:
        centre = sum(previous) / len(previous)
        best = min(options, key=lambda ns: abs(sum(ns) / len(ns) - centre) + 0.1 * (max(ns) - min(ns)))
    else:
        best = min(options, key=lambda ns: abs(sum(ns) / len(ns) - 62))
    return [36 + (chord.root - 36) % 12] + best
