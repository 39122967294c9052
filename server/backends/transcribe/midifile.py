"""Transcribed notes → a type-1 Standard MIDI File a DAW imports as one named clip.

Track 0 is the conductor track (tempo, time signature, key when given); track 1 holds the notes on
channel 1 under the track name "<input name> (transcribed)". Note times are the audio's own, in
seconds, converted to ticks at the file's tempo: the notes line up with the audio when both start
at the same point of a project at that tempo.
"""
from __future__ import annotations

from collections.abc import Iterable

from .model import Note

TICKS_PER_BEAT = 480


def seconds_to_ticks(seconds: float, bpm: float) -> int:
    return int(round(seconds * bpm / 60.0 * TICKS_PER_BEAT))


def write_midi(notes: Iterable[Note], track_name: str, bpm: float, time_signature: tuple[int, int],
               key: str | None = None) -> bytes:
    import io

    import mido

    conductor = mido.MidiTrack()
    conductor.append(mido.MetaMessage("track_name", name=track_name, time=0))
    conductor.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm), time=0))
    conductor.append(mido.MetaMessage("time_signature", numerator=time_signature[0],
                                      denominator=time_signature[1], time=0))
    if key:
        try:
            conductor.append(mido.MetaMessage("key_signature", key=key, time=0))
        except ValueError:
            pass  # a key MIDI cannot spell as a signature (e.g. D#): the notes say it anyway
    conductor.append(mido.MetaMessage("end_of_track", time=0))

    # (tick, 0 = off before 1 = on at the same tick, pitch, velocity)
    events: list[tuple[int, int, int, int]] = []
    for pitch, spans in _by_pitch(notes, bpm).items():
        for start, end, velocity in spans:
            events.append((start, 1, pitch, velocity))
            events.append((end, 0, pitch, 0))
    events.sort()
    track = mido.MidiTrack()
    track.append(mido.MetaMessage("track_name", name=track_name, time=0))
    now = 0
    for tick, kind, pitch, velocity in events:
        message = "note_on" if kind else "note_off"
        track.append(mido.Message(message, channel=0, note=pitch, velocity=velocity, time=tick - now))
        now = tick
    track.append(mido.MetaMessage("end_of_track", time=0))

    midi = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_BEAT)
    midi.tracks.extend([conductor, track])
    out = io.BytesIO()
    midi.save(file=out)
    return out.getvalue()


def _by_pitch(notes: Iterable[Note], bpm: float) -> dict[int, list[tuple[int, int, int]]]:
    """Notes in ticks per pitch, at least one tick long, a note cut where the next one of the same
    pitch starts (two overlapping notes of one pitch are one key pressed twice)."""
    spans: dict[int, list[tuple[int, int, int]]] = {}
    for note in sorted(notes, key=lambda n: (n.pitch, n.start)):
        start = seconds_to_ticks(note.start, bpm)
        end = max(start + 1, seconds_to_ticks(note.end, bpm))
        same = spans.setdefault(note.pitch, [])
        if same and same[-1][1] > start:
            prev_start, _, prev_velocity = same[-1]
            if start <= prev_start:  # the same onset twice: keep the longer, louder one
                same[-1] = (prev_start, max(end, same[-1][1]), max(prev_velocity, note.velocity))
                continue
            same[-1] = (prev_start, start, prev_velocity)
        same.append((start, end, note.velocity))
    return spans
