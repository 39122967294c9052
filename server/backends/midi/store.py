"""The weights folder: `midi.json` (configs, training record, evaluation figures, groove statistics)
beside one `<model>.pt` state dict per model (stored as float16 to keep the folder small).

The shipped folder is server/backends/midi/weights; `dawgen train-midi --out FOLDER` writes the same
layout, and `[models.NAME] backend = "midi"`, `path = FOLDER` loads it.
"""
from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

SHIPPED = Path(__file__).resolve().parent / "weights"
INDEX = "midi.json"
HARMONY_KINDS = ("chords", "bass", "improv", "voicing")  # harmony/models.py
MODEL_KINDS = ("melody", "drums", "vae_melody", "vae_drums", *HARMONY_KINDS)


def read_index(folder: str | os.PathLike[str]) -> dict[str, Any]:
    """midi.json of a weights folder; ValueError (user-facing) when it is missing or broken."""
    path = Path(folder) / INDEX
    try:
        index = json.loads(path.read_text())
    except FileNotFoundError:
        raise ValueError(f"{folder} is not a midi weights folder: no {INDEX} (make one with `dawgen train-midi`)") from None
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: cannot be read ({exc})") from None
    if not isinstance(index, dict) or not isinstance(index.get("models"), dict):
        raise ValueError(f"{path}: not a midi weights index (no `models` table)")
    return index


def write_index(folder: str | os.PathLike[str], index: dict[str, Any]) -> None:
    path = Path(folder) / INDEX
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(index, indent=1, sort_keys=True))
    os.replace(tmp, path)


def save_model(folder: str | os.PathLike[str], kind: str, model: Any) -> str:
    import torch

    name = f"{kind}.pt"
    state = {k: v.detach().to(torch.float16) if v.is_floating_point() else v for k, v in model.state_dict().items()}
    tmp = Path(folder) / f".{name}.tmp"
    torch.save(state, tmp)
    os.replace(tmp, Path(folder) / name)
    return name


def store_model(folder: str | os.PathLike[str], index: dict[str, Any], kind: str, model: Any, info: dict[str, Any],
                log: Callable[[str], None]) -> None:
    """Save a trained model and record it (config, training figures, file size) in the folder's
    index at once, so a recipe stopped later still leaves every model it finished usable."""
    entry = {"file": save_model(folder, kind, model), "config": model.config, **info}
    entry["bytes"] = os.path.getsize(Path(folder) / entry["file"])
    index["models"][kind] = entry
    write_index(folder, index)
    log(f"{kind}: {info['params']} parameters, {entry['bytes']} bytes, trained in {info['train_seconds']} s; "
        f"{info.get('eval', {})}")


def load_model(folder: str | os.PathLike[str], kind: str, entry: dict[str, Any], model: str = "",
               trusted: bool = False) -> Any:
    """A model of the folder: its `.pt` holds a state dict of tensors only, read weights-only (a
    folder from someone else runs no code) unless the model's allow_pickle trusts it."""
    from ..safe_load import load_torch
    from .models import build

    net = build(kind, dict(entry["config"]))
    state = load_torch(Path(folder) / entry["file"], trusted=trusted, model=model)
    if not isinstance(state, dict):
        raise TypeError(f"{entry['file']} holds a {type(state).__name__}, not a state dict")
    net.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    return net.eval()
