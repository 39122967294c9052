"""Finished audio → file bytes: WAV with DAW chunks, or FLAC with Vorbis comments.

Both carry the same facts (tempo, beats, meter, key, loop or one-shot, loudness) and the full
provenance, so a file copied without its sidecar still says how to make it again.
"""
from __future__ import annotations

import io
import json
from collections.abc import Mapping
from typing import Any

import numpy as np
import soundfile as sf

from .. import __version__
from ..errors import DawgenError, ErrorCode
from ..music import parse_key, parse_time_signature
from . import wav, wavchunks
from .wavchunks import FileFacts

_FLAC_SUBTYPES = {"16": "PCM_16", "24": "PCM_24"}
PROVENANCE_TAG = "DAWGEN_PROVENANCE"


def file_facts(samples: np.ndarray, rate: int, params: Mapping[str, Any], post: Mapping[str, Any],
               meta: Mapping[str, Any], job_id: str, created: float) -> FileFacts:
    """What the metadata chunks say about one output, from the request and what post-processing did."""
    grid = post.get("grid") or {}
    key = parse_key(params["key"]) if params.get("key") else None
    root = key.root_note if key else meta.get("note")
    prompt = str(params.get("prompt") or meta.get("title") or "")
    bpm = grid.get("bpm")
    words = [f"{bpm:g}bpm" if bpm else "", key.name if key else "", "loop" if post.get("loop") else "one-shot"]
    loudness = post.get("loudness") or {}
    return FileFacts(
        frames=int(samples.shape[0]), sample_rate=rate, title=prompt,
        comment=f"dawgen {params.get('model', '')} seed {meta.get('seed', params.get('seed', ''))}".strip(),
        software=f"dawgen {__version__}", job_id=job_id, created=created,
        bpm=bpm, beats=grid.get("beats"),
        time_signature=parse_time_signature(str(params.get("time_signature") or "4/4")),
        root_note=int(root) if root is not None else None, loop=bool(post.get("loop")),
        keywords=" ".join(w for w in words if w),
        time_reference=int(round(float(params["position"]) * rate)) if params.get("position") is not None else 0,
        loudness_lufs=loudness.get("lufs_after"), true_peak_dbtp=loudness.get("true_peak_after"),
    )


def encode(samples: np.ndarray, rate: int, fmt: str, bit_depth: str, facts: FileFacts,
           provenance: Mapping[str, Any]) -> bytes | bytearray:
    if fmt == "wav":
        return wav.encode(samples, rate, bit_depth, wavchunks.all_chunks(facts, provenance))
    if fmt == "flac":
        return _flac(samples, rate, bit_depth, facts, provenance)
    raise DawgenError(ErrorCode.BAD_REQUEST, f"unknown format {fmt!r}")


def _flac(samples: np.ndarray, rate: int, bit_depth: str, facts: FileFacts, provenance: Mapping[str, Any]) -> bytes:
    subtype = _FLAC_SUBTYPES.get(bit_depth)
    if subtype is None:
        raise DawgenError(ErrorCode.BAD_REQUEST, f"flac cannot store bit_depth {bit_depth}")
    from mutagen.flac import FLAC  # only FLAC output pays for importing mutagen

    buf = io.BytesIO()
    sf.write(buf, samples, rate, subtype=subtype, format="FLAC")
    buf.seek(0)
    tags = FLAC(buf)
    for name, value in _vorbis_comments(facts, provenance).items():
        tags[name] = value
    buf.seek(0)
    tags.save(buf)
    return buf.getvalue()


def _vorbis_comments(f: FileFacts, provenance: Mapping[str, Any]) -> dict[str, str]:
    numerator, denominator = f.time_signature
    out = {"TITLE": f.title, "COMMENT": f.comment, "ENCODER": f.software,
           "DESCRIPTION": f.keywords, PROVENANCE_TAG: json.dumps(provenance, default=str, sort_keys=True)}
    if f.bpm:
        out["BPM"] = f"{f.bpm:g}"
        out["TIMESIGNATURE"] = f"{numerator}/{denominator}"
    if f.beats:
        out["BEATS"] = f"{f.beats:g}"
    if provenance.get("params", {}).get("key"):
        out["INITIALKEY"] = parse_key(provenance["params"]["key"]).name
    out["LOOP"] = "1" if f.loop else "0"
    return {k: v for k, v in out.items() if v}


def read_provenance(path: str) -> dict[str, Any] | None:
    """Provenance embedded in a dawgen WAV (iXML) or FLAC (Vorbis comment)."""
    with open(path, "rb") as fh:
        head = fh.read(4)
        if head == b"RIFF":
            fh.seek(0)
            return wavchunks.read_provenance(fh)
    if head == b"fLaC":
        from mutagen.flac import FLAC

        values = FLAC(path).get(PROVENANCE_TAG)
        return json.loads(values[0]) if values else None
    return None
