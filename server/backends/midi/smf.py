"""Standard MIDI files in and out, with mido (no torch here).

Written files are type 1: track 0 holds the track name, tempo and time signature; track 1 the notes
(drums on MIDI channel 10, i.e. mido channel 9). Every track ends with end_of_track at exactly
`bars` bars, so the file is exactly as long as asked at its tempo.
"""
from __future__ import annotations

import io
import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

PPQ = 480
DRUM_CHANNEL = 9


class NoNotes(ValueError):
    """read_clip: a readable MIDI file without a note."""


@dataclass(frozen=True)
class Note:
    tick: int
    dur: int
    pitch: int
    velocity: int
    channel: int = 0


@dataclass
class Clip:
    notes: list[Note]
    ppq: int = PPQ
    bpm: float = 120.0
    numerator: int = 4
    denominator: int = 4
    length_ticks: int = 0  # end of the file (end_of_track), never before the last note-off
    name: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def bar_ticks(self) -> int:
        return self.ppq * 4 * self.numerator // self.denominator

    @property
    def bar_steps(self) -> int:
        """16ths in a bar."""
        return max(1, 16 * self.numerator // self.denominator)

    @property
    def bars(self) -> int:
        """Whole bars the clip covers (its length rounded up to the bar)."""
        return max(1, -(-self.length_ticks // self.bar_ticks))

    @property
    def is_drums(self) -> bool:
        drums = sum(1 for n in self.notes if n.channel == DRUM_CHANNEL)
        return bool(self.notes) and drums * 2 >= len(self.notes)

    def rescaled(self, ppq: int) -> Clip:
        """The same clip at another resolution (ticks rounded)."""
        if ppq == self.ppq:
            return self
        f = ppq / self.ppq
        notes = [replace(n, tick=round(n.tick * f), dur=max(1, round(n.dur * f))) for n in self.notes]
        return replace(self, notes=notes, ppq=ppq, length_ticks=round(self.length_ticks * f))


def _mido():
    try:
        import mido
    except ImportError:
        from ...errors import DawgenError, ErrorCode

        raise DawgenError(ErrorCode.MODEL_UNAVAILABLE,
                          "MIDI files need 'mido', which is not installed: pip install 'dawgen[midigen]'") from None
    return mido


def read_clip(path: str | os.PathLike[str]) -> Clip:
    """Notes, tempo and meter of a MIDI file; ValueError (a user-facing message) if it is not one."""
    mido = _mido()
    try:
        mf = mido.MidiFile(str(path))
    except (OSError, EOFError, ValueError, KeyError, IndexError) as exc:
        raise ValueError(f"{os.path.basename(str(path))} is not a readable MIDI file ({exc})") from None
    if mf.type == 2:
        raise ValueError(f"{os.path.basename(str(path))}: type 2 MIDI files (independent patterns) are not supported")
    ppq = mf.ticks_per_beat or PPQ
    bpm, num, den, name = None, None, None, ""
    notes: list[Note] = []
    end = 0
    for track in mf.tracks:
        tick = 0
        pending: dict[tuple[int, int], list[tuple[int, int]]] = {}
        for msg in track:
            tick += msg.time
            if msg.type == "set_tempo" and bpm is None:
                bpm = 60_000_000 / msg.tempo
            elif msg.type == "time_signature" and num is None:
                num, den = msg.numerator, msg.denominator
            elif msg.type == "track_name" and not name:
                name = msg.name
            elif msg.type == "note_on" and msg.velocity > 0:
                pending.setdefault((msg.channel, msg.note), []).append((tick, msg.velocity))
            elif msg.type in ("note_off", "note_on"):
                starts = pending.get((msg.channel, msg.note))
                if starts:
                    start, vel = starts.pop(0)
                    notes.append(Note(start, max(1, tick - start), msg.note, vel, msg.channel))
        for (channel, pitch), starts in pending.items():  # notes never switched off end with the track
            for start, vel in starts:
                notes.append(Note(start, max(1, tick - start), pitch, vel, channel))
        end = max(end, tick)
    notes.sort(key=lambda n: (n.tick, n.channel, n.pitch))
    if not notes:
        raise NoNotes(f"{os.path.basename(str(path))} has no notes")
    end = max(end, max(n.tick + n.dur for n in notes))
    return Clip(notes, ppq, float(bpm or 120.0), int(num or 4), int(den or 4), end, name)


def write_clip(clip: Clip, track_name: str) -> bytes:
    """Type-1 SMF bytes; notes past `clip.length_ticks` are cut there."""
    return write_tracks([(track_name, clip.notes)], clip.bpm, clip.numerator, clip.denominator, clip.ppq,
                        int(clip.length_ticks))


def write_tracks(tracks: Sequence[tuple[str, Sequence[Note]]], bpm: float, numerator: int, denominator: int,
                 ppq: int, length: int, symbols: Sequence[tuple[int, str]] = ()) -> bytes:
    """Type-1 SMF bytes: track 0 the tempo, meter and one `marker` per chord symbol (tick, text) at
    its start, then one named track per (name, notes), each with the same symbols as `text` events
    (a host that imports only a note track still sees them). Every track ends at exactly `length`;
    notes are cut there."""
    mido = _mido()
    mf = mido.MidiFile(type=1, ticks_per_beat=ppq)
    meta = [(0, 0, mido.MetaMessage("track_name", name=tracks[0][0] if len(tracks) == 1 else "dawgen", time=0)),
            (0, 0, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm), time=0)),
            (0, 0, mido.MetaMessage("time_signature", numerator=numerator, denominator=denominator,
                                    clocks_per_click=24, notated_32nd_notes_per_beat=8, time=0))]
    meta += [(tick, 1, mido.MetaMessage("marker", text=text, time=0)) for tick, text in symbols if 0 <= tick < length]
    mf.tracks.append(_track(mido, meta, length))
    for name, notes in tracks:
        events: list[tuple[int, int, object]] = [(0, 0, mido.MetaMessage("track_name", name=name, time=0))]
        events += [(tick, 1, mido.MetaMessage("text", text=text, time=0)) for tick, text in symbols if 0 <= tick < length]
        for n in notes:
            if n.tick >= length or n.tick < 0:
                continue
            off = min(length, n.tick + max(1, n.dur))
            events.append((n.tick, 3, mido.Message("note_on", channel=n.channel, note=n.pitch,
                                                   velocity=max(1, min(127, int(n.velocity))))))
            events.append((off, 2, mido.Message("note_off", channel=n.channel, note=n.pitch, velocity=0)))
        mf.tracks.append(_track(mido, events, length))
    buf = io.BytesIO()
    mf.save(file=buf)
    return buf.getvalue()


def _track(mido: Any, events: list[tuple[int, int, Any]], length: int) -> Any:
    track = mido.MidiTrack()
    events.sort(key=lambda e: (e[0], e[1]))  # meta, then text, then note-offs, then note-ons at one tick
    now = 0
    for tick, _, msg in events:
        track.append(msg.copy(time=tick - now))
        now = tick
    track.append(mido.MetaMessage("end_of_track", time=length - now))
    return track


def top_line(clip: Clip) -> list[tuple[int, int, int]]:
    """The highest non-drum note at each 16th onset: (start step, duration steps, pitch)."""
    step = clip.ppq / 4
    line: dict[int, tuple[int, int]] = {}
    for n in clip.notes:
        if n.channel == DRUM_CHANNEL:
            continue
        s, d = round(n.tick / step), max(1, round(n.dur / step))
        if s not in line or n.pitch > line[s][1]:
            line[s] = (d, n.pitch)
    starts = sorted(line)
    out = []
    for i, s in enumerate(starts):
        d, pitch = line[s]
        if i + 1 < len(starts):
            d = min(d, starts[i + 1] - s)
        out.append((s, d, pitch))
    return out
