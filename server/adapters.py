"""LoRA adapters at generation time: which adapters exist, which model each one fits, and what a
request's `lora=name[:strength],...` means (torch-free: the engine checks requests with it, the
model process's backends merge the weights with server/backends/lora_patch.py).

Adapters come from two places:
- trained runs: a model folder under `[training] models_dir` whose entry has `adapter = FILE` and
  `base = "<model name>"` is still a model of its own, and is also the adapter named like it for
  that base;
- `[loras.NAME]` in the config (path, base, trigger) for adapters made elsewhere.

Two file formats: stable-audio-tools' own (`save_lora_safetensors`: a .safetensors with its lora
config in the header, `lora.json` beside it optional) and peft's (`adapter_config.json` +
`adapter_model.safetensors`, a folder or the file). An adapter fits a model when its base names it.
"""
from __future__ import annotations

import json
import re
import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config import LoraConfig
from .errors import DawgenError, ErrorCode
from .params import parse_loras

SAT = "stable-audio-tools"
PEFT = "peft"
PEFT_CONFIG = "adapter_config.json"
PEFT_WEIGHTS = "adapter_model.safetensors"
LORA_JSON = "lora.json"  # what `dawgen train` writes beside a stable-audio-tools adapter


@dataclass
class Adapter:
    name: str
    base: str  # the model it was made for
    path: Path  # the weights file (.safetensors)
    kind: str = SAT  # SAT or PEFT
    trigger: str = ""
    rank: int | None = None
    size: int = 0  # bytes of the weights file
    source: str = "config"  # "config" ([loras.NAME]) or "run" (a trained run's folder)
    problem: str = ""  # why it cannot be applied (a missing file, an unreadable header): refused when named
    # the adapter's own settings: lora.json / the header's lora_config (SAT), adapter_config.json (peft)
    settings: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "base": self.base, "trigger": self.trigger, "rank": self.rank, "size": self.size}


@dataclass(frozen=True)
class Applied:
    """One adapter of a request at its strength (0: named but off, the base's own weights)."""

    adapter: Adapter
    strength: float


def read_adapter(name: str, path: str | Path, base: str, trigger: str = "", source: str = "config") -> Adapter:
    """The adapter at `path` (a file or a peft folder); a problem is recorded, never raised, so one
    broken adapter leaves the others and the models usable."""
    path = Path(path).expanduser()
    adapter = Adapter(name=name, base=base, path=path, trigger=trigger, source=source)
    try:
        if path.is_dir() or (path.parent / PEFT_CONFIG).is_file():
            _read_peft(adapter)
        else:
            _read_sat(adapter)
        _check_mergeable(adapter)
        adapter.size = adapter.path.stat().st_size
    except (OSError, ValueError, KeyError, TypeError) as exc:
        adapter.problem = f"{path}: {exc}"
    return adapter


def _read_peft(adapter: Adapter) -> None:
    folder = adapter.path if adapter.path.is_dir() else adapter.path.parent
    if adapter.path.is_dir():
        adapter.path = folder / PEFT_WEIGHTS
    if not adapter.path.is_file():
        raise ValueError(f"no {adapter.path.name} (peft adapters are read as safetensors only)")
    adapter.kind = PEFT
    adapter.settings = json.loads((folder / PEFT_CONFIG).read_text(encoding="utf-8"))
    adapter.rank = int(adapter.settings.get("r") or 0) or None


def _read_sat(adapter: Adapter) -> None:
    header = safetensors_header(adapter.path)
    metadata = header.get("__metadata__") or {}
    settings = json.loads(metadata["lora_config"]) if "lora_config" in metadata else {}
    info = adapter.path.parent / LORA_JSON
    if info.is_file():  # dawgen train's record: rank, alpha, the base's name and sha256
        settings = {**settings, **json.loads(info.read_text(encoding="utf-8"))}
    adapter.settings = settings
    ranks = [v["shape"][0] for k, v in header.items() if k.endswith(".lora_A") and isinstance(v, dict)]
    adapter.rank = int(settings.get("rank") or (ranks[0] if ranks else 0)) or None
    if not ranks:
        raise ValueError("no lora_A tensors: not a stable-audio-tools LoRA file")


def _check_mergeable(adapter: Adapter) -> None:
    """Only a low-rank delta merges into the weights: DoRA, LoRA-XS and peft's extras do not."""
    settings = adapter.settings
    if adapter.kind == SAT:
        kind = str(settings.get("adapter_type") or "lora")
        if kind != "lora":
            raise ValueError(f"adapter type {kind!r} cannot be merged into the weights (only plain LoRA can)")
        return
    if str(settings.get("peft_type", "LORA")).upper() != "LORA":
        raise ValueError(f"peft type {settings.get('peft_type')!r} is not LoRA")
    for key in ("use_dora", "fan_in_fan_out", "modules_to_save", "lora_bias"):
        if settings.get(key):
            raise ValueError(f"{key} is set: such a peft adapter cannot be merged into the weights")


