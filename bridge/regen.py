"""`dawgen regen FILE`: make a dawgen file again from its provenance.

The provenance is read from the sidecar `.json` when it is there, else from inside the file (WAV
iXML chunk, FLAC Vorbis comment), so a file copied on its own still regenerates. The request is the
original one with the file's own seed and count 1: with the same model version and device the new
file is sample-identical (see docs/DAW-READY.md for where it cannot be, e.g. across GPU kinds).
A file made with LoRA adapters (`lora=`) names each one's file and sha256: an adapter changed or gone
since then would make another file, so regen refuses it unless told to go ahead (`--force`).
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from server.output.encode import read_provenance
from server.output.provenance import file_sha256


class RegenError(ValueError):
    pass


def load_provenance(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise RegenError(f"{path}: no such file")
    sidecar = path.with_suffix(".json")
    if sidecar.is_file():
        try:
            data = json.loads(sidecar.read_text())
        except ValueError as exc:
            raise RegenError(f"{sidecar}: not valid JSON ({exc})") from None
    else:
        data = read_provenance(str(path))
    if not data or "request" not in data:
        raise RegenError(f"{path}: no dawgen provenance found (no sidecar .json, nothing embedded)")
    return data


def request_from(provenance: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(verb, params) that make the same file again."""
    request = provenance["request"]
    verb = request.get("verb") or provenance.get("verb")
    if not verb:
        raise RegenError("the provenance names no verb")
    params = dict(request.get("params") or {})
    if provenance.get("seed") is not None:
        params["seed"] = provenance["seed"]  # this file's seed (variation i of a count has seed + i)
    if "count" in params or "count" in provenance.get("params", {}):
        params["count"] = 1
    model = (provenance.get("model") or {}).get("name")
    if model:
        params["model"] = model
    return verb, params


def changed_adapters(provenance: dict[str, Any]) -> list[str]:
    """Why the file's LoRA adapters would not make it again: each one whose file is gone or whose
    sha256 differs from the one recorded when the file was made."""
    problems = []
    for item in provenance.get("loras") or []:
        name, path, want = item.get("name", "?"), str(item.get("path") or ""), str(item.get("sha256") or "")
        if not path or not os.path.isfile(path):
            problems.append(f"lora {name}: its file {path or '(unrecorded)'} is gone")
            continue
        now = file_sha256(path)
        if want and now != want:
            problems.append(f"lora {name} changed since the file was made ({path}: sha256 {want[:12]}... is now "
                            f"{now[:12]}...)")
    return problems
