"""Type-1 MIDI files with several named tracks and chord symbols (mido; no torch).

Track 0 holds the tempo, meter and one `marker` meta event per chord (its symbol) at the chord's
start; every note track starts with its name and carries the same symbols as `text` events, so a
host that imports only a note track still sees them. All tracks end at exactly the clip's length.
"""
from __future__ import annotations

import io
from collections.abc import Sequence

from ..smf import Note, _mido


def write_tracks(tracks: Sequence[tuple[str, Sequence[Note]]], bpm: float, numerator: int, denominator: int,
                 ppq: int, length: int, symbols: Sequence[tuple[int, str]] = ()) -> bytes:
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


def _track(mido: object, events: list[tuple[int, int, object]], length: int) -> object:
    track = mido.MidiTrack()  # type: ignore[attr-defined]
    events.sort(key=lambda e: (e[0], e[1]))  # meta, then note-offs, then note-ons at one tick
    now = 0
    for tick, _, msg in events:
        track.append(msg.copy(time=tick - now))  # type: ignore[attr-defined]
        now = tick
    track.append(mido.MetaMessage("end_of_track", time=length - now))  # type: ignore[attr-defined]
    return track


def read_symbols(data: bytes) -> list[tuple[int, str]]:
    """(tick, text) of the marker events of a file's bytes (tests, the bench)."""
    mido = _mido()
    mf = mido.MidiFile(file=io.BytesIO(data))
    out, tick = [], 0
    for msg in mf.tracks[0]:
        tick += msg.time
        if msg.type == "marker":
            out.append((tick, msg.text))
    return out
