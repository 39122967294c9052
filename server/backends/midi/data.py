"""Training data for the midi models, read from real music (no torch here).

- Melodies: the music21 corpus, which ships inside the `music21` package (BSD-3): the German song
  books of the Essen folk song collection (`essenFolksong/altdeu*, ballad*, boehme*.abc`); or a
  user's folder of MIDI files (`--data`). Each tune becomes a monophonic line on a 16th grid (the top
  note of chords, ties merged, grace notes dropped; tunes with triplets or finer values are skipped),
  its key found with a Krumhansl-Schmuckler profile match, and transposed so its tonic is C.
- Drums: Debian's `hydrogen-data` package (Hydrogen's demo songs, `.h2song` XML; GPL-2+ per
  /usr/share/doc/hydrogen-data/copyright, each song saying "Unknown license"), or a user's folder of
  MIDI files (notes on channel 10). Each song's patterns are played in its song order and put on a
  16th grid of GM drum lanes with velocities.
"""
from __future__ import annotations

import glob
import json
import os
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .vocab import DRUM_LANES, lane_of_drum_note, lane_of_hydrogen_name

HYDROGEN_SONGS = "/usr/share/hydrogen/data/demo_songs"
CORPUS_COLLECTIONS = ("essenFolksong",)
# The German song books of the Essen collection (about 2,400 tunes): parsing with music21 costs
# ~0.07 s a tune, so the default corpus is this part; `--max-files` / `--data` change it.
CORPUS_PREFIXES = ("altdeu", "ballad", "boehme")

# Krumhansl-Kessler key profiles (C major / C minor), indexed by pitch class.
_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


def find_key(pitches: Sequence[int], weights: Sequence[float] | None = None) -> tuple[int, bool]:
    """(tonic pitch class, minor?) by correlating the weighted pitch-class histogram with the
    Krumhansl-Kessler profiles; C major for an empty list."""
    if not len(pitches):
        return 0, False
    hist = np.zeros(12)
    for p, w in zip(pitches, weights if weights is not None else [1.0] * len(pitches)):
        hist[int(p) % 12] += float(w)
    best, best_r = (0, False), -2.0
    for minor, profile in ((False, _MAJOR), (True, _MINOR)):
        for tonic in range(12):
            r = float(np.corrcoef(hist, np.roll(profile, tonic))[0, 1]) if hist.std() > 0 else 0.0
            if r > best_r:
                best, best_r = (tonic, minor), r
    return best


@dataclass
class Tune:
    """A monophonic line on a 16th grid, tonic transposed to C. notes: (pitch or -1 for a rest,
    duration in 16ths); `bar` is the bar length in 16ths and `pickup` the first note's position in
    its bar."""

    notes: list[tuple[int, int]]
    bar: int
    pickup: int
    minor: bool
    source: str = ""


@dataclass
class DrumSong:
    """hits: (steps, lanes) 0/1; vel: (steps, lanes) 0..1; 16 steps per 4/4 bar."""

    hits: np.ndarray
    vel: np.ndarray
    source: str = ""
    meta: dict[str, Any] = field(default_factory=dict)


# -- melodies --------------------------------------------------------------------------------------
def line_to_tune(events: list[tuple[int, int, int]], bar: int, source: str) -> Tune | None:
    """events: (start step, duration steps, pitch) of a monophonic line; gaps become rests."""
    events = sorted(events)
    if len(events) < 8:
        return None
    pitches = [p for _, _, p in events]
    tonic, minor = find_key(pitches, [d for _, d, _ in events])
    shift = -tonic if tonic <= 6 else 12 - tonic
    notes: list[tuple[int, int]] = []
    t = events[0][0]
    for start, dur, pitch in events:
        if start > t:
            notes.append((-1, start - t))
        elif start < t:  # overlap (a chord split badly): skip the note
            continue
        notes.append((pitch + shift, dur))
        t = start + dur
    return Tune(notes, bar, events[0][0] % bar, minor, source)


