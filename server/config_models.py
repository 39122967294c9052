"""[models.NAME] and [loras.NAME]: the entries, their parsing, and the key check a model entry gets
once its backend is known (server/registry.py). Re-exported by server/config.py."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .suggest import did_you_mean


@dataclass
class ModelConfig:
    name: str
    backend: str
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class LoraConfig:
    """[loras.NAME]: an adapter made elsewhere (stable-audio-tools' LoRA file or a peft folder)."""

    name: str
    path: str
    base: str  # the model it was made for: it is offered (and applied) on that model only
    trigger: str = ""


# keys every [models.NAME] entry may carry; backends add their own (Backend.config_keys)
MODEL_COMMON_KEYS: dict[str, type] = {"backend": str, "device": str, "preload": bool, "path": str}


def parse_models(value: Any, errors: list[str]) -> dict[str, ModelConfig]:
    if not isinstance(value, dict):
        errors.append("[models] must hold tables like [models.NAME]")
        return {}
    models: dict[str, ModelConfig] = {}
    for name, entry in value.items():
        if not isinstance(entry, dict):
            errors.append(f"models.{name}: must be a table with at least backend = \"...\"")
            continue
        backend = entry.get("backend")
        if not isinstance(backend, str) or not backend:
            errors.append(f"models.{name}.backend: required (a backend name such as \"synth\")")
            continue
        options = {k: v for k, v in entry.items() if k != "backend"}
        for key in ("device", "path"):
            if key in options and not isinstance(options[key], str):
                errors.append(f"models.{name}.{key}: expected a string")
        if "preload" in options and not isinstance(options["preload"], bool):
            errors.append(f"models.{name}.preload: expected true or false")
        models[name] = ModelConfig(name=name, backend=backend, options=options)
    return models


LORA_KEYS = ("path", "base", "trigger")


def parse_loras(value: Any, errors: list[str]) -> dict[str, LoraConfig]:
    """[loras.NAME] tables: path and base required, strings only, no other keys."""
    if not isinstance(value, dict):
        errors.append("[loras] must hold tables like [loras.NAME]")
        return {}
    loras: dict[str, LoraConfig] = {}
    for name, entry in value.items():
        if not isinstance(entry, dict):
            errors.append(f"loras.{name}: must be a table with path = \"...\" and base = \"<model name>\"")
            continue
        bad = [f"loras.{name}.{k}: unknown key{did_you_mean(k, LORA_KEYS)}" for k in entry if k not in LORA_KEYS]
        bad += [f"loras.{name}.{k}: expected a string" for k in LORA_KEYS if k in entry and not isinstance(entry[k], str)]
        bad += [f"loras.{name}.{k}: required" for k in ("path", "base") if not entry.get(k)]
        errors.extend(bad)
        if not bad:
            loras[name] = LoraConfig(name, entry["path"], entry["base"], entry.get("trigger", ""))
    return loras


def check_model_keys(model: ModelConfig, backend_keys: Mapping[str, type]) -> list[str]:
    """Unknown or mistyped keys of one model entry, once its backend's keys are known."""
    allowed = {**MODEL_COMMON_KEYS, **backend_keys}
    errors = []
    for key, value in model.options.items():
        where = f"models.{model.name}.{key}"
        if key not in allowed:
            errors.append(f"{where}: unknown key for backend {model.backend}{did_you_mean(key, allowed)}")
        elif not isinstance(value, allowed[key]) or (allowed[key] is int and isinstance(value, bool)):
            errors.append(f"{where}: expected {allowed[key].__name__}, got {type(value).__name__}")
    return errors
