"""The voices of an `rvc` model, found on disk (no torch): `[models.NAME.voices]` and `voices_dir`.

RVC WebUI writes a voice as `NAME.pth` (assets/weights) and its retrieval index as
`added_IVF<n>_Flat_nprobe_1_NAME_v2.index` (logs/NAME); shared voices come as a folder or zip holding
both. So a voice is a `.pth`, and its index is the `added_*.index` that names it beside the `.pth`
(or the only one there), unless the config names it.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...errors import DawgenError, ErrorCode


@dataclass(frozen=True)
class Voice:
    name: str
    pth: Path
    index: Path | None


def find_voices(options: Mapping[str, Any], model: str) -> dict[str, Voice]:
    """Name -> Voice from `voices_dir` (every `*.pth` in it and its subfolders, by file stem) and
    the `voices` table (which wins). Raises model_unavailable for a named file that is missing."""
    found: dict[str, Voice] = {}
    folder = options.get("voices_dir")
    if folder:
        root = Path(str(folder)).expanduser()
        if not root.is_dir():
            raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, f"models.{model}.voices_dir: {root} is not a folder")
        for pth in sorted(root.rglob("*.pth")):
            if pth.is_file() and not _is_training_file(pth):
                found.setdefault(pth.stem, Voice(pth.stem, pth, index_beside(pth)))
    for name, entry in dict(options.get("voices") or {}).items():
        found[str(name)] = _table_voice(str(name), entry, model)
    return found


def _is_training_file(pth: Path) -> bool:
    """RVC's training checkpoints (G_2333333.pth, D_...) sit beside voices in logs/: they are not voices."""
    return pth.stem[:2] in ("G_", "D_") and pth.stem[2:].isdigit()


def _table_voice(name: str, entry: Any, model: str) -> Voice:
    where = f"models.{model}.voices.{name}"
    if isinstance(entry, str):
        pth, index = Path(entry).expanduser(), None
    elif isinstance(entry, Mapping) and isinstance(entry.get("pth"), str):
        pth = Path(entry["pth"]).expanduser()
        index = Path(str(entry["index"])).expanduser() if entry.get("index") else None
        unknown = set(entry) - {"pth", "index"}
        if unknown:
            raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, f"{where}: unknown key {', '.join(sorted(unknown))} "
                                                           "(a voice takes `pth` and `index`)")
    else:
        raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, f'{where}: give a .pth path or {{pth = "...", index = "..."}}')
    if not pth.is_file():
        raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, f"{where}: {pth} is not a file")
    if index is not None and not index.is_file():
        raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, f"{where}: index {index} is not a file")
    return Voice(name, pth, index if index is not None else index_beside(pth))


def index_beside(pth: Path) -> Path | None:
    """The `added_*.index` beside `pth` that names the voice, else the only `added_*.index` there."""
    indexes = sorted(p for p in pth.parent.glob("added_*.index") if p.is_file())
    named = [p for p in indexes if f"_{pth.stem}_" in p.name or p.stem.endswith(f"_{pth.stem}")]
    if named:
        return named[0]
    return indexes[0] if len(indexes) == 1 else None


def pick(voices: Mapping[str, Voice], name: str, model: str) -> Voice:
    """The voice a request names; bad_request listing the model's voices otherwise."""
    voice = voices.get(name)
    if voice is None:
        listed = ", ".join(sorted(voices)) or "none: set voices_dir or [models.NAME.voices]"
        raise DawgenError(ErrorCode.BAD_REQUEST, f"voice: {name!r} is not a voice of model {model} (voices: {listed})")
    return voice