def _score_to_tune(score: Any, source: str) -> Tune | None:
    from fractions import Fraction

    part = score.parts[0] if getattr(score, "parts", None) else score
    measures = list(part.getElementsByClass("Measure"))
    if len(measures) < 2:
        return None
    lengths = [float(m.duration.quarterLength) for m in measures[1:-1]] or [float(measures[0].duration.quarterLength)]
    bar_q = max(set(lengths), key=lengths.count)
    bar = round(bar_q * 4)
    if abs(bar - bar_q * 4) > 1e-6 or not 2 <= bar <= 48:
        return None
    events: list[tuple[int, int, int]] = []
    origin = float(measures[0].offset) - float(measures[0].paddingLeft or 0)
    for m in measures:
        base = float(m.offset) - origin
        for n in m.notesAndRests:
            if n.duration.isGrace:
                continue
            start_q, dur_q = base + float(Fraction(n.offset)), float(n.quarterLength)
            start, dur = round(start_q * 4), round(dur_q * 4)
            if abs(start - start_q * 4) > 1e-3 or abs(dur - dur_q * 4) > 1e-3:
                return None  # triplets or finer than a 16th
            if n.isRest or dur <= 0:
                continue
            pitch = max(p.midi for p in n.pitches) if n.isChord else n.pitch.midi
            tie = getattr(n, "tie", None)
            if tie is not None and tie.type in ("stop", "continue") and events and events[-1][2] == pitch \
                    and events[-1][0] + events[-1][1] == start:
                s0, d0, _ = events[-1]
                events[-1] = (s0, d0 + dur, pitch)
                continue
            events.append((start, dur, pitch))
    # the first bar may be a pickup: positions count from the first full bar's downbeat
    pad = round(float(measures[0].paddingLeft or 0) * 4)
    events = [(s + pad, d, p) for s, d, p in events]
    return line_to_tune(events, bar, source)


def _parse_corpus_file(path: str) -> list[Tune]:
    import music21

    try:
        parsed = music21.converter.parse(path)
    except Exception:  # noqa: BLE001 - a corpus file music21 itself cannot read is skipped
        return []
    scores = list(parsed.scores) if hasattr(parsed, "scores") else [parsed]
    out = []
    for i, score in enumerate(scores):
        try:
            tune = _score_to_tune(score, f"{os.path.basename(path)}#{i}")
        except Exception:  # noqa: BLE001
            tune = None
        if tune is not None:
            out.append(tune)
    return out


def corpus_files(collections: Iterable[str] = CORPUS_COLLECTIONS, max_files: int | None = None) -> list[str]:
    try:
        from music21 import corpus
    except ImportError:
        raise RuntimeError("the melody corpus needs music21: pip install 'dawgen[midi-train]'") from None
    paths = [str(p) for p in corpus.getCorePaths()]
    chosen = sorted(p for p in paths if any(f"/{c}/" in p.replace(os.sep, "/") for c in collections)
                    and os.path.basename(p).startswith(CORPUS_PREFIXES))
    return chosen[:max_files] if max_files else chosen


def load_corpus_tunes(files: Sequence[str], workers: int = 1, log: Any = print) -> list[Tune]:
    """Parse corpus files (slow: ~0.07 s a tune) in `workers` processes; results in file order."""
    tunes: list[Tune] = []
    if workers > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(workers) as pool:
            for path, got in zip(files, pool.map(_parse_corpus_file, files)):
                tunes.extend(got)
                log(f"  {os.path.basename(path)}: {len(got)} tunes")
    else:
        for path in files:
            got = _parse_corpus_file(path)
            tunes.extend(got)
            log(f"  {os.path.basename(path)}: {len(got)} tunes")
    return tunes


def save_tunes(tunes: Sequence[Tune], path: str | os.PathLike[str]) -> None:
    Path(path).write_text(json.dumps([[t.notes, t.bar, t.pickup, t.minor, t.source] for t in tunes]))


def load_tunes(path: str | os.PathLike[str]) -> list[Tune]:
    return [Tune([tuple(n) for n in notes], bar, pickup, minor, src)  # type: ignore[misc]
            for notes, bar, pickup, minor, src in json.loads(Path(path).read_text())]


def midi_folder_clips(folder: str) -> Iterator[tuple[str, Any]]:
    """(path, Clip) of every MIDI file under `folder`, in name order; files that do not parse are
    skipped (a user's folder holds all sorts)."""
    from .smf import read_clip

    for path in sorted(glob.glob(os.path.join(folder, "**", "*.mid*"), recursive=True)):
        try:
            yield path, read_clip(path)
        except ValueError:
            continue


def midi_folder_tunes(folder: str) -> list[Tune]:
    """Melodies from a user's MIDI files: the highest sounding non-drum note at each onset."""
    tunes = (clip_tune(clip, os.path.basename(path)) for path, clip in midi_folder_clips(folder))
    return [t for t in tunes if t is not None]


