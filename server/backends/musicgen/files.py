"""Where a MusicGen model's files are, checked without importing torch or transformers.

Accepted `path`s:
- a folder in transformers format (what `save_pretrained` writes, or a download of
  facebook/musicgen-small, -medium, -large, -melody, -stereo-*);
- a Hugging Face cache snapshot, `.../models--facebook--musicgen-small/snapshots/<hash>/`, or the
  `models--...` folder itself (the snapshot that `refs/main` names is used, else the newest one).

Cache snapshots hold symlinks into `blobs/`; a download cut short leaves links to nothing, so every
file is checked through its link and a missing one is named in the error.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...errors import DawgenError, ErrorCode
from ..hf_cache import snapshot

MODEL_TYPES = {"musicgen": "MusicgenForConditionalGeneration",
               "musicgen_melody": "MusicgenMelodyForConditionalGeneration"}
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
WEIGHT_INDEXES = ("model.safetensors.index.json", "pytorch_model.bin.index.json")
# tokenizer.json is read by the tokenizers library; spiece.model alone needs sentencepiece + protobuf
TOKENIZER_FILES = ("tokenizer.json", "spiece.model")
AUDIOCRAFT_FILES = ("state_dict.bin", "compression_state_dict.bin")


@dataclass(frozen=True)
class ModelFiles:
    folder: Path
    model_type: str  # "musicgen" or "musicgen_melody"
    config: dict[str, Any]
    preprocessor: dict[str, Any]  # preprocessor_config.json, {} when absent

    @property
    def melody(self) -> bool:
        return self.model_type == "musicgen_melody"


def _unavailable(message: str) -> DawgenError:
    return DawgenError(ErrorCode.MODEL_UNAVAILABLE, message)


def resolve_folder(path: str) -> Path:
    """The folder that holds config.json: `path` itself, or the snapshot a cache folder points at."""
    if not path:
        raise _unavailable("no `path` given: set path = \"/folder/of/the/model\" in its [models.NAME] entry")
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise _unavailable(f"model folder {folder} does not exist")
    if (folder / "snapshots").is_dir() and not (folder / "config.json").exists():
        return _snapshot(folder)
    return folder


def _snapshot(repo: Path) -> Path:
    found = snapshot(repo)
    if found is None:
        raise _unavailable(f"{repo} is a Hugging Face cache folder without any snapshot in {repo / 'snapshots'}")
    return found


def _read_json(file: Path) -> dict[str, Any]:
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise _unavailable(f"missing file {file}") from None
    except (OSError, ValueError) as exc:
        raise _unavailable(f"cannot read {file}: {exc}") from None
    if not isinstance(data, dict):
        raise _unavailable(f"{file} does not hold a JSON object")
    return data


def _check_weights(folder: Path) -> None:
    for name in WEIGHT_INDEXES:
        index = folder / name
        if index.exists() or index.is_symlink():
            shards = sorted(set(_read_json(index).get("weight_map", {}).values()))
            missing = [s for s in shards if not (folder / s).exists()]
            if missing:
                raise _unavailable(f"missing file {folder / missing[0]} (listed in {index.name})")
            return
    for name in WEIGHT_FILES:
        if (folder / name).exists():
            return
        if (folder / name).is_symlink():  # a cache link whose blob never finished downloading
            raise _unavailable(f"missing file {folder / name} (a link to a blob that is not there)")
    raise _unavailable(f"missing file {folder / WEIGHT_FILES[0]} (or {WEIGHT_FILES[1]}): no weights in {folder}")


def _check_tokenizer(folder: Path) -> None:
    if any((folder / name).exists() for name in TOKENIZER_FILES):
        return
    raise _unavailable(f"missing file {folder / TOKENIZER_FILES[0]} (or {TOKENIZER_FILES[1]}): "
                       f"the folder has no T5 tokenizer")


def check_folder(path: str) -> ModelFiles:
    """Every file the backend needs, or a model_unavailable error naming the first one missing."""
    folder = resolve_folder(path)
    config_file = folder / "config.json"
    if not config_file.exists():
        if all((folder / name).exists() for name in AUDIOCRAFT_FILES):
            raise _unavailable(
                f"{folder} holds an audiocraft checkpoint (state_dict.bin + compression_state_dict.bin); "
                "this backend reads transformers-format folders (config.json + model.safetensors + tokenizer); "
                "set backend = \"audiocraft\" for this one (docs/MODELS.md, \"audiocraft\")")
        raise _unavailable(f"missing file {config_file}")
    config = _read_json(config_file)
    model_type = str(config.get("model_type", ""))
    if model_type not in MODEL_TYPES:
        raise _unavailable(f"{config_file}: model_type {model_type!r} is not MusicGen "
                           f"(expected {' or '.join(MODEL_TYPES)})")
    _check_weights(folder)
    _check_tokenizer(folder)
    preprocessor_file = folder / "preprocessor_config.json"
    preprocessor = _read_json(preprocessor_file) if preprocessor_file.exists() else {}
    return ModelFiles(folder, model_type, config, preprocessor)


def weight_file(folder: Path) -> Path | None:
    """The single weights file (for its hash in provenance); None for sharded weights."""
    for name in WEIGHT_FILES:
        if (folder / name).exists():
            return folder / name
    return None
