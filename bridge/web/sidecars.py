"""Prompt edits from the Training page, saved as the dataset's own prompt sidecars.

A prompt is written as `<file>.txt` beside its audio file (`kick.wav.txt`), the first place
server/training/prompts.py looks, so the run reads the edit with no other change. Only inside the
data folder the request names, and only beside a file that folder's scan reads as audio: the file
names are relative to it, nothing that climbs out, hides, or leads out through a symlink is written.
An empty prompt removes that sidecar (the file's metadata or name gives the prompt again).
"""
from __future__ import annotations

import os
import re
from pathlib import Path

from server.errors import DawgenError, ErrorCode
from server.training.files import scan

from .paths import relative_parts

MAX_PROMPT = 2000
MAX_FILES = 10_000
_SPACES = re.compile(r"\s+")


def data_folder(text: str) -> Path:
    """The data folder a request names: an absolute path to a folder (as the `train` verb's `data`)."""
    folder = Path(text).expanduser()
    if not text or not folder.is_absolute() or not folder.is_dir():
        raise DawgenError(ErrorCode.BAD_REQUEST, f"data: a folder of sounds (absolute path) is required; {text!r} is not one")
    return Path(os.path.realpath(folder))


def save_prompts(data: str, prompts: dict[str, str]) -> list[str]:
    """Write (or, for "", remove) each file's sidecar; the sidecars' paths relative to the folder.
    Every name is checked before anything is written: one bad name writes nothing."""
    if len(prompts) > MAX_FILES:
        raise DawgenError(ErrorCode.BAD_REQUEST, f"prompts: at most {MAX_FILES} files at once")
    root = data_folder(data)
    audio = {os.path.realpath(p) for p in scan(root)[0]}
    targets = [(_sidecar_of(root, name, audio), _clean(text)) for name, text in prompts.items()]
    written = []
    for sidecar, text in targets:
        if text:
            _write(sidecar, text)
        elif sidecar.is_file():
            sidecar.unlink()
        written.append(sidecar.relative_to(root).as_posix())
    return written


def _clean(text: str) -> str:
    text = _SPACES.sub(" ", str(text)).strip()
    if len(text) > MAX_PROMPT:
        raise DawgenError(ErrorCode.BAD_REQUEST, f"prompts: a prompt of at most {MAX_PROMPT} characters")
    return text


def _sidecar_of(root: Path, name: str, audio: set[str]) -> Path:
    try:
        parts = relative_parts(name)
    except DawgenError as exc:
        raise DawgenError(ErrorCode.OUT_OF_ROOT, f"prompts: {name!r}: {exc.message} (relative to the data folder)") from None
    real = os.path.realpath(root.joinpath(*parts))
    if os.path.commonpath([real, str(root)]) != str(root):
        raise DawgenError(ErrorCode.OUT_OF_ROOT, f"prompts: {name!r} leads outside the data folder")
    if real not in audio:
        raise DawgenError(ErrorCode.NOT_FOUND, f"prompts: {name!r} is not an audio file of the data folder")
    sidecar = Path(real + ".txt")
    if sidecar.is_symlink() or (sidecar.exists() and not sidecar.is_file()):
        raise DawgenError(ErrorCode.OUT_OF_ROOT, f"prompts: {sidecar.name} is a link or a folder; not writing it")
    return sidecar


def _write(path: Path, text: str) -> None:
    """Into a temporary file beside it, then renamed: the run never reads half a prompt."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text + "\n", encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        raise DawgenError(ErrorCode.WRITE_FAILED, f"prompts: could not write {path.name}: {exc}") from None
    finally:
        if tmp.exists():
            tmp.unlink()
