"""MIDI files for the midi training tests, written with mido: drum patterns on channel 10 and
simple melodies, varied per file so the files differ."""
from __future__ import annotations

from pathlib import Path

import mido

TICKS = 480  # per quarter


def _track(events: list[tuple[int, mido.Message]], end: int) -> mido.MidiTrack:
    track = mido.MidiTrack()
    now = 0
    for tick, msg in sorted(events, key=lambda e: (e[0], e[1].type == "note_on")):
        track.append(msg.copy(time=tick - now))
        now = tick
    track.append(mido.MetaMessage("end_of_track", time=max(0, end - now)))
    return track


def _write(path: Path, notes: list[tuple[int, int, int, int, int]], bars: int) -> Path:
    """notes: (tick, duration, pitch, velocity, channel); a type-1 file at 120 bpm, 4/4."""
    meta = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=500000, time=0),
                           mido.MetaMessage("time_signature", numerator=4, denominator=4, time=0)])
    events = []
    for tick, dur, pitch, vel, ch in notes:
        events.append((tick, mido.Message("note_on", note=pitch, velocity=vel, channel=ch)))
        events.append((tick + dur, mido.Message("note_off", note=pitch, velocity=0, channel=ch)))
    mf = mido.MidiFile(type=1, ticks_per_beat=TICKS)
    mf.tracks += [meta, _track(events, bars * 4 * TICKS)]
    path.parent.mkdir(parents=True, exist_ok=True)
    mf.save(str(path))
    return path


def drum_file(path: Path, variant: int = 0, bars: int = 4) -> Path:
    """Kick on the quarters, snare on 2 and 4, hats on 8ths (16ths in odd variants), channel 10."""
    step = TICKS // 4
    notes = []
    for s in range(bars * 16):
        if s % 4 == 0 and not (variant % 3 == 2 and s % 16 == 8):
            notes.append((s * step, step // 2, 36, 110, 9))
        if s % 8 == 4:
            notes.append((s * step, step // 2, 38, 100 - 5 * variant, 9))
        if s % (1 if variant % 2 else 2) == 0:
            notes.append((s * step, step // 2, 42, 70 + (20 if s % 4 == 0 else 0), 9))
    return _write(path, notes, bars)


def melody_file(path: Path, variant: int = 0, bars: int = 4) -> Path:
    """An eighth-note line up and down a C major scale (starting degree by variant), channel 1."""
    scale = [60, 62, 64, 65, 67, 69, 71, 72]
    walk = scale + scale[-2:0:-1]
    notes = [(i * TICKS // 2, TICKS // 2, walk[(i + variant) % len(walk)], 90, 0) for i in range(bars * 8)]
    return _write(path, notes, bars)


def empty_file(path: Path) -> Path:
    return _write(path, [], 1)


def song_folder(folder: Path, count: int = 4) -> Path:
    """`count` files each with a drum part and a melody (in subfolders: the scan is recursive)."""
    for i in range(count):
        drum_file(folder / "drums" / f"beat {i}.mid", i)
        melody_file(folder / "tunes" / f"tune {i}.midi", i)
    return folder


def harmony_file(path: Path, variant: int = 0, bars: int = 4) -> Path:
    """A progression (I vi IV V, rotated by variant) as half-note block chords, a bass on the roots
    and a quarter-note melody on chord tones above: what the harmony kinds learn from."""
    prog = [(0, (0, 4, 7)), (9, (0, 3, 7)), (5, (0, 4, 7)), (7, (0, 4, 7))]
    notes = []
    for bar in range(bars):
        root, ivs = prog[(bar + variant) % len(prog)]
        tick = bar * 4 * TICKS
        for half in range(2):
            for iv in ivs:
                notes.append((tick + half * 2 * TICKS, 2 * TICKS, 60 + (root + iv) % 12, 70, 0))
        notes.append((tick, 2 * TICKS, 36 + root, 90, 1))
        notes.append((tick + 2 * TICKS, 2 * TICKS, 43 + root if root < 5 else 31 + root, 90, 1))
        for beat in range(4):
            notes.append((tick + beat * TICKS, TICKS, 72 + (root + ivs[(beat + variant) % 3]) % 12, 95, 2))
    return _write(path, notes, bars)


def harmony_folder(folder: Path, count: int = 3) -> Path:
    """`count` harmony files, one drum-only file and one single-line file (both no_harmony)."""
    for i in range(count):
        harmony_file(folder / f"song {i}.mid", i)
    drum_file(folder / "beat.mid")
    melody_file(folder / "line.mid")
    return folder


def losses_on_a_fixed_batch(model, batch, folder: Path) -> tuple[float, float]:
    """(before, after) the training loop runs on `batch` alone for the model's settings' steps,
    each measured without dropout."""
    import torch

    from server.training import loop

    def measured() -> float:
        model.model.eval()  # no dropout while measuring
        with torch.no_grad():
            value = float(model.loss(batch, run))
        model.model.train()
        return value

    run = loop.open_run(model, folder)
    before = measured()
    loop.train(run, lambda i: batch, save_every=100)
    return before, measured()
