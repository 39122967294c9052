"""Model entries from the config, created and loaded lazily, kept warm once loaded.

A model whose backend is missing, whose config is wrong or whose files are absent is reported at
start and marked unavailable; requests for it get `model_unavailable` with that reason, and every
other model keeps working.

Warm models share a memory budget per device (server/memory.py). Before a model loads, the least
recently used warm models on its device are unloaded until it fits; a model larger than the whole
budget is refused with `out_of_memory` before anything is unloaded, instead of failing in the driver
halfway through a job. Each model process (one per worker, server/model_process.py) keeps its own registry.
"""
from __future__ import annotations

import importlib
import logging
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any

from . import model_folders
from .adapters import AdapterRegistry
from .backends import backend_class
from .backends.base import Backend
from .catalog import pull_hint
from .config import Config, ModelConfig, check_model_keys
from .errors import DawgenError, ErrorCode
from .memory import Budgets, gb
from .model_folders import FolderModel

log = logging.getLogger("dawgen.registry")

# Always present (a `[models.NAME]` of the same name replaces one). The synth is preloaded in the
# background after start so the first request is fast. `midi` (the MIDI models that ship with
# dawgen) and `transcribe` (basic-pitch) need extras; without them they are listed as unavailable
# with the extra to install, and the rest of the daemon is unaffected.
BUILTIN_MODELS = {
    "synth": ModelConfig(name="synth", backend="synth", options={"preload": True}),
    "midi": ModelConfig(name="midi", backend="midi"),
    "transcribe": ModelConfig(name="transcribe", backend="transcribe"),
    # audio in, audio out: effect chains, fit to the grid, denoise (server/backends/process; pedalboard)
    "process": ModelConfig(name="process", backend="process"),
    # `clean model=deepfilternet`: DeepFilterNet 3 for speech (the denoise extra); after `process`, so
    # a `clean` without `model=` stays the spectral gate, for music
    "deepfilternet": ModelConfig(name="deepfilternet", backend="deepfilternet"),
    # the `train` verb: fine-tunes of stable-audio models on a producer's files (server/training)
    "train": ModelConfig(name="train", backend="train"),
    # the `pull` verb: a catalog model downloaded and registered as a job (server/catalog/job.py)
    "pull": ModelConfig(name="pull", backend="pull"),
}
# Backends that live beside server/backends rather than in its table (`train` is listed there).
OWN_BACKENDS = {"pull": "server.catalog.job:PullBackend"}


@dataclass
class ModelEntry:
    config: ModelConfig
    backend: Backend | None = None
    unavailable: str = ""  # why requests for this model fail, when they do
    last_used: float = 0.0
    evictions: int = 0
    folder: FolderModel | None = None  # a model folder's (a training run's) entry, re-read when it changes

    @property
    def name(self) -> str:
        return self.config.name


