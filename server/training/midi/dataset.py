"""A folder of MIDI files as training data for the midi kinds (numpy and mido, no torch).

Every `.mid` / `.midi` under the folder (recursively, in name order) is read; a file that cannot
teach the kind's model is left out with a reason, never the whole run:
    unreadable   not a Standard MIDI File mido reads
    no_notes     a file without notes
    no_drums     midi-drums: fewer than 8 notes on channel 10 that fall on the GM drum lanes
    no_melody    midi-melody: the top line of the notes off channel 10 has fewer than 8 notes
    no_harmony   midi-chords|bass|piano|improv: fewer than 8 notes off channel 10, or one line only
Drums train on 2-bar windows (32 16ths) of each file's drum part, every 2 steps (the
offline trainer's windows: server/backends/midi/steps.py); melodies on whole tunes, a window of up
to 128 tokens drawn from a longer one. `sample_batch(rng, n)` draws a micro-batch from these.
"""
from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ...backends.midi import data as D
from ...backends.midi import steps as S
from ...backends.midi import vocab as V
from ...errors import DawgenError, ErrorCode

SUFFIXES = (".mid", ".midi")
PARTS = {"midi-drums": "drums", "midi-melody": "melody", "midi-chords": "chords", "midi-bass": "bass",
         "midi-piano": "voicing", "midi-improv": "improv"}
HARMONY_PARTS = ("chords", "bass", "voicing", "improv")
REASON_LIMIT = 8  # rejected files named in the error; dataset-report.json has them all


@dataclass(frozen=True)
class Rejected:
    file: str
    reason: str
    detail: str


@dataclass(frozen=True)
class Used:
    file: str
    clips: int
    detail: str


@dataclass
class MidiDataset:
    """What a midi run trains on: `clips` (drum windows (hits, vel), or tunes' (tokens, positions),
    bar), the files used and the rejected ones."""

    folder: str
    part: str  # "drums" | "melody"
    clips: list[Any] = field(default_factory=list)
    files: list[Used] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    songs: list[Any] = field(default_factory=list)  # the DrumSongs / Tunes the clips come from

    def sample_batch(self, rng: np.random.Generator, batch_size: int) -> tuple[Any, ...]:
        """drums: (hits (B, 32, lanes), vel (B, 32, lanes), drumify conditioning on (B,));
        melody: (tokens (B, T+1), positions (B, T+1), bars (B,), mask (B, T)) as torch tensors."""
        if self.part in HARMONY_PARTS:
            from ...backends.midi.harmony.steps import sample_batch

            tensors = sample_batch(self.clips, self.part, rng, batch_size)
            return tensors["mask"], tensors  # the loop counts a batch by its first item's length
        picks = rng.integers(0, len(self.clips), batch_size)
        if self.part == "drums":
            hits = np.stack([self.clips[i][0] for i in picks])
            vel = np.stack([self.clips[i][1] for i in picks])
            return hits, vel, rng.random(batch_size) < 0.5
        chunk = [self.clips[i] for i in picks]
        return S.melody_batch(chunk, [S.window_start(len(tk), lambda n: int(rng.integers(n))) for (tk, _), _ in chunk])

    def summary(self) -> str:
        unit = (f"{S.DRUM_WINDOW}-step drum windows" if self.part == "drums" else
                "pieces with chords" if self.part in HARMONY_PARTS else "melodies")
        found = len(self.files) + len(self.rejected)
        text = f"{len(self.clips)} {unit} from {len(self.files)} of {found} MIDI files"
        if self.rejected:
            counts = Counter(r.reason for r in self.rejected)
            text += f"; rejected {len(self.rejected)}: " + ", ".join(f"{n} {why}" for why, n in sorted(counts.items()))
        return text

    def report(self) -> dict[str, Any]:
        """What dataset-report.json holds."""
        return {"folder": self.folder, "kind": f"midi-{self.part}", "clips": len(self.clips),
                "files": {"found": len(self.files) + len(self.rejected), "used": len(self.files),
                          "rejected": len(self.rejected)},
                "used": [vars(u) for u in self.files], "rejected": [vars(r) for r in self.rejected],
                "summary": self.summary()}


class NoUsableMidi(DawgenError):
    """bad_request: no file in the folder is usable; `rejected` names each one and why."""

    def __init__(self, message: str, rejected: list[Rejected]) -> None:
        super().__init__(ErrorCode.BAD_REQUEST, message)
        self.rejected = rejected


def midi_files(folder: Path) -> list[Path]:
    return sorted(p for p in Path(folder).rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)