def check_base(adapter: Adapter, weights: Path | None) -> None:
    """Refuse an adapter trained on other weights than `weights` (lora.json's base_sha256)."""
    from .output.provenance import file_sha256

    want = adapter.settings.get("base_sha256")
    if weights is not None and want and file_sha256(str(weights)) != want:
        raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, f"lora {adapter.name} ({adapter.path}) was trained on other "
                                                       f"weights than {weights} (base {adapter.base or '?'})")


def safetensors_header(path: Path) -> dict[str, Any]:
    """The JSON header of a .safetensors file (tensor names, shapes, metadata), read without torch."""
    with open(path, "rb") as fh:
        (length,) = struct.unpack("<Q", fh.read(8))
        if length > 100_000_000:
            raise ValueError("not a safetensors file (header too large)")
        header = json.loads(fh.read(length))
    if not isinstance(header, dict):
        raise ValueError("not a safetensors file")
    return header


def run_adapter(name: str, options: Mapping[str, Any]) -> Adapter | None:
    """The adapter a trained run's model entry carries (`adapter` + `base`), named like the run."""
    path, base = str(options.get("adapter") or ""), str(options.get("base") or "")
    if not path:
        return None
    return read_adapter(name, path, base, str(options.get("trigger") or ""), source="run")


class AdapterRegistry:
    """The adapters a daemon knows, by name; configured ones win over a run of the same name."""

    def __init__(self, loras: Mapping[str, LoraConfig]) -> None:
        self._configured = {n: read_adapter(n, c.path, c.base, c.trigger) for n, c in loras.items()}
        self._runs: dict[str, Adapter] = {}
        self._seen: dict[str, tuple[str, float]] = {}  # run name -> (adapter path, mtime) read
        # looks at the model folders again (Registry.scan_folders): a run that just finished
        self.refresh: Callable[[], object] | None = None

    def update_runs(self, runs: Mapping[str, Mapping[str, Any]]) -> None:
        """Runs' model entries by name (their options); re-reads an adapter only when it changed."""
        fresh: dict[str, Adapter] = {}
        for name, options in runs.items():
            path = str(options.get("adapter") or "")
            if not path or not options.get("base"):
                continue
            stamp = (path, _mtime(Path(path)))
            old = self._runs.get(name)
            fresh[name] = old if old is not None and self._seen.get(name) == stamp else run_adapter(name, options)
            self._seen[name] = stamp
        self._runs = fresh

    def all(self) -> dict[str, Adapter]:
        return {**self._runs, **self._configured}

    def fitting(self, model: str) -> list[Adapter]:
        return sorted((a for a in self.all().values() if a.base == model and not a.problem), key=lambda a: a.name)

    def describe(self, model: str) -> list[dict[str, Any]]:
        """`loras` of a model in /dawgen/models."""
        return [a.describe() for a in self.fitting(model)]

    def problems(self) -> dict[str, str]:
        return {n: a.problem for n, a in self.all().items() if a.problem}

    def select(self, model: str, text: str | None) -> list[Applied]:
        """A request's `lora` on `model`; DawgenError for an unknown adapter (unknown_model, naming
        those that fit), one made for another model (bad_request, naming it) or a broken one."""
        try:
            wanted = parse_loras(text or "")
        except ValueError as exc:
            raise DawgenError(ErrorCode.BAD_REQUEST, f"lora: {exc}") from None
        known = self.all()
        if any(name not in known for name, _ in wanted) and self.refresh is not None:
            self.refresh()
            known = self.all()
        return [Applied(self._check(model, name, known.get(name)), strength) for name, strength in wanted]

    def _check(self, model: str, name: str, adapter: Adapter | None) -> Adapter:
        if adapter is None:
            fits = ", ".join(a.name for a in self.fitting(model)) or "none"
            raise DawgenError(ErrorCode.UNKNOWN_MODEL, f"lora: no adapter named {name!r} (adapters that fit "
                                                       f"{model}: {fits})")
        if adapter.base != model:
            raise DawgenError(ErrorCode.BAD_REQUEST, f"lora: {name} was made for model {adapter.base!r}, not "
                                                     f"{model!r}; use it with model={adapter.base}")
        if adapter.problem:
            raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, f"lora: adapter {name} is unusable: {adapter.problem}")
        return adapter


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def has_trigger(prompt: str, trigger: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(trigger)}(?!\w)", prompt, flags=re.IGNORECASE) is not None


def prompt_with_triggers(prompt: str, selection: list[Applied]) -> str:
    """The prompt with the trigger word of every adapter applied at non-zero strength in front of it,
    where the prompt lacks it: an adapter trained on "myjam, ..." prompts needs the word to show."""
    words = [a.adapter.trigger for a in selection
             if a.strength != 0 and a.adapter.trigger and not has_trigger(prompt, a.adapter.trigger)]
    return ", ".join([*dict.fromkeys(words), *([prompt] if prompt else [])])


def record(selection: list[Applied]) -> list[dict[str, Any]]:
    """Provenance: each adapter's name, file hash and strength (regen checks the hash)."""
    from .output.provenance import file_sha256

    out = []
    for item in selection:
        a = item.adapter
        out.append({"name": a.name, "base": a.base, "strength": item.strength, "sha256": file_sha256(str(a.path)),
                    "path": str(a.path), "format": a.kind, "trigger": a.trigger, "source": a.source})
    return out
