"""LoRA adapters merged into a loaded model's weights, switched per request without reloading it
(imports torch: load/run time only). One module for both adapter formats (server/adapters.py):

- stable-audio-tools: `<module>.parametrizations.weight.0.lora_A` (rank x fan_in) and `lora_B`
  (fan_out x rank), scale alpha / rank (LoRAParametrization; a Conv1d's fan_in is in_channels x
  kernel, its delta viewed as the weight's shape);
- peft: `base_model.model.<module>.lora_A.weight` / `lora_B.weight`, scale lora_alpha / r (or
  / sqrt(r) with use_rslora), r and alpha per module from rank_pattern / alpha_pattern.

What ComfyUI's ModelPatcher does: each patched weight's original is backed up, the active set is
merged in place, W = W0 + sum(strength_i * scale_i * B_i @ A_i) (fp32 math, cast to the weight's
dtype), and W0 is copied back exactly when the set changes. A strength of 0 leaves an adapter out,
so `lora=x:0` runs the base model's own weights bit for bit. Adapters that are not a low-rank delta
(DoRA, LoRA-XS, ...) are refused: they cannot be merged this way.
"""
from __future__ import annotations

import math
import re
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from ..adapters import PEFT, Adapter
from ..errors import DawgenError, ErrorCode

CACHE_ADAPTERS = 8  # adapters whose tensors stay warm per loaded model (least recently used dropped)
_SAT_KEY = re.compile(r"^(?P<module>.+)\.parametrizations\.weight\.0\.(?P<tail>[A-Za-z_]+)$")
_PEFT_KEY = re.compile(r"^base_model\.model\.(?P<module>.+)\.(?P<tail>lora_A|lora_B)\.weight$")


@dataclass
class Delta:
    a: torch.Tensor  # (rank, fan_in), float32
    b: torch.Tensor  # (fan_out, rank), float32
    scale: float


Deltas = dict[str, Delta]  # module name under the patched root -> its delta


def read_deltas(adapter: Adapter, modules: Mapping[str, torch.nn.Module], prefixes: Sequence[str]) -> Deltas:
    """The adapter file as deltas on `modules` (named_modules() of the patched root); a module
    name of the file is tried as it is, then under each of `prefixes`. Refuses an adapter that
    does not fit (a tensor with no module of its shape) instead of dropping tensors silently."""
    from safetensors.torch import load_file

    try:
        tensors = load_file(str(adapter.path))
    except (OSError, ValueError, RuntimeError) as exc:
        raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, f"lora {adapter.name}: cannot read {adapter.path}: {exc}") from None
    pairs = _peft_pairs(adapter, tensors) if adapter.kind == PEFT else _sat_pairs(adapter, tensors)
    out: Deltas = {}
    misfit = []
    for name, delta in pairs.items():
        target = next((p + name for p in ("", *prefixes) if _fits(modules.get(p + name), delta)), None)
        if target is None:
            misfit.append(name)
        else:  # kept on the weight's device: a switch then moves nothing
            device = modules[target].weight.device
            out[target] = Delta(delta.a.to(device), delta.b.to(device), delta.scale)
    if misfit or not out:
        raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, f"lora {adapter.name} does not fit this model ({len(misfit)} "
                                                       f"of {len(pairs)} layers, e.g. {min(misfit, default='none')})")
    return out


def _fits(module: torch.nn.Module | None, delta: Delta) -> bool:
    if not isinstance(module, (torch.nn.Linear, torch.nn.Conv1d)) or hasattr(module, "parametrizations"):
        return False
    weight = module.weight
    return (delta.b.shape[0] == weight.shape[0] and delta.a.shape[1] == weight[0].numel()
            and delta.a.shape[0] == delta.b.shape[1])


def _pairs(found: dict[str, dict[str, torch.Tensor]], adapter: Adapter) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    out = {}
    for module, parts in found.items():
        if set(parts) != {"lora_A", "lora_B"}:
            raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, f"lora {adapter.name}: {module} has "
                                                           f"{', '.join(sorted(parts))}, not lora_A + lora_B")
        a, b = parts["lora_A"].float(), parts["lora_B"].float()
        out[module] = (a.reshape(a.shape[0], -1), b.reshape(b.shape[0], -1))  # Conv1d: (out, in x k)
    return out


def _sat_pairs(adapter: Adapter, tensors: Mapping[str, torch.Tensor]) -> dict[str, Delta]:
    kind = str(adapter.settings.get("adapter_type") or "lora")
    found: dict[str, dict[str, torch.Tensor]] = {}
    for key, value in tensors.items():
        match = _SAT_KEY.match(key)
        if match is None or match["tail"] not in ("lora_A", "lora_B", "lora_dropout_mask"):
            raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, f"lora {adapter.name}: {key} cannot be merged "
                                                           f"(adapter type {kind}; only plain LoRA can)")
        if match["tail"] != "lora_dropout_mask":  # a training-time buffer of ones
            found.setdefault(match["module"], {})[match["tail"]] = value
    out = {}
    for module, (a, b) in _pairs(found, adapter).items():
        rank = int(adapter.settings.get("rank") or a.shape[0])
        alpha = float(adapter.settings.get("alpha") or rank)  # the library's defaults
        out[module] = Delta(a, b, alpha / rank)
    return out