def clip_tune(clip: Any, source: str) -> Tune | None:
    """A clip's melody: the highest non-drum note at each onset, tonic moved to C; None when that
    line has fewer than 8 notes."""
    from .smf import top_line

    return line_to_tune(top_line(clip), clip.bar_steps, source)


# -- drums -----------------------------------------------------------------------------------------
def hydrogen_songs(folder: str = HYDROGEN_SONGS) -> list[DrumSong]:
    files = sorted(glob.glob(os.path.join(folder, "*.h2song")))
    if not files:
        raise RuntimeError(f"no Hydrogen songs in {folder}: the drum data comes from Debian's hydrogen-data "
                           "package (apt install hydrogen-data), or pass --data FOLDER_OF_MIDI_FILES")
    return [read_h2song(f) for f in files]


def read_h2song(path: str) -> DrumSong:
    root = ET.parse(path).getroot()
    lanes = {}
    for inst in root.find("instrumentList") or []:
        lane = lane_of_hydrogen_name(inst.findtext("name") or "")
        if lane is not None:
            lanes[inst.findtext("id")] = lane
    patterns: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for pat in root.find("patternList") or []:
        size = int(pat.findtext("size") or 192)
        steps = max(1, round(size / 12))  # Hydrogen: 48 ticks a quarter note, 12 a 16th
        hits = np.zeros((steps, len(DRUM_LANES)), np.float32)
        vel = np.zeros_like(hits)
        for note in pat.iter("note"):
            lane = lanes.get(note.findtext("instrument"))
            if lane is None:
                continue
            step = round(int(note.findtext("position") or 0) / 12)
            if step >= steps:
                continue
            hits[step, lane] = 1.0
            vel[step, lane] = max(vel[step, lane], float(note.findtext("velocity") or 0.8))
        patterns[pat.findtext("name") or ""] = (hits, vel)
    order: list[list[str]] = []
    seq = root.find("patternSequence")
    for group in (seq if seq is not None else []):
        order.append([p.text or "" for p in group.iter("patternID")])
    if not order:
        order = [[name] for name in patterns]
    bars_h, bars_v = [], []
    for group in order:
        members = [patterns[n] for n in group if n in patterns]
        if not members:
            continue
        steps = max(h.shape[0] for h, _ in members)
        h = np.zeros((steps, len(DRUM_LANES)), np.float32)
        v = np.zeros_like(h)
        for mh, mv in members:  # patterns played together in one column of the song are layered
            h[: mh.shape[0]] = np.maximum(h[: mh.shape[0]], mh)
            v[: mv.shape[0]] = np.maximum(v[: mv.shape[0]], mv)
        bars_h.append(h)
        bars_v.append(v)
    name = os.path.basename(path)
    return DrumSong(np.concatenate(bars_h), np.concatenate(bars_v), name,
                    {"bpm": float(root.findtext("bpm") or 120), "license": root.findtext("license") or "",
                     "author": root.findtext("author") or "", "patterns": len(patterns),
                     "humanize_velocity": float(root.findtext("humanize_velocity") or 0)})


MIN_DRUM_NOTES = 8  # a drum part needs this many notes on the GM lanes to be learnt from


def midi_folder_drums(folder: str) -> list[DrumSong]:
    songs = (clip_drums(clip, os.path.basename(path)) for path, clip in midi_folder_clips(folder))
    return [s for s in songs if s is not None]


def drum_notes(clip: Any) -> list[Any]:
    """The clip's notes on channel 10 that fall on one of the GM drum lanes."""
    return [n for n in clip.notes if n.channel == 9 and lane_of_drum_note(n.pitch) is not None]


def clip_drums(clip: Any, source: str) -> DrumSong | None:
    """A clip's drum part on the 16th grid of lanes; None with fewer than MIN_DRUM_NOTES drum notes."""
    notes = drum_notes(clip)
    if len(notes) < MIN_DRUM_NOTES:
        return None
    step = clip.ppq / 4
    steps = int(np.ceil(clip.length_ticks / step))
    hits = np.zeros((steps, len(DRUM_LANES)), np.float32)
    vel = np.zeros_like(hits)
    for n in notes:
        s = round(n.tick / step)
        if s < steps:
            lane = lane_of_drum_note(n.pitch)
            hits[s, lane] = 1.0
            vel[s, lane] = max(vel[s, lane], n.velocity / 127)
    return DrumSong(hits, vel, source)