def prepare(folder: str, kind: str, progress: Callable[[float], None] | None = None,
            check: Callable[[], None] | None = None) -> MidiDataset:
    """Read `folder` for `kind` (midi-drums | midi-melody); NoUsableMidi when nothing is usable."""
    part = PARTS[kind]
    dataset = MidiDataset(str(folder), part)
    files = midi_files(Path(folder))
    for i, path in enumerate(files):
        if check is not None:
            check()
        _read_one(dataset, path, str(path.relative_to(folder)))
        if progress is not None:
            progress((i + 1) / len(files))
    if not dataset.clips:
        raise NoUsableMidi(f"no usable MIDI in {folder} for {kind}: {_reasons(dataset.rejected)}", dataset.rejected)
    return dataset


def _reasons(rejected: list[Rejected]) -> str:
    """Each rejected file and why (the first REASON_LIMIT), for the error a client sees."""
    if not rejected:
        return f"no {' or '.join(SUFFIXES)} files"
    text = "; ".join(f"{r.file}: {r.reason} ({r.detail})" for r in rejected[:REASON_LIMIT])
    more = len(rejected) - REASON_LIMIT
    return text + (f"; and {more} more (dataset-report.json names each)" if more > 0 else "")


def _read_one(dataset: MidiDataset, path: Path, name: str) -> None:
    from ...backends.midi.smf import NoNotes, read_clip

    try:
        clip = read_clip(path)
    except NoNotes:
        dataset.rejected.append(Rejected(name, "no_notes", "the file has no notes"))
        return
    except (ValueError, OSError, EOFError) as exc:
        dataset.rejected.append(Rejected(name, "unreadable", str(exc)[:200]))
        return
    if not clip.notes:
        dataset.rejected.append(Rejected(name, "no_notes", "the file has no notes"))
        return
    if dataset.part in HARMONY_PARTS:
        _add_harmony(dataset, clip, name)
    elif dataset.part == "drums":
        _add_drums(dataset, clip, name)
    else:
        _add_melody(dataset, clip, name)


def _add_drums(dataset: MidiDataset, clip: Any, name: str) -> None:
    song = D.clip_drums(clip, name)
    if song is None:
        found = len(D.drum_notes(clip))
        dataset.rejected.append(Rejected(name, "no_drums", f"{found} notes on channel 10 on the GM drum lanes "
                                                           f"(at least {D.MIN_DRUM_NOTES} needed)"))
        return
    windows = [_fit(h, v) for h, v in S.drum_windows([song])]
    dataset.clips += windows
    dataset.songs.append(song)
    dataset.files.append(Used(name, len(windows), f"{len(song.hits)} 16th steps, {int(song.hits.sum())} hits"))


def _fit(hits: np.ndarray, vel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A window of exactly DRUM_WINDOW steps: a shorter part is looped."""
    if len(hits) == S.DRUM_WINDOW:
        return hits, vel
    reps = -(-S.DRUM_WINDOW // max(1, len(hits)))
    return np.tile(hits, (reps, 1))[: S.DRUM_WINDOW], np.tile(vel, (reps, 1))[: S.DRUM_WINDOW]


def _add_melody(dataset: MidiDataset, clip: Any, name: str) -> None:
    tune = D.clip_tune(clip, name)
    if tune is None:
        dataset.rejected.append(Rejected(name, "no_melody", "the top line of the notes off channel 10 has "
                                                            "fewer than 8 notes"))
        return
    dataset.clips.append((S.tune_arrays(tune), min(tune.bar, V.MAX_POS)))
    dataset.songs.append(tune)
    dataset.files.append(Used(name, 1, f"{len(tune.notes)} notes and rests, {'minor' if tune.minor else 'major'}"))


def _add_harmony(dataset: MidiDataset, clip: Any, name: str) -> None:
    from ...backends.midi.harmony.data import clip_piece
    from ...backends.midi.harmony.steps import arrays

    piece = clip_piece(clip, name)
    if piece is None:
        dataset.rejected.append(Rejected(name, "no_harmony", "fewer than 8 notes off channel 10, or a single line "
                                                             "(chords are inferred from several voices)"))
        return
    dataset.clips.append((arrays(piece, dataset.part), piece.minor))
    dataset.songs.append(piece)
    chords = len({int(c) for c in piece.chords if c})
    dataset.files.append(Used(name, 1, f"{piece.steps} 16th steps, {chords} different chords, "
                                       f"{'minor' if piece.minor else 'major'}"))


def write_report(report: dict[str, Any], path: Path) -> None:
    from .. import artifacts

    artifacts.write_file(Path(path), json.dumps(report, indent=2, ensure_ascii=False).encode())
