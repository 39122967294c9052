"""The Hugging Face cache layout and the hub's folder layout, read without huggingface_hub.

A cache repo folder `models--ORG--NAME/` holds `refs/main` (the commit it points at) and
`snapshots/<commit>/`, whose files are links into `blobs/`: a download cut short leaves links to
nothing, so files are checked through their links (`exists()`) and a missing one is named.
The checks here are the ones every backend reading such folders makes (bark, musicgen, diffusers,
stable-audio), with the same words, so a broken download reads the same whichever model it is."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import DawgenError, ErrorCode

# a transformers model's weights: one file (safetensors first, as transformers reads them), or
# shards that an index names
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
WEIGHT_INDEXES = ("model.safetensors.index.json", "pytorch_model.bin.index.json")
BROKEN_LINK = " (a link to a blob that is not there)"


def snapshot(repo: Path) -> Path | None:
    """The snapshot `refs/main` names, else the newest one; None when `repo` has none."""
    snapshots = repo / "snapshots"
    if not snapshots.is_dir():
        return None
    ref = repo / "refs" / "main"
    if ref.is_file():
        named = snapshots / ref.read_text(encoding="utf-8").strip()
        if named.is_dir():
            return named
    found = sorted((p for p in snapshots.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime, reverse=True)
    return found[0] if found else None


def unavailable(message: str) -> DawgenError:
    return DawgenError(ErrorCode.MODEL_UNAVAILABLE, message)


def model_folder(path: str, marker: str, no_path: str, what: str = "model folder") -> Path:
    """The folder holding `marker` (config.json, model_index.json...): `path` itself, or the snapshot
    a cache repo folder points at. model_unavailable: `no_path` when `path` is empty, else what is
    missing."""
    if not path:
        raise unavailable(no_path)
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise unavailable(f"{what} {folder} does not exist")
    if (folder / "snapshots").is_dir() and not (folder / marker).exists():
        found = snapshot(folder)
        if found is None:
            raise unavailable(f"{folder} is a Hugging Face cache folder without any snapshot in {folder / 'snapshots'}")
        return found
    return folder


def read_json(file: Path, missing: str = "") -> dict[str, Any]:
    """A JSON object file; model_unavailable naming it when it is missing (`missing`, if given, says
    what to do), unreadable or not an object."""
    if not file.exists():
        raise unavailable(missing or f"missing file {file}" + (BROKEN_LINK if file.is_symlink() else ""))
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise unavailable(f"cannot read {file}: {exc}") from None
    if not isinstance(data, dict):
        raise unavailable(f"{file} does not hold a JSON object")
    return data


def single_weights(folder: Path) -> Path | None:
    """The one weights file of a transformers folder (its hash names the model in provenance);
    None for sharded weights or none."""
    return next((folder / n for n in WEIGHT_FILES if (folder / n).exists()), None)


def _shards(index: Path) -> list[str]:
    weight_map = read_json(index).get("weight_map", {})
    return sorted(set(weight_map.values())) if isinstance(weight_map, dict) else []


def weight_files(folder: Path) -> list[Path]:
    """Every file of the weights transformers loads: the single file, else the shards an index names."""
    single = single_weights(folder)
    if single is not None:
        return [single]
    for name in WEIGHT_INDEXES:
        if (folder / name).exists():
            return [folder / shard for shard in _shards(folder / name)]
    return []


def check_weights(folder: Path) -> None:
    """model_unavailable naming the first weights file a transformers folder lacks: the single file,
    a shard its index lists, or a cache link whose blob never finished downloading."""
    if single_weights(folder) is not None:
        return
    for name in WEIGHT_INDEXES:
        if (folder / name).exists() or (folder / name).is_symlink():
            missing = [s for s in _shards(folder / name) if not (folder / s).exists()]
            if missing:
                raise unavailable(f"missing file {folder / missing[0]} (listed in {name})")
            return
    broken = [name for name in WEIGHT_FILES if (folder / name).is_symlink()]
    if broken:
        raise unavailable(f"missing file {folder / broken[0]}{BROKEN_LINK}: no weights in {folder}")
    raise unavailable(f"missing file {folder / WEIGHT_FILES[0]} (or {WEIGHT_FILES[1]}): no weights in {folder}")
