"""TOML config → typed config, with errors that name the key.

Every key is declared once here (section, name, type, default) so unknown keys and wrong types are
caught at start instead of surfacing as odd behaviour hours later.
"""
from __future__ import annotations

import difflib
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib


class ConfigError(ValueError):
    """The config file (or a flag) is wrong; the message names every bad key."""


def default_output_root() -> Path:
    """The per-user music folder: ~/Music on macOS, Windows and Linux (XDG_MUSIC_DIR if set)."""
    xdg = os.environ.get("XDG_MUSIC_DIR")
    return Path(xdg).expanduser() if xdg else Path.home() / "Music"


def default_state_dir() -> Path:
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "dawgen"
    if os.name == "nt":
        return Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local")) / "dawgen"
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "dawgen"


@dataclass
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 9950
    default_model: str = "synth"
    state_dir: str = ""
    devices: list[str] = field(default_factory=lambda: ["cpu"])
    drain_seconds: float = 30.0
    journal_sync: str = "normal"
    dedupe_seconds: float = 600.0
    journal_keep_days: float = 30.0
    max_packet_bytes: int = 65536
    log_level: str = "info"
    # "process": models run in one child process per device (responsive, crash-isolated);
    # "thread": in the daemon process (tests, embedding, debugging with pdb)
    isolation: str = "process"


@dataclass
class OutputConfig:
    root: str = ""
    sample_rate: int = 48000
    bit_depth: str = "24"
    format: str = "wav"


@dataclass
class ModelConfig:
    name: str
    backend: str
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class Config:
    server: ServerConfig = field(default_factory=ServerConfig)
    output: OutputConfig = field(default_factory=OutputConfig)
    models: dict[str, ModelConfig] = field(default_factory=dict)
    source: str = ""

    @property
    def output_root(self) -> Path:
        return Path(self.output.root).expanduser() if self.output.root else default_output_root()

    @property
    def state_dir(self) -> Path:
        return Path(self.server.state_dir).expanduser() if self.server.state_dir else default_state_dir()


_SECTIONS: dict[str, type] = {"server": ServerConfig, "output": OutputConfig}
_CHOICES = {
    ("server", "journal_sync"): ("normal", "full"),
    ("server", "log_level"): ("debug", "info", "warning", "error"),
    ("server", "isolation"): ("process", "thread"),
    ("output", "bit_depth"): ("16", "24", "32f"),
    ("output", "format"): ("wav", "flac"),
}
# keys every [models.NAME] entry may carry; backends add their own (Backend.config_keys)
MODEL_COMMON_KEYS: dict[str, type] = {"backend": str, "device": str, "preload": bool, "path": str}


def load(path: str | os.PathLike[str] | None = None, overrides: Mapping[str, Any] | None = None) -> Config:
    """Read `path` (optional) and apply `overrides` ({"server.port": 9951, ...}); validate all."""
    data: dict[str, Any] = {}
    source = ""
    if path is not None:
        source = str(path)
        try:
            with open(path, "rb") as fh:
                data = tomllib.load(fh)
        except FileNotFoundError:
            raise ConfigError(f"config file not found: {path}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    for dotted, value in (overrides or {}).items():
        if value is None:
            continue
        section, _, key = dotted.partition(".")
        data.setdefault(section, {})[key] = value
    config = parse(data)
    config.source = source
    return config


def parse(data: Mapping[str, Any]) -> Config:
    errors: list[str] = []
    config = Config()
    for section, value in data.items():
        if section == "models":
            config.models = _parse_models(value, errors)
        elif section in _SECTIONS:
            if not isinstance(value, dict):
                errors.append(f"[{section}] must be a table")
                continue
            setattr(config, section, _parse_section(section, value, errors))
        else:
            errors.append(f"unknown section [{section}]{_suggest(section, [*_SECTIONS, 'models'])}")
    if errors:
        raise ConfigError("config errors:\n  " + "\n  ".join(errors))
    return config


def _parse_section(section: str, values: Mapping[str, Any], errors: list[str]) -> Any:
    cls = _SECTIONS[section]
    obj = cls()
    fields = {name: type(getattr(obj, name)) for name in obj.__dataclass_fields__}
    for key, value in values.items():
        where = f"{section}.{key}"
        if key not in fields:
            errors.append(f"{where}: unknown key{_suggest(key, fields)}")
            continue
        coerced = _coerce(value, fields[key], where, errors)
        if coerced is None:
            continue
        choices = _CHOICES.get((section, key))
        if choices and str(coerced) not in choices:
            errors.append(f"{where}: {coerced!r} is not one of {', '.join(choices)}")
            continue
        setattr(obj, key, str(coerced) if choices else coerced)
    if section == "server" and not 0 <= obj.port < 65536:  # 0 = any free port (tests, benchmarks)
        errors.append(f"server.port: {obj.port} is not a port number (0-65535)")
    return obj


def _coerce(value: Any, want: type, where: str, errors: list[str]) -> Any:
    if want is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if want is str and isinstance(value, int) and not isinstance(value, bool):
        return str(value)  # bit_depth = 24
    if want is list:
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return value
        errors.append(f"{where}: expected a list of strings, got {value!r}")
        return None
    if want is int and isinstance(value, bool) or not isinstance(value, want):
        errors.append(f"{where}: expected {want.__name__}, got {type(value).__name__} {value!r}")
        return None
    return value


def _parse_models(value: Any, errors: list[str]) -> dict[str, ModelConfig]:
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


def check_model_keys(model: ModelConfig, backend_keys: Mapping[str, type]) -> list[str]:
    """Unknown or mistyped keys of one model entry, once its backend's keys are known."""
    allowed = {**MODEL_COMMON_KEYS, **backend_keys}
    errors = []
    for key, value in model.options.items():
        where = f"models.{model.name}.{key}"
        if key not in allowed:
            errors.append(f"{where}: unknown key for backend {model.backend}{_suggest(key, allowed)}")
        elif not isinstance(value, allowed[key]) or (allowed[key] is int and isinstance(value, bool)):
            errors.append(f"{where}: expected {allowed[key].__name__}, got {type(value).__name__}")
    return errors


def _suggest(word: str, options: Any) -> str:
    close = difflib.get_close_matches(word, list(options), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