class Registry:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.default_model = config.server.default_model
        self.budgets = Budgets(config.server.memory_budget)
        # One lock for the books and for loading: two workers sharing this registry (thread
        # isolation) must not both decide there is room and then both load.
        self._lock = threading.RLock()
        self._entries: dict[str, ModelEntry] = {}
        self.builtin = {name for name in BUILTIN_MODELS if name not in config.models}
        # LoRA adapters ([loras.NAME] and trained runs), rescanned with the model folders
        self.adapters = AdapterRegistry(config.loras)
        self.adapters.refresh = self.scan_folders
        for name, problem in self.adapters.problems().items():
            log.warning("lora %s is unusable: %s", name, problem)
        # configured models first: a verb with no model named goes to the first model that does it
        for model in {**config.models, **{n: m for n, m in BUILTIN_MODELS.items() if n in self.builtin}}.values():
            self._entries[model.name] = self._make_entry(model)
        self.scan_folders()
        if self.default_model not in self._entries:
            raise DawgenError(
                ErrorCode.UNKNOWN_MODEL,
                f"server.default_model {self.default_model!r} is not a configured model "
                f"(models: {', '.join(sorted(self._entries))})",
            )

    def scan_folders(self) -> list[str]:
        """Add (or refresh) the models in `[training] models_dir`'s folders; a configured model of
        the same name wins. Returns the names added or refreshed."""
        changed = []
        found = model_folders.scan(self.config.models_dir)
        self.adapters.update_runs({name: model.config.options for name, model in found.items()})
        for name, model in found.items():
            with self._lock:
                entry = self._entries.get(name)
                if entry is not None and (entry.folder is None or entry.folder.mtime == model.mtime):
                    continue
                if entry is not None:
                    self.unload(name)
                self._entries[name] = self._make_entry(model.config, model)
            changed.append(name)
        return changed

    def _make_entry(self, model: ModelConfig, folder: FolderModel | None = None) -> ModelEntry:
        entry = ModelEntry(config=model, folder=folder)
        try:
            cls = _backend_class(model.backend)
            errors = check_model_keys(model, cls.config_keys)
            if errors:
                raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, "; ".join(errors))
            entry.backend = cls(model.name, model.options)
            entry.backend.attach(self)
            entry.backend.check_available()
        except DawgenError as exc:
            entry.unavailable = exc.message
        except ImportError as exc:  # an optional extra is missing
            entry.unavailable = f"backend {model.backend!r} cannot be imported: {exc}"
        except Exception as exc:
            # its models only: the daemon and every other model keep working
            log.exception("backend %s of model %s failed its checks", model.backend, model.name)
            entry.unavailable = f"backend {model.backend!r} failed its checks: {type(exc).__name__}: {exc}"
        return entry

    def problems(self) -> dict[str, str]:
        """Model name -> why it is unavailable; logged at start and shown by `dawgen doctor`."""
        return {name: e.unavailable for name, e in self._entries.items() if e.unavailable}

    def get(self, name: str) -> ModelEntry | None:
        """The entry named `name` as it is now (no lookup on disk, no error)."""
        return self._entries.get(name)

    def names(self) -> list[str]:
        return sorted(self._entries)

    def entries(self) -> list[ModelEntry]:
        """Every entry, the default model first, then configured models, then built-in ones."""
        default = self._entries.get(self.default_model)
        return ([default] if default is not None else []) + [e for e in self._entries.values() if e is not default]

    def model_for(self, verb: str) -> str:
        """The model a request without `model=` goes to: the default model if it does `verb`, else
        the first configured model that does, else a built-in one. Raises a clear error when the
        models that could do it are unavailable (naming why: usually an extra to install)."""
        doers = [e for e in self.entries() if e.backend is not None and verb in e.backend.verbs]
        for entry in doers:
            if not entry.unavailable:
                return entry.name
        if doers:
            entry = doers[0]
            raise DawgenError(ErrorCode.MODEL_UNAVAILABLE,
                              f"{verb!r} is done by model {entry.name!r}, which is unavailable: {entry.unavailable}")
        return self.default_model  # the caller reports the unknown verb with its usual hint

    def resolve(self, name: str | None) -> ModelEntry:
        """The entry for `name` (or the default), raising the error a client should see. A name
        not known yet, or a model folder changed on disk (a new checkpoint), is looked up in the
        model folders again; `NAME@STEP` is checkpoint STEP of the trained model NAME."""
        name = name or self.default_model
        entry = self._entries.get(name)
        if entry is None or (entry.folder is not None and self._folder_changed(entry.folder)):
            self.scan_folders()
            entry = self._entries.get(name) or self._checkpoint_entry(name)
        if entry is None:
            raise DawgenError(
                ErrorCode.UNKNOWN_MODEL, f"no model named {name!r} (models: {', '.join(self.names())}){pull_hint(name)}"
            )
        if entry.unavailable or entry.backend is None:
            raise DawgenError(ErrorCode.MODEL_UNAVAILABLE,
                              f"model {name!r} is unavailable: {entry.unavailable}{pull_hint(name)}")
        return entry

    @staticmethod
    def _folder_changed(folder: FolderModel) -> bool:
        try:
            return (folder.folder / model_folders.MODEL_FILE).stat().st_mtime != folder.mtime
        except OSError:
            return False  # a run folder being replaced: keep what is loaded

    def _checkpoint_entry(self, name: str) -> ModelEntry | None:
        """The entry of `NAME@STEP`, made and kept on first use."""
        split = model_folders.split_step(name)
        parent = self._entries.get(split[0]) if split is not None else None
        if split is None or parent is None or parent.folder is None:
            return None
        with self._lock:
            if name not in self._entries:
                self._entries[name] = self._make_entry(model_folders.at_step(parent.folder, split[1]))
            return self._entries[name]

    def backend(self, name: str) -> Backend:
        """The backend for a job: loaded on first use (after making room on its device), then kept
        warm until the budget needs its memory for another model."""
        entry = self.resolve(name)
        backend = entry.backend
        if backend is None:  # resolve() already refuses this; kept for the type checker
            raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, f"model {name!r} has no backend")
        with self._lock:
            entry.last_used = time.monotonic()
            if not backend.loaded:
                self._make_room(entry, backend)
                backend.load()
                self._make_room(entry, backend, loaded=True)  # the measured footprint may exceed the estimate
                log.info("model %s warm on %s (%s)", name, backend.device, gb(backend.memory_bytes()))
        return backend

    def _make_room(self, entry: ModelEntry, backend: Backend, loaded: bool = False) -> None:
        """Unload least recently used models on the device until `entry` fits beside the rest.
        Before loading, `entry`'s size is its estimate; once `loaded`, its measured footprint (a
        model that turns out larger than the whole budget then stays: unloading it again would
        only fail the job after the work of loading it)."""
        need = backend.memory_bytes()
        if need == 0:  # nothing worth counting (the DSP synth): no budget to look up
            return
        device = backend.device if loaded else backend.planned_device()
        budget = self.budgets.for_device(device)
        if need > budget and not loaded:
            raise DawgenError(
                ErrorCode.OUT_OF_MEMORY,
                f"model {entry.name!r} needs about {gb(need)} on {device}, more than its memory budget of "
                f"{gb(budget)} ({self.budgets.source(device)})")
        warm = sorted((e for e in self._entries.values()
                       if e is not entry and e.backend is not None and e.backend.loaded
                       and same_device(e.backend.device, device)), key=lambda e: e.last_used)
        used = sum(e.backend.memory_bytes() for e in warm if e.backend is not None)
        for victim in warm:
            if used + need <= budget:
                break
            freed = victim.backend.memory_bytes() if victim.backend is not None else 0
            log.info("unloading model %s (%s, least recently used) to make room for %s on %s",
                     victim.name, gb(freed), entry.name, device)
            self.unload(victim.name)
            used -= freed

    def unload(self, name: str) -> None:
        entry = self._entries[name]
        if entry.backend is None or not entry.backend.loaded:
            return
        device = entry.backend.device
        with self._lock:
            entry.backend.unload()
            entry.evictions += 1
        if "torch" in sys.modules:
            from .backends.torch_util import release_memory

            release_memory(device)

    def unload_others(self, keep: str) -> list[str]:
        """Unload every warm model on `keep`'s device but `keep` (after an out-of-memory error:
        the job gets one more try with the whole device). Returns the names unloaded."""
        entry = self._entries[keep]
        device = entry.backend.device if entry.backend is not None else "cpu"
        names = [e.name for e in self._entries.values() if e is not entry and e.backend is not None
                 and e.backend.loaded and e.backend.memory_bytes() > 0 and same_device(e.backend.device, device)]
        for name in names:
            self.unload(name)
        return names

    def warm(self) -> dict[str, dict[str, Any]]:
        """The loaded models: name -> device, bytes, seconds since last use (for `models`)."""
        now = time.monotonic()
        with self._lock:
            return {e.name: {"device": e.backend.device, "memory_bytes": e.backend.memory_bytes(),
                             "idle_seconds": round(now - e.last_used, 1)}
                    for e in self._entries.values() if e.backend is not None and e.backend.loaded}

    def preload(self) -> None:
        for entry in self._entries.values():
            if entry.backend is not None and not entry.unavailable and entry.config.options.get("preload"):
                log.info("preloading model %s", entry.name)
                self.backend(entry.name)

    def describe(self) -> list[dict[str, Any]]:
        out = []
        for name in self.names():
            entry = self._entries[name]
            item: dict[str, Any] = {"name": name, "backend": entry.config.backend,
                                    "default": name == self.default_model}
            if entry.backend is not None:
                item.update(entry.backend.describe())
                item["loaded"] = entry.backend.loaded
                item["memory_bytes"] = entry.backend.memory_bytes()
                if takes_lora(entry.backend):
                    item["loras"] = self.adapters.describe(name)
            if entry.unavailable:
                item["unavailable"] = entry.unavailable
            out.append(item)
        return out


def _backend_class(name: str) -> type:
    target = OWN_BACKENDS.get(name)
    if target is None:
        return backend_class(name)
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


def takes_lora(backend: Backend) -> bool:
    """Whether a model's verbs take `lora` (server/params.py lora_param)."""
    return any(p.name == "lora" for specs in backend.verbs.values() for p in specs)


def same_device(a: str, b: str) -> bool:
    """`cuda` and `cuda:0` are one device (torch's default CUDA device is 0 unless set)."""
    def norm(d: str) -> str:
        return "cuda:0" if d == "cuda" else d
    return norm(a) == norm(b)
