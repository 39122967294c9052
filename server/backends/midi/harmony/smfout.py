"""Type-1 MIDI files with several named tracks and chord symbols (mido; no torch).

The writer is the midi backend's own (smf.write_tracks, which every MIDI verb writes through): track
0 holds the tempo, meter and one `marker` meta event per chord (its symbol) at the chord's start;
every note track starts with its name and carries the same symbols as `text` events. Reading the
symbols back is here.
"""
from __future__ import annotations

import io

from ..smf import _mido, write_tracks

__all__ = ["read_symbols", "write_tracks"]


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
