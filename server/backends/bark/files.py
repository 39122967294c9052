"""Where a Bark model's files are, checked without importing torch or transformers.

Accepted `path`s: a folder in transformers format (what `save_pretrained` writes, or a download of
suno/bark-small or suno/bark), or a Hugging Face cache entry (`models--suno--bark-small/` or one of
its snapshots; server/backends/hf_cache.py).

Speaker presets ("voices") are laid out as on the hub: `speaker_embeddings_path.json` maps each
preset name (`v2/en_speaker_6`, `announcer`) to three `.npy` files (semantic, coarse and fine
prompts) relative to the folder. A cache holds only the presets that were downloaded: presets whose
files are missing are left out of the available ones, not an error. The `.npy` files are read with
allow_pickle=False (an object array in one refuses to load) and checked for shape and range here,
because transformers' own BarkProcessor loads them with numpy's defaults.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from ...errors import DawgenError, ErrorCode

# WEIGHT_FILES, WEIGHT_INDEXES: public here before hf_cache.py held them for every backend
from ..hf_cache import WEIGHT_FILES as WEIGHT_FILES
from ..hf_cache import WEIGHT_INDEXES as WEIGHT_INDEXES
from ..hf_cache import check_weights, model_folder, read_json, single_weights
from ..hf_cache import unavailable as _unavailable
from ..hf_cache import weight_files as _weight_files

TOKENIZER_FILES = ("tokenizer.json", "vocab.txt")  # Bark's tokenizer is BERT's (multilingual, cased)
VOICES_FILE = "speaker_embeddings_path.json"
# each preset's arrays: (dimensions, the exclusive upper bound of its token values)
PROMPTS = {"semantic_prompt": (1, 10_000), "coarse_prompt": (2, 1024), "fine_prompt": (2, 1024)}


@dataclass(frozen=True)
class BarkFiles:
    folder: Path
    config: dict[str, Any]
    voices: dict[str, dict[str, Path]] = field(default_factory=dict)  # complete presets: name -> key -> .npy
    listed: int = 0  # presets the table names (a cache may hold fewer)

    def weights(self) -> Path | None:
        """The single weights file (for its hash in provenance); None for sharded weights."""
        return single_weights(self.folder)

    def weight_files(self) -> list[Path]:
        """Every file of the weights transformers loads (safetensors first, as it does)."""
        return _weight_files(self.folder)


def resolve_folder(path: str) -> Path:
    return model_folder(path, "config.json", "no `path` given: set path = \"/folder/of/the/model\" in its "
                        "[models.NAME] entry (a download of suno/bark-small, or its Hugging Face cache folder)")


def check_folder(path: str) -> BarkFiles:
    """Every file the backend needs, or a model_unavailable error naming the first one missing."""
    folder = resolve_folder(path)
    config_file = folder / "config.json"
    config = read_json(config_file)
    if config.get("model_type") != "bark":
        raise _unavailable(f"{config_file}: model_type {config.get('model_type')!r} is not Bark (expected 'bark')")
    check_weights(folder)
    if not any((folder / name).exists() for name in TOKENIZER_FILES):
        raise _unavailable(f"missing file {folder / TOKENIZER_FILES[0]} (or {TOKENIZER_FILES[1]}): "
                           "the folder has no BERT tokenizer")
    voices, listed = read_voices(folder)
    return BarkFiles(folder, config, voices, listed)


def read_voices(folder: Path) -> tuple[dict[str, dict[str, Path]], int]:
    """The presets of `speaker_embeddings_path.json` whose three files are there, and how many it names.
    No table: no presets (Bark then picks a speaker at random, by the seed)."""
    table_file = folder / VOICES_FILE
    if not table_file.exists():
        return {}, 0
    table = read_json(table_file)
    voices: dict[str, dict[str, Path]] = {}
    listed = 0
    for name, entry in table.items():
        if name == "repo_or_path" or not isinstance(entry, dict):
            continue  # the hub's table also names the repo it came from
        listed += 1
        files = {key: _inside(folder, entry.get(key)) for key in PROMPTS}
        if all(f is not None and f.exists() for f in files.values()):
            voices[name] = {key: f for key, f in files.items() if f is not None}
    return voices, listed


def _inside(folder: Path, relative: Any) -> Path | None:
    """folder/relative when `relative` is a relative path that stays inside (cache files are links
    into blobs/, so this is checked on the name, not on the resolved file)."""
    if not isinstance(relative, str) or not relative:
        return None
    parts = PurePosixPath(relative.replace("\\", "/"))
    if parts.is_absolute() or ".." in parts.parts:
        return None
    return folder.joinpath(*parts.parts)


def voice_error(files: BarkFiles, name: str) -> DawgenError:
    """bad_request for a preset this model does not have, listing the ones it has."""
    table = files.folder / VOICES_FILE
    if not files.voices:
        where = f"{table} names none whose files are there" if files.listed else f"{files.folder} has no {VOICES_FILE}"
        return DawgenError(ErrorCode.BAD_REQUEST, f"voice: {name!r} is not available ({where}); leave voice out "
                                                  "for a speaker picked by the seed")
    return DawgenError(ErrorCode.BAD_REQUEST, f"voice: {name!r} is not one of this model's voices "
                                              f"(from {table}): {', '.join(sorted(files.voices))}")


def load_voice(files: BarkFiles, name: str) -> dict[str, np.ndarray]:
    """The three prompt arrays of a preset, read without pickle and checked, as int64."""
    if name not in files.voices:
        raise voice_error(files, name)
    out: dict[str, np.ndarray] = {}
    for key, (dims, bound) in PROMPTS.items():
        path = files.voices[name][key]
        try:
            array = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as exc:  # an object array asks for pickle: refused here
            raise _unavailable(f"voice {name!r}: cannot read {path} without pickle ({exc})") from None
        if array.ndim != dims or array.size == 0 or not np.issubdtype(array.dtype, np.integer):
            raise _unavailable(f"voice {name!r}: {path} holds a {array.dtype} array of shape {array.shape}; "
                               f"expected {dims}-D integer tokens")
        if int(array.min()) < 0 or int(array.max()) >= bound:
            raise _unavailable(f"voice {name!r}: {path} holds tokens outside 0..{bound - 1}")
        out[key] = array.astype(np.int64)
    if out["coarse_prompt"].shape[0] != 2 or out["fine_prompt"].shape[0] < 2:
        raise _unavailable(f"voice {name!r}: coarse prompt must have 2 codebooks, fine prompt at least 2")
    return out