def _peft_pairs(adapter: Adapter, tensors: Mapping[str, torch.Tensor]) -> dict[str, Delta]:
    settings = adapter.settings
    found: dict[str, dict[str, torch.Tensor]] = {}
    for key, value in tensors.items():
        match = _PEFT_KEY.match(key)
        if match is None:
            raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, f"lora {adapter.name}: {key} cannot be merged "
                                                           "(only lora_A / lora_B of Linear and Conv1d layers can)")
        found.setdefault(match["module"], {})[match["tail"]] = value
    out = {}
    for module, (a, b) in _pairs(found, adapter).items():
        rank = int(_pattern(settings.get("rank_pattern"), module, settings.get("r") or a.shape[0]))
        alpha = float(_pattern(settings.get("alpha_pattern"), module, settings.get("lora_alpha") or rank))
        scale = alpha / math.sqrt(rank) if settings.get("use_rslora") else alpha / rank
        out[module] = Delta(a, b, scale)
    return out


def _pattern(patterns: Any, module: str, default: Any) -> Any:
    """peft's per-module overrides: a key matches a module name ending in it (peft's get_pattern_key)."""
    for key, value in (patterns or {}).items():
        if re.match(rf"(.*\.)?({key})$", module):
            return value
    return default


def _merge(weight: torch.Tensor, original: torch.Tensor, parts: list[tuple[Delta, float]]) -> None:
    """weight = original + sum(coef * B @ A), in float32 (fused into addmm on a float32 weight)."""
    out = weight.view(weight.shape[0], -1)
    base = original.view(out.shape)
    if weight.dtype == torch.float32:
        (first, coef), *rest = parts
        torch.addmm(base, first.b, first.a, alpha=coef, out=out)
        for delta, coef in rest:
            out.addmm_(delta.b, delta.a, alpha=coef)
        return
    total = base.float()
    for delta, coef in parts:
        total.addmm_(delta.b.to(total.device), delta.a.to(total.device), alpha=coef)
    out.copy_(total)


class Patcher:
    """The adapters merged into one loaded model now, their originals, and a warm cache of adapters."""

    def __init__(self, root: torch.nn.Module, prefixes: Sequence[str] = ()) -> None:
        self.root, self.prefixes = root, tuple(prefixes)
        self._modules = dict(root.named_modules())
        self._cache: OrderedDict[tuple[str, float, int], Deltas] = OrderedDict()
        self._backup: dict[str, torch.Tensor] = {}  # module name -> its original weight (once patched)
        self._patched: set[str] = set()  # modules whose weight holds a merge now
        self._active: tuple[Any, ...] = ()
        self.merges = 0  # times the merged set changed (tests, bench)

    def deltas(self, adapter: Adapter) -> tuple[tuple[str, float, int], Deltas]:
        """An adapter's deltas (and the file state they were read from), cached while the file is unchanged."""
        try:
            stat = adapter.path.stat()
        except OSError as exc:
            raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, f"lora {adapter.name}: {exc}") from None
        key = (str(adapter.path), stat.st_mtime, stat.st_size)
        if key in self._cache:
            self._cache.move_to_end(key)
            return key, self._cache[key]
        deltas = read_deltas(adapter, self._modules, self.prefixes)
        self._cache[key] = deltas
        while len(self._cache) > CACHE_ADAPTERS:
            self._cache.popitem(last=False)
        return key, deltas

    def apply(self, selection: Sequence[tuple[Adapter, float]]) -> None:
        """Make the model's weights its originals plus exactly these adapters (strength 0: left out)."""
        loaded = [(*self.deltas(a), float(s)) for a, s in selection if s != 0]  # read before touching a weight
        key = tuple((file, s) for file, _, s in loaded)
        if key == self._active:
            return
        plan: dict[str, list[tuple[Delta, float]]] = {}
        for _, deltas, strength in loaded:
            for name, delta in deltas.items():
                plan.setdefault(name, []).append((delta, strength * delta.scale))
        with torch.no_grad():
            for name in self._patched - set(plan):  # patched now, not in the new set: the original back
                self._modules[name].weight.copy_(self._backup[name])
            for name, parts in plan.items():
                weight = self._modules[name].weight
                if name not in self._backup:  # kept while the model is loaded: switching never re-copies it
                    self._backup[name] = weight.detach().clone()
                _merge(weight, self._backup[name], parts)
        self._patched = set(plan)
        self._active = key
        self.merges += 1

    def restore(self) -> None:
        """The original weights, exactly as they were loaded."""
        self.apply([])

    def bytes(self) -> int:
        """Memory the adapters hold: the cached tensors and the originals backed up."""
        cached = sum(d.a.numel() * d.a.element_size() + d.b.numel() * d.b.element_size()
                     for deltas in self._cache.values() for d in deltas.values())
        return cached + sum(t.numel() * t.element_size() for t in self._backup.values())


def apply_loras(backend: Any, patcher: Patcher, params: dict[str, Any], weights: Any = None) -> list[Any]:
    """Merge the adapters a job runs with (backend.adapters_for) into `patcher`'s model and put their
    trigger words in front of the prompt; `weights`: the base weights file lora.json's sha256 names."""
    from ..adapters import check_base, prompt_with_triggers

    selection = backend.adapters_for(params)
    for item in selection:
        if item.strength:
            check_base(item.adapter, weights)
    patcher.apply([(item.adapter, item.strength) for item in selection])
    if "prompt" in params:
        params["prompt"] = prompt_with_triggers(str(params.get("prompt") or ""), selection)
    return selection
