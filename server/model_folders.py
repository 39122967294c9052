"""Model folders: a folder holding `dawgen-model.toml` is a model, whatever made it (a training run,
later `dawgen pull`). The file is the `[models.NAME]` entry a user would write, with paths relative
to the folder; the registry reads every folder under `[training] models_dir` at start and again
when a request names a model it does not know yet, so a finished run is usable at once, with no
config edit and no restart.

`NAME@STEP` names an earlier checkpoint of a training run (`step-<STEP>/` in its folder).
"""
from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import ModelConfig
from .errors import DawgenError, ErrorCode

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

MODEL_FILE = "dawgen-model.toml"
PATH_KEYS = ("path", "adapter", "t5_path", "training")  # options that name files: relative to the folder
STEP = re.compile(r"^(?P<name>.+)@(?P<step>\d+)$")


@dataclass(frozen=True)
class FolderModel:
    config: ModelConfig
    folder: Path
    mtime: float  # of dawgen-model.toml: a newer checkpoint rewrites it


def read(folder: Path) -> FolderModel:
    """The one model `folder/dawgen-model.toml` declares; model_unavailable when it cannot be read."""
    path = Path(folder) / MODEL_FILE
    try:
        mtime = path.stat().st_mtime
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, f"{path}: cannot read it ({exc})") from None
    models = data.get("models")
    if not isinstance(models, dict) or len(models) != 1:
        raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, f"{path}: expected exactly one [models.NAME] table")
    ((name, entry),) = models.items()
    if not isinstance(entry, dict) or not isinstance(entry.get("backend"), str):
        raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, f"{path}: [models.{name}] needs a backend")
    options = {k: v for k, v in entry.items() if k != "backend"}
    for key in PATH_KEYS:
        if isinstance(options.get(key), str) and options[key] and not Path(options[key]).expanduser().is_absolute():
            options[key] = str(Path(folder) / options[key])
    return FolderModel(ModelConfig(name=str(name), backend=entry["backend"], options=options), Path(folder), mtime)


def scan(models_dir: Path) -> dict[str, FolderModel]:
    """Every readable model folder directly under `models_dir`, by model name (unreadable ones are
    skipped here: a run still writing its first checkpoint has none yet)."""
    found: dict[str, FolderModel] = {}
    root = Path(models_dir)
    if not root.is_dir():
        return found
    for folder in sorted(p for p in root.iterdir() if (p / MODEL_FILE).is_file()):
        try:
            model = read(folder)
        except DawgenError:
            continue
        found.setdefault(model.config.name, model)
    return found


def split_step(name: str) -> tuple[str, int] | None:
    """("my-kicks", 500) for "my-kicks@500", else None."""
    match = STEP.match(name)
    return (match.group("name"), int(match.group("step"))) if match else None


def at_step(model: FolderModel, step: int) -> ModelConfig:
    """The entry for checkpoint `step` of a training run: its own weights, or its own adapter on the base."""
    checkpoint = model.folder / f"step-{step}"
    if not checkpoint.is_dir():
        steps = sorted(int(p.name[5:]) for p in model.folder.glob("step-*") if p.name[5:].isdigit())
        raise DawgenError(ErrorCode.UNKNOWN_MODEL, f"model {model.config.name!r} has no checkpoint at step {step} "
                                                   f"(checkpoints: {', '.join(map(str, steps)) or 'none'})")
    options = dict(model.config.options)
    if options.get("adapter"):
        options["adapter"] = str(checkpoint / Path(str(options["adapter"])).name)
    else:
        options["path"] = str(checkpoint)
    return ModelConfig(name=f"{model.config.name}@{step}", backend=model.config.backend, options=options)


def training_record(path: str | Path) -> dict[str, Any]:
    """The run record (training.json) a trained model's entry names with `training`: what made the
    model (kind, base, settings, the data and its owner/licence), carried into every file's provenance."""
    try:
        record = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return {"unreadable": f"{path}: {exc}"}
    return record if isinstance(record, dict) else {"unreadable": str(path)}
