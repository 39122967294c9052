"""A minimal standard MIDI file reader, independent of mido: chunks, delta times, meta events."""
from __future__ import annotations

import struct
from dataclasses import dataclass, field


@dataclass
class Track:
    end_tick: int = 0
    notes: list[tuple[int, int, int, int]] = field(default_factory=list)  # (tick, channel, note, velocity)
    meta: dict[int, list[tuple[int, bytes]]] = field(default_factory=dict)


def _varlen(data: bytes, i: int) -> tuple[int, int]:
    value = 0
    while True:
        b = data[i]
        i += 1
        value = (value << 7) | (b & 0x7F)
        if not b & 0x80:
            return value, i


def parse(data: bytes) -> tuple[int, int, list[Track]]:
    """(format, ticks per quarter, tracks)."""
    assert data[:4] == b"MThd"
    length, fmt, ntracks, division = struct.unpack(">IHHH", data[4:14])
    i = 8 + length
    tracks = []
    for _ in range(ntracks):
        assert data[i: i + 4] == b"MTrk", data[i: i + 4]
        (size,) = struct.unpack(">I", data[i + 4: i + 8])
        body = data[i + 8: i + 8 + size]
        i += 8 + size
        t, j, status, tr = 0, 0, 0, Track()
        while j < len(body):
            delta, j = _varlen(body, j)
            t += delta
            if body[j] & 0x80:
                status = body[j]
                j += 1
            if status == 0xFF:
                kind = body[j]
                ln, j = _varlen(body, j + 1)
                tr.meta.setdefault(kind, []).append((t, body[j: j + ln]))
                j += ln
                if kind == 0x2F:
                    break
            elif status in (0xF0, 0xF7):
                ln, j = _varlen(body, j)
                j += ln
            else:
                hi = status & 0xF0
                nbytes = 1 if hi in (0xC0, 0xD0) else 2
                args = body[j: j + nbytes]
                j += nbytes
                if hi == 0x90 and args[1] > 0:
                    tr.notes.append((t, status & 0x0F, args[0], args[1]))
        tr.end_tick = t
        tracks.append(tr)
    return fmt, division, tracks


def tempo_bpm(tracks: list[Track]) -> float:
    for tr in tracks:
        for _, payload in tr.meta.get(0x51, []):
            return 60_000_000 / int.from_bytes(payload, "big")
    raise AssertionError("no tempo")


def time_signature(tracks: list[Track]) -> tuple[int, int]:
    for tr in tracks:
        for _, payload in tr.meta.get(0x58, []):
            return payload[0], 2 ** payload[1]
    raise AssertionError("no time signature")
