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

from dataclasses import dataclass
from pathlib import Path
from typing import Any

# WEIGHT_FILES, WEIGHT_INDEXES: public here before hf_cache.py held them for every backend
from ..hf_cache import WEIGHT_FILES as WEIGHT_FILES
from ..hf_cache import WEIGHT_INDEXES as WEIGHT_INDEXES
from ..hf_cache import check_weights, model_folder, read_json, single_weights
from ..hf_cache import unavailable as _unavailable

MODEL_TYPES = {"musicgen": "MusicgenForConditionalGeneration",
               "musicgen_melody": "MusicgenMelodyForConditionalGeneration"}
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


def resolve_folder(path: str) -> Path:
    """The folder that holds config.json: `path` itself, or the snapshot a cache folder points at."""
    return model_folder(path, "config.json",
                        "no `path` given: set path = \"/folder/of/the/model\" in its [models.NAME] entry")


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
    config = read_json(config_file)
    model_type = str(config.get("model_type", ""))
    if model_type not in MODEL_TYPES:
        raise _unavailable(f"{config_file}: model_type {model_type!r} is not MusicGen "
                           f"(expected {' or '.join(MODEL_TYPES)})")
    check_weights(folder)
    _check_tokenizer(folder)
    preprocessor_file = folder / "preprocessor_config.json"
    preprocessor = read_json(preprocessor_file) if preprocessor_file.exists() else {}
    return ModelFiles(folder, model_type, config, preprocessor)


def weight_file(folder: Path) -> Path | None:
    """The single weights file (for its hash in provenance); None for sharded weights."""
    return single_weights(folder)
