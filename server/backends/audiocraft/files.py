"""An audiocraft checkpoint folder: where it is, which family it is, read without torch.

A folder holds `state_dict.bin` (the LM) and `compression_state_dict.bin` (EnCodec), as audiocraft's
trainer exports them and `MusicGen.get_pretrained(folder)` reads them; a Hugging Face cache entry
(`models--facebook--audiogen-medium`, or one of its `snapshots/<rev>/` folders) is resolved to its
snapshot. Each file is `{"xp.cfg": <yaml>, "best_state": <state dict>}` in torch's zip format; the
family (`solver:` in xp.cfg) and whether the model takes a melody (a `chroma_stem` conditioner) are
read from the pickle inside the zip with an unpickler that builds nothing: every class it names is
a stand-in dict and tensors are never read, so the daemon process learns the verbs without torch
and without running the file's code.
"""
from __future__ import annotations

import pickle
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..hf_cache import snapshot
from ..hf_cache import unavailable as _unavailable

LM_FILE = "state_dict.bin"
COMPRESSION_FILE = "compression_state_dict.bin"
FAMILIES = ("musicgen", "audiogen", "magnet", "audio-magnet")
# xp.cfg's `solver:` -> family (audio-magnet's solver is magnet at 16 kHz: told by its sample rate)
_SOLVERS = {"musicgen": "musicgen", "audiogen": "audiogen", "magnet": "magnet"}


@dataclass(frozen=True)
class Checkpoint:
    folder: Path
    family: str
    melody: bool
    sample_rate: int

    @property
    def lm_file(self) -> Path:
        return self.folder / LM_FILE

    @property
    def magnet(self) -> bool:
        return self.family in ("magnet", "audio-magnet")


def resolve(path: str) -> Path:
    """The folder holding the two files: `path`, or the snapshot of a Hugging Face cache entry.
    Unlike hf_cache.model_folder this names no missing folder: mbd.find passes file paths and
    folders alike, and check_folder names what is missing in audiocraft's words."""
    if not path:
        raise _unavailable("an audiocraft model needs `path`: a folder with state_dict.bin and "
                           "compression_state_dict.bin, or a Hugging Face cache entry")
    folder = Path(path).expanduser()
    return snapshot(folder) or folder


class _Stub(dict):
    """Whatever class the pickle names: an empty dict that accepts any state."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def __setstate__(self, state: Any) -> None:
        return None


class _ConfigOnly(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        return _Stub

    def persistent_load(self, pid: Any) -> Any:
        return None  # tensor storages: never read


def read_config(file: Path) -> str:
    """The `xp.cfg` yaml of a checkpoint file. model_unavailable naming the file if it is unreadable."""
    try:
        with zipfile.ZipFile(file) as archive:
            name = next(n for n in archive.namelist() if n.endswith("/data.pkl") or n == "data.pkl")
            with archive.open(name) as handle:
                package = _ConfigOnly(handle).load()
    except (OSError, zipfile.BadZipFile, StopIteration, pickle.UnpicklingError, EOFError, ValueError) as exc:
        raise _unavailable(f"{file}: not a checkpoint audiocraft wrote (a torch zip file with xp.cfg): {exc}") from None
    config = package.get("xp.cfg") if isinstance(package, dict) else None
    if not isinstance(config, str):
        raise _unavailable(f"{file}: has no `xp.cfg` (not an audiocraft checkpoint)")
    return config


def _family(config: str, given: str) -> str:
    if given:
        if given not in FAMILIES:
            raise _unavailable(f"family {given!r} is not one of {', '.join(FAMILIES)}")
        return given
    match = re.search(r"^solver:\s*(\S+)", config, re.M)
    family = _SOLVERS.get(match.group(1).strip("'\"")) if match else None
    if family is None:
        raise _unavailable(f"xp.cfg names no family this backend knows (solver: {match.group(1) if match else '?'}); "
                           f"set `family` to one of {', '.join(FAMILIES)}")
    if family == "magnet" and _sample_rate(config) == 16000:
        return "audio-magnet"
    return family


def _sample_rate(config: str) -> int:
    match = re.search(r"^sample_rate:\s*(\d+)", config, re.M)
    return int(match.group(1)) if match else 32000


def check_folder(path: str, family: str = "") -> Checkpoint:
    """The checkpoint at `path`, its files present; model_unavailable naming what is missing."""
    folder = resolve(path)
    if not folder.is_dir():
        raise _unavailable(f"{folder}: no such folder")
    for name in (LM_FILE, COMPRESSION_FILE):
        if not (folder / name).is_file():
            extra = " (a transformers-format MusicGen folder goes to backend = \"musicgen\")" \
                if (folder / "config.json").is_file() else ""
            raise _unavailable(f"{folder / name}: missing; an audiocraft model folder holds {LM_FILE} and "
                               f"{COMPRESSION_FILE}{extra}")
    config = read_config(folder / LM_FILE)
    read_config(folder / COMPRESSION_FILE)  # a truncated or foreign file is named here, not deep in torch
    return Checkpoint(folder, _family(config, family), "chroma_stem" in config, _sample_rate(config))
