"""Training prompts for the stable-audio kinds: where each file's text comes from.

First match wins:
1. a sidecar beside the file: `kick.wav.txt` or `kick.txt` (the text), `kick.wav.json` or
   `kick.json` (`{"prompt": "..."}`);
2. a `metadata.csv` (header with `file` and `prompt` columns) or `metadata.jsonl` (one
   `{"file": ..., "prompt": ...}` per line) in the file's folder or any folder above it inside the
   dataset; `file` is relative to the metadata file (`file_name`, as Hugging Face audiofolder
   spells it, works too);
3. the folder and file names: `Kicks/808 punchy.wav` -> "kicks, 808 punchy".
The `trigger` word goes in front of every prompt, so a fine-tune learns it as the name of the sound.
"""
from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from .chop import Tempo

METADATA_FILES = ("metadata.csv", "metadata.jsonl")
_FILE_KEYS = ("file", "file_name", "path")
_PROMPT_KEYS = ("prompt", "caption", "text")
_SPACES = re.compile(r"\s+")


@dataclass
class PromptSource:
    """Prompts listed in the dataset's metadata files, by absolute path, and what went wrong reading them."""

    listed: dict[Path, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _clean(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


def _pick(row: dict, keys: tuple[str, ...]) -> str:
    for key in keys:
        value = row.get(key)
        if isinstance(value, str) and value.strip():
            return value
    return ""


def _rows(path: Path) -> list[dict]:
    """The rows of one metadata file; ValueError with the reason when it cannot be read."""
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix == ".csv":
        reader = csv.DictReader(text.splitlines())
        if not reader.fieldnames or not set(reader.fieldnames) & set(_FILE_KEYS) \
                or not set(reader.fieldnames) & set(_PROMPT_KEYS):
            raise ValueError("needs a header row with `file` and `prompt` columns")
        return list(reader)
    rows = []
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip():
            try:
                row = json.loads(line)
            except ValueError as exc:
                raise ValueError(f"line {number} is not JSON ({exc})") from None
            if not isinstance(row, dict):
                raise ValueError(f"line {number} is not a JSON object")
            rows.append(row)
    return rows


def load_metadata(folder: Path, metadata_files: list[Path]) -> PromptSource:
    """The prompts `metadata.csv` / `metadata.jsonl` files give; a broken file is noted and skipped."""
    source = PromptSource()
    for meta in metadata_files:
        shown = meta.relative_to(folder).as_posix()
        try:
            rows = _rows(meta)
        except (OSError, UnicodeDecodeError, ValueError, csv.Error) as exc:
            source.notes.append(f"{shown} ignored: {exc}")
            continue
        missing = 0
        for row in rows:
            name, prompt = _pick(row, _FILE_KEYS), _clean(_pick(row, _PROMPT_KEYS))
            target = (meta.parent / name).resolve() if name else None
            if target is None or not prompt:
                continue
            if not target.is_file():
                missing += 1
            source.listed.setdefault(target, prompt)
        if missing:
            source.notes.append(f"{shown} names {missing} file(s) that are not in the folder")
    return source


def _sidecar(path: Path) -> str:
    for text_file in (path.with_name(path.name + ".txt"), path.with_suffix(".txt")):
        if text_file.is_file():
            try:
                text = _clean(text_file.read_text(encoding="utf-8-sig"))
            except (OSError, UnicodeDecodeError):
                continue
            if text:
                return text
    for json_file in (path.with_name(path.name + ".json"), path.with_suffix(".json")):
        if json_file.is_file():
            try:
                data = json.loads(json_file.read_text(encoding="utf-8-sig"))
            except (OSError, UnicodeDecodeError, ValueError):
                continue
            if isinstance(data, dict) and isinstance(data.get("prompt"), str) and data["prompt"].strip():
                return _clean(data["prompt"])
    return ""


def name_prompt(relative: Path) -> str:
    """`Kicks/808 punchy.wav` -> "kicks, 808 punchy": folders and the file's stem, lower case,
    underscores read as spaces."""
    parts = [*relative.parent.parts, relative.stem]
    words = (_clean(part.replace("_", " ").lower()) for part in parts)
    return ", ".join(word for word in words if word)


def prompt_for(path: Path, folder: Path, listed: PromptSource) -> tuple[str, str]:
    """(prompt, where it came from: "sidecar", "metadata" or "name") for one audio file."""
    text = _sidecar(path)
    if text:
        return text, "sidecar"
    text = listed.listed.get(path.resolve(), "")
    if text:
        return text, "metadata"
    return name_prompt(path.relative_to(folder)), "name"


def with_tempo(prompt: str, tempo: Tempo | None) -> tuple[str, bool]:
    """The prompt with a `120 bpm` tag when the file's tempo is known and the prompt names none (a
    name-built prompt of `loop_120bpm.wav` already does); (prompt, added)."""
    if tempo is None or "bpm" in prompt.lower():
        return prompt, False
    tag = f"{tempo.bpm:g} bpm"
    return (f"{prompt}, {tag}" if prompt else tag), True


def with_trigger(prompt: str, trigger: str) -> str:
    trigger = _clean(trigger)
    if not trigger:
        return prompt
    return f"{trigger}, {prompt}" if prompt else trigger
