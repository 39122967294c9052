"""Training data of the harmony models: four-voice pieces on a 16th grid with a chord per beat
(numpy, mido and music21; no torch).

- Bach chorales from the music21 corpus (inside the `music21` package, BSD-3): the 371 four-part
  chorales of `music21.corpus.chorales.Iterator`. soprano = melody, bass = bass voice, alto/tenor
  for the voicing model; the chord of each beat is the root of music21's roman-numeral analysis of
  the `chordify`-ed beat, its quality the chord template (chords.py) that fits those notes best.
- A producer's folder of MIDI files: melody = the top line, bass = the lowest line, the inner
  voices = the notes between at each beat, the chord of each beat inferred from all its notes.

Every piece is transposed so its tonic is C (the models are key-relative: a piece in all twelve
keys is one piece to them; `key` moves the output), nearest in register (-6..+5 semitones).
"""
from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import chords as C

BEAT = 4  # 16ths per beat: the chord grid
HELD_OUT_EVERY = 10  # every 10th chorale (in the corpus iterator's order) is held out


@dataclass
class Piece:
    """voices: (4, T) pitch sounding at each 16th (-1 = rest), top (soprano) to bottom (bass);
    onsets: (4, T) a note starts there; chords: (T // BEAT,) chord tokens; bar: 16ths a bar."""

    voices: np.ndarray
    onsets: np.ndarray
    chords: np.ndarray
    bar: int
    minor: bool
    source: str = ""

    @property
    def steps(self) -> int:
        return self.voices.shape[1]


def shift_to_c(tonic: int) -> int:
    """Semitones that move `tonic` to C, the nearer way."""
    s = (-tonic) % 12
    return s - 12 if s > 6 else s


def _grid(lines: Sequence[Sequence[tuple[int, int, int]]], steps: int) -> tuple[np.ndarray, np.ndarray]:
    voices = np.full((len(lines), steps), -1, np.int16)
    onsets = np.zeros((len(lines), steps), bool)
    for v, line in enumerate(lines):
        for start, dur, pitch in line:
            if 0 <= start < steps:
                voices[v, start: min(steps, start + max(1, dur))] = pitch
                onsets[v, start] = True
    return voices, onsets


# -- Bach chorales ---------------------------------------------------------------------------------
def chorale_names() -> list[str]:
    from music21 import corpus

    return list(corpus.chorales.Iterator(returnType="filename"))


def _beat_chord(chord: Any, key: Any) -> int:
    """Token of a chordified beat: roman-numeral root, best template quality on that root."""
    from music21 import roman

    pcs = [p.pitchClass for p in chord.pitches]
    if not pcs:
        return 0
    try:
        root = roman.romanNumeralFromChord(chord, key).root().pitchClass
    except Exception:  # noqa: BLE001 - music21 raises many types on odd chords; fall back to templates
        best = C.infer(np.bincount(pcs, minlength=12).tolist())
        return best.token if best else 0
    weights = np.bincount(pcs, minlength=12).astype(float)
    scores = []
    for q, (_, ivs) in enumerate(C.QUALITIES):
        tones = {(root + i) % 12 for i in ivs}
        on = sum(weights[p] for p in tones) / weights.sum()
        missing = sum(1 for p in tones if weights[p] == 0)
        scores.append(on - (1 - on) - 0.25 * missing - (0.06 if len(ivs) > 3 else 0) - (0.04 if q in (3, 4, 9) else 0))
    return C.Chord(root, int(np.argmax(scores))).token


