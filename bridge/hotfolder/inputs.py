"""A claimed drop → the engine requests it stands for. Pure functions of the files, so a restart
rebuilds exactly the same requests (same ids, same params) for a drop found in processing/.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import soundfile as sf

from server.config import RECIPE_RESERVED_PARAMS, RecipeConfig
from server.errors import DawgenError, ErrorCode
from server.jobs import Request
from server.output.naming import slugify

from .layout import Layout, parse_claimed, request_id

MAX_TEXT_BYTES = 1 << 20  # a prompt list or a request is small; anything bigger is a wrong drop
MAX_PROMPTS = 256  # one job per line: a runaway file must not bury the queue


@dataclass(frozen=True)
class Drop:
    """A dropped file (and its sidecar) after the claim: both live in processing/<recipe>/."""

    recipe: str
    token: str
    main: Path
    sidecar: Path | None = None

    @property
    def original(self) -> str:
        """The name the file had in the inbox."""
        parsed = parse_claimed(self.main.name)
        return parsed[1] if parsed else self.main.name


def build_requests(recipe_name: str, recipe: RecipeConfig, drop: Drop) -> list[Request]:
    """Parse the drop; raises DawgenError(bad_request) naming the file when it does not parse."""
    overrides = _read_sidecar(drop.sidecar) if drop.sidecar is not None else {}
    if recipe.takes == "prompts":
        own = _prompt_params(drop.main, drop.original, recipe_name)
    elif recipe.takes == "folder":
        own = [_folder_params(drop.main, drop.original)]
    elif recipe.takes == "midi":
        _check_midi(drop.main, drop.original)
        own = [{"input": str(drop.main)}]
    else:
        _check_audio(drop.main, drop.original)
        own = [{"input": str(drop.main)}]
    client = {"hotfolder": recipe_name, "input": drop.original}
    requests = []
    for index, params in enumerate(own):
        merged = {**recipe.params, **overrides, **params, "dir": Layout.outbox_param(recipe_name)}
        requests.append(Request(recipe.verb, merged, request_id(recipe_name, drop.token, index), client))
    return requests


def _bad(message: str) -> DawgenError:
    return DawgenError(ErrorCode.BAD_REQUEST, message)


def _read_small(path: Path, shown: str) -> bytes:
    if path.stat().st_size > MAX_TEXT_BYTES:
        raise _bad(f"{shown}: larger than {MAX_TEXT_BYTES // 1024} KiB; expected a short text or JSON file")
    return path.read_bytes()


def _read_json_object(path: Path, shown: str) -> dict[str, Any]:
    try:
        data = json.loads(_read_small(path, shown).decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise _bad(f"{shown}: not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise _bad(f"{shown}: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise _bad(f"{shown}: expected a JSON object of parameters, got {type(data).__name__}")
    taken = [k for k in RECIPE_RESERVED_PARAMS if k in data]
    if taken:
        raise _bad(f"{shown}: {', '.join(taken)} cannot be set here; the hot folder sets them "
                   "(the dropped file is the input, results go to the recipe's outbox)")
    return data


def _read_sidecar(path: Path) -> dict[str, Any]:
    parsed = parse_claimed(path.name)
    return _read_json_object(path, f"sidecar {parsed[1] if parsed else path.name}")


def _prompt_params(path: Path, shown: str, recipe_name: str) -> list[dict[str, Any]]:
    suffix = Path(shown).suffix.lower()
    if suffix == ".json":
        return [_read_json_object(path, shown)]
    if suffix != ".txt":
        raise _bad(f"{shown}: the {recipe_name} recipe takes a .txt of prompts (one per line) "
                   "or a .json request")
    try:
        text = _read_small(path, shown).decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _bad(f"{shown}: not UTF-8 text") from None
    # Blank lines and # comments let a producer keep notes in the same list.
    prompts = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    if not prompts:
        raise _bad(f"{shown}: no prompts (one per line; blank lines and # comments are skipped)")
    if len(prompts) > MAX_PROMPTS:
        raise _bad(f"{shown}: {len(prompts)} prompts; at most {MAX_PROMPTS} per file")
    return [{"prompt": prompt} for prompt in prompts]


FOLDER_PARAMS = "train.json"  # inside a dropped folder: the request's params (a folder recipe)


def _folder_params(path: Path, shown: str) -> dict[str, Any]:
    """A dropped folder is the request's `data`; its name the default `name`; `train.json` inside
    it may set any other param (and override `name`)."""
    if not path.is_dir():
        raise _bad(f"{shown}: this recipe takes a folder of sounds")
    params: dict[str, Any] = {"name": slugify(shown, fallback="trained")}  # "My Kicks" -> my-kicks
    inside = path / FOLDER_PARAMS
    if inside.is_file():
        given = _read_json_object(inside, f"{shown}/{FOLDER_PARAMS}")
        params.update({k: v for k, v in given.items() if v is not None})  # null: not given
    params["data"] = str(path)
    return params


def _check_audio(path: Path, shown: str) -> None:
    try:
        info = sf.info(str(path))
    except (RuntimeError, OSError, TypeError) as exc:  # LibsndfileError is a RuntimeError
        raise _bad(f"{shown}: not an audio file libsndfile can read ({exc})") from None
    if info.frames <= 0:
        raise _bad(f"{shown}: the audio file holds no samples")


def _check_midi(path: Path, shown: str) -> None:
    with open(path, "rb") as fh:
        head = fh.read(14)
    if len(head) < 14 or head[:4] != b"MThd":
        raise _bad(f"{shown}: not a standard MIDI file (no MThd header)")
