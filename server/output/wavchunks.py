"""Builders for the WAV chunks DAWs and samplers read: acid, smpl, bext, LIST/INFO and iXML.

No maintained Python library writes these, so dawgen has its own. Layouts:
- acid (ACIDizer; read by Reaper, Kontakt, Sample Manager): u32 flags, u16 root note, u16, f32,
  u32 beats, u16 meter numerator, u16 meter denominator, f32 tempo — numerator first, as those
  programs read it (libsndfile reads the two swapped: libsndfile issue #190).
- smpl (Microsoft RIFF sampler chunk): 9 u32 header fields, then 24-byte loops.
- bext (EBU Tech 3285 v2, Broadcast Wave): fixed 602 bytes + coding history.
- LIST/INFO (RIFF INFO list): NUL-terminated strings under 4-character ids.
- iXML (iXML 2.x): an XML document; dawgen's provenance JSON sits in <DAWGEN_PROVENANCE>.
"""
from __future__ import annotations

import json
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, BinaryIO
from xml.sax.saxutils import escape

from .wav import chunk

ACID_ONE_SHOT, ACID_ROOT_VALID, ACID_STRETCH, ACID_DISK_BASED = 0x01, 0x02, 0x04, 0x08
UNKNOWN_LOUDNESS = 0x7FFF  # bext v2: "not measured"


@dataclass
class FileFacts:
    """What the chunks say about one file; None = unknown (the field is left out or flagged)."""

    frames: int
    sample_rate: int
    title: str = ""
    comment: str = ""
    software: str = ""
    job_id: str = ""
    created: float = 0.0
    bpm: float | None = None
    beats: float | None = None
    time_signature: tuple[int, int] = (4, 4)
    root_note: int | None = None
    loop: bool = False
    keywords: str = ""
    time_reference: int = 0
    loudness_lufs: float | None = None
    true_peak_dbtp: float | None = None


def acid(f: FileFacts) -> bytes:
    flags = ACID_ONE_SHOT if not f.loop else ACID_STRETCH
    if f.root_note is not None:
        flags |= ACID_ROOT_VALID
    beats = int(round(f.beats)) if f.beats else 0
    numerator, denominator = f.time_signature
    payload = struct.pack("<IHHfIHHf", flags, f.root_note if f.root_note is not None else 60, 0x8000, 0.0,
                          beats, numerator, denominator, float(f.bpm or 0.0))
    return chunk(b"acid", payload)


def smpl(f: FileFacts) -> bytes:
    loops = [(0, 0, 0, f.frames - 1, 0, 0)] if f.loop and f.frames > 1 else []
    header = struct.pack("<9I", 0, 0, round(1e9 / f.sample_rate), f.root_note if f.root_note is not None else 60,
                         0, 0, 0, len(loops), 0)
    return chunk(b"smpl", header + b"".join(struct.pack("<6I", *loop) for loop in loops))


def _fixed(text: str, size: int) -> bytes:
    return text.encode("ascii", "replace")[:size].ljust(size, b"\x00")


def _centi(value: float | None) -> int:
    return UNKNOWN_LOUDNESS if value is None else max(-32768, min(32767, int(round(value * 100))))


def bext(f: FileFacts) -> bytes:
    when = datetime.fromtimestamp(f.created or 0)
    payload = (
        _fixed(f.title, 256) + _fixed("dawgen", 32) + _fixed(f.job_id, 32)
        + _fixed(when.strftime("%Y-%m-%d"), 10) + _fixed(when.strftime("%H:%M:%S"), 8)
        + struct.pack("<II", f.time_reference & 0xFFFFFFFF, f.time_reference >> 32)
        + struct.pack("<H", 2) + b"\x00" * 64
        + struct.pack("<hhhhh", _centi(f.loudness_lufs), UNKNOWN_LOUDNESS, _centi(f.true_peak_dbtp),
                      UNKNOWN_LOUDNESS, UNKNOWN_LOUDNESS)
        + b"\x00" * 180
        + f"A=PCM,F={f.sample_rate},T={f.software}\r\n".encode("ascii", "replace")
    )
    return chunk(b"bext", payload)


def info_list(f: FileFacts) -> bytes:
    fields = {b"INAM": f.title, b"ICMT": f.comment, b"ISFT": f.software,
              b"ICRD": datetime.fromtimestamp(f.created or 0).strftime("%Y-%m-%d"), b"IKEY": f.keywords}
    body = b"INFO" + b"".join(chunk(tag, text.encode("utf-8") + b"\x00") for tag, text in fields.items() if text)
    return chunk(b"LIST", body)


def ixml(f: FileFacts, provenance: Mapping[str, Any]) -> bytes:
    doc = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<BWFXML>'
        "<IXML_VERSION>2.10</IXML_VERSION>"
        f"<PROJECT>{escape(f.title)}</PROJECT>"
        f"<NOTE>{escape(f.comment)}</NOTE>"
        f"<DAWGEN_PROVENANCE>{escape(json.dumps(provenance, default=str, sort_keys=True))}</DAWGEN_PROVENANCE>"
        "</BWFXML>"
    )
    return chunk(b"iXML", doc.encode("utf-8"))


def all_chunks(f: FileFacts, provenance: Mapping[str, Any]) -> list[bytes]:
    """Every dawgen chunk, in the order written before `data`."""
    out = [bext(f), info_list(f), ixml(f, provenance), smpl(f)]
    if f.bpm or not f.loop:
        out.insert(0, acid(f))
    return out


def find_chunk(fh: BinaryIO, tag: bytes) -> bytes | None:
    """The data of a WAV file's first `tag` chunk, None when it has none (or is no WAV). Walks chunk
    headers with seeks, so a long file's audio is never read (some writers put chunks after data)."""
    if fh.read(4) != b"RIFF" or (fh.read(4) and fh.read(4) != b"WAVE"):
        return None
    while True:
        header = fh.read(8)
        if len(header) < 8:
            return None
        found, size = header[:4], struct.unpack("<I", header[4:])[0]
        if found == tag:
            return fh.read(size)
        fh.seek(size + (size & 1), 1)


def read_provenance(fh: BinaryIO) -> dict[str, Any] | None:
    """The provenance JSON from a WAV file's iXML chunk (for `dawgen regen` without a sidecar)."""
    data = find_chunk(fh, b"iXML")
    if data is None:
        return None
    from xml.etree import ElementTree

    node = ElementTree.fromstring(data.rstrip(b"\x00")).find("DAWGEN_PROVENANCE")
    return json.loads(node.text) if node is not None and node.text else None
