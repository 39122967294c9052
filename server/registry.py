"""Model entries from the config, created and loaded lazily, kept warm once loaded.

A model whose backend is missing, whose config is wrong or whose files are absent is reported at
start and marked unavailable; requests for it get `model_unavailable` with that reason, and every
other model keeps working.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from .backends import backend_class
from .backends.base import Backend
from .config import Config, ModelConfig, check_model_keys
from .jobs import DawgenError, ErrorCode

log = logging.getLogger("dawgen.registry")

# Always present; preloaded in the background after start so the first request is fast.
BUILTIN_MODELS = {"synth": ModelConfig(name="synth", backend="synth", options={"preload": True})}


@dataclass
class ModelEntry:
    config: ModelConfig
    backend: Backend | None = None
    unavailable: str = ""  # why requests for this model fail, when they do
    last_used: float = 0.0

    @property
    def name(self) -> str:
        return self.config.name


class Registry:
    def __init__(self, config: Config) -> None:
        self.default_model = config.server.default_model
        self._lock = threading.Lock()
        self._entries: dict[str, ModelEntry] = {}
        for model in {**BUILTIN_MODELS, **config.models}.values():
            self._entries[model.name] = self._make_entry(model)
        if self.default_model not in self._entries:
            raise DawgenError(
                ErrorCode.UNKNOWN_MODEL,
                f"server.default_model {self.default_model!r} is not a configured model "
                f"(models: {', '.join(sorted(self._entries))})",
            )

    @staticmethod
    def _make_entry(model: ModelConfig) -> ModelEntry:
        entry = ModelEntry(config=model)
        try:
            cls = backend_class(model.backend)
            errors = check_model_keys(model, cls.config_keys)
            if errors:
                raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, "; ".join(errors))
            entry.backend = cls(model.name, model.options)
            entry.backend.check_available()
        except DawgenError as exc:
            entry.unavailable = exc.message
        except ImportError as exc:  # an optional extra is missing
            entry.unavailable = f"backend {model.backend!r} cannot be imported: {exc}"
        return entry

    def problems(self) -> dict[str, str]:
        """Model name -> why it is unavailable; logged at start and shown by `dawgen doctor`."""
        return {name: e.unavailable for name, e in self._entries.items() if e.unavailable}

    def names(self) -> list[str]:
        return sorted(self._entries)

    def resolve(self, name: str | None) -> ModelEntry:
        """The entry for `name` (or the default), raising the error a client should see."""
        name = name or self.default_model
        entry = self._entries.get(name)
        if entry is None:
            raise DawgenError(
                ErrorCode.UNKNOWN_MODEL, f"no model named {name!r} (models: {', '.join(self.names())})"
            )
        if entry.unavailable or entry.backend is None:
            raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, f"model {name!r} is unavailable: {entry.unavailable}")
        return entry

    def backend(self, name: str) -> Backend:
        """The backend for a job: loaded on first use, then kept warm."""
        entry = self.resolve(name)
        backend = entry.backend
        if backend is None:  # resolve() already refuses this; kept for the type checker
            raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, f"model {name!r} has no backend")
        with self._lock:
            entry.last_used = time.monotonic()
        backend.load()
        return backend

    def preload(self) -> None:
        for entry in self._entries.values():
            if entry.backend is not None and not entry.unavailable and entry.config.options.get("preload"):
                log.info("preloading model %s", entry.name)
                entry.backend.load()

    def describe(self) -> list[dict[str, Any]]:
        out = []
        for name in self.names():
            entry = self._entries[name]
            item: dict[str, Any] = {"name": name, "backend": entry.config.backend,
                                    "default": name == self.default_model}
            if entry.backend is not None:
                item.update(entry.backend.describe())
                item["loaded"] = entry.backend.loaded
            if entry.unavailable:
                item["unavailable"] = entry.unavailable
            out.append(item)
        return out