def parse_chorale(name: str) -> Piece | None:
    """One chorale as a Piece, None when it is not four voices in 4/4 or 3/4 on a 16th grid."""
    from music21 import corpus

    score = corpus.parse(name)
    if len(score.parts) != 4:
        return None
    ts = score.recurse().getElementsByClass("TimeSignature")
    ts = ts[0] if len(ts) else None
    if ts is None or ts.ratioString not in ("4/4", "3/4"):
        return None
    bar = 4 * ts.numerator
    measures = score.parts[0].getElementsByClass("Measure")
    pad = float(measures[0].paddingLeft) if len(measures) else 0.0
    key = score.analyze("key")
    shift = shift_to_c(key.tonic.pitchClass)
    lines = []
    end = 0
    for part in score.parts:
        line = []
        for n in part.stripTies().flatten().notes:
            if n.isChord or n.duration.isGrace:
                continue
            start, dur = (float(n.offset) + pad) * 4, float(n.quarterLength) * 4
            if start != int(start) or dur != int(dur):
                return None  # triplets or finer than 16ths
            line.append((int(start), int(dur), n.pitch.midi + shift))
            end = max(end, int(start + dur))
        lines.append(line)
    steps = -(-end // bar) * bar
    voices, onsets = _grid(lines, steps)
    chordified = score.chordify().flatten().getElementsByClass("Chord")
    starts = [(float(c.offset) + pad) * 4 for c in chordified]
    tokens = np.zeros(steps // BEAT, np.int16)
    j = 0
    for b in range(len(tokens)):
        while j + 1 < len(starts) and starts[j + 1] <= b * BEAT:
            j += 1
        if starts and starts[j] <= b * BEAT + BEAT - 1:
            chord = C.from_token(_beat_chord(chordified[j], key))
            tokens[b] = chord.transposed(shift).token if chord else 0
    return Piece(voices, onsets, tokens, bar, key.mode == "minor", name)


def load_chorales(workers: int = 2, log: Callable[[str], None] = print) -> list[Piece]:
    """All usable chorales, from the cache when it is there (parsing takes ~1 minute on 2 cores)."""
    import music21

    names = chorale_names()
    tag = hashlib.sha256(("\n".join(names) + music21.__version__ + "v1").encode()).hexdigest()[:16]
    cache = cache_dir() / f"chorales-{tag}.npz"
    if cache.exists():
        return load_pieces(cache)
    log(f"harmony data: parsing {len(names)} Bach chorales with music21 (cached afterwards)")
    if workers > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(workers) as pool:
            pieces = list(pool.map(parse_chorale, names, chunksize=8))
    else:
        pieces = [parse_chorale(n) for n in names]
    out = [p for p in pieces if p is not None]
    cache.parent.mkdir(parents=True, exist_ok=True)
    save_pieces(out, cache)
    return out


def split(pieces: Sequence[Piece]) -> tuple[list[Piece], list[Piece]]:
    """(training, held out): every HELD_OUT_EVERY-th piece is held out, a fixed set."""
    held = [p for i, p in enumerate(pieces) if i % HELD_OUT_EVERY == HELD_OUT_EVERY - 1]
    train = [p for i, p in enumerate(pieces) if i % HELD_OUT_EVERY != HELD_OUT_EVERY - 1]
    return train, held


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "dawgen" / "midi"


def save_pieces(pieces: Sequence[Piece], path: str | os.PathLike[str]) -> None:
    tmp = Path(str(path) + ".tmp.npz")
    np.savez_compressed(tmp, voices=np.concatenate([p.voices for p in pieces], 1),
                        onsets=np.concatenate([p.onsets for p in pieces], 1),
                        chords=np.concatenate([p.chords for p in pieces]),
                        steps=np.array([p.steps for p in pieces]), bar=np.array([p.bar for p in pieces]),
                        minor=np.array([p.minor for p in pieces]), source=np.array([p.source for p in pieces]))
    os.replace(tmp, path)


def load_pieces(path: str | os.PathLike[str]) -> list[Piece]:
    z = np.load(path, allow_pickle=False)
    out, t = [], 0
    for steps, bar, minor, source in zip(z["steps"], z["bar"], z["minor"], z["source"]):
        steps = int(steps)
        out.append(Piece(z["voices"][:, t: t + steps], z["onsets"][:, t: t + steps],
                         z["chords"][t // BEAT: (t + steps) // BEAT], int(bar), bool(minor), str(source)))
        t += steps
    return out


# -- a producer's MIDI -----------------------------------------------------------------------------
def clip_piece(clip: Any, source: str = "") -> Piece | None:
    """A MIDI clip (server/backends/midi/smf.Clip) as a Piece: top line, two inner voices and the
    lowest line at each 16th, chords inferred per beat; None without two voices of notes."""
    from ..data import find_key
    from ..smf import DRUM_CHANNEL

    step = clip.ppq / 4
    notes = [(round(n.tick / step), max(1, round(n.dur / step)), n.pitch) for n in clip.notes
             if n.channel != DRUM_CHANNEL]
    if len(notes) < 8:
        return None
    bar = clip.bar_steps
    steps = -(-max(s + d for s, d, _ in notes) // bar) * bar
    sounding: list[list[int]] = [[] for _ in range(steps)]
    for s, d, p in notes:
        for t in range(s, min(steps, s + d)):
            sounding[t].append(p)
    tonic, minor = find_key([p for _, _, p in notes], [d for _, d, _ in notes])
    shift = shift_to_c(tonic)
    voices = np.full((4, steps), -1, np.int16)
    for t, ps in enumerate(sounding):
        ps = sorted(set(ps), reverse=True)
        if ps:
            picks = [ps[0], ps[min(1, len(ps) - 1)], ps[min(2, len(ps) - 1)], ps[-1]]
            voices[:, t] = [p + shift for p in picks]
    onsets = np.zeros((4, steps), bool)
    onsets[:, 0] = voices[:, 0] >= 0
    onsets[:, 1:] = (voices[:, 1:] != voices[:, :-1]) & (voices[:, 1:] >= 0)
    starts = {s for s, _, _ in notes}
    onsets[0] |= np.isin(np.arange(steps), list(starts)) & (voices[0] >= 0)
    if (voices[3] != voices[0]).sum() < 8:
        return None  # one line only: nothing to learn harmony from
    shifted = [(s, d, p + shift) for s, d, p in notes]
    tokens = np.array([c.token if c else 0 for c in C.infer_slots(shifted, BEAT, steps // BEAT)], np.int16)
    return Piece(voices, onsets, tokens, bar, minor, source)
