"""LoRA adapters on a loaded Stable Audio / Dance Diffusion model (imports torch).

A trained adapter is `lora.safetensors` (stable-audio-tools' own LoRA file) with `lora.json` beside
it (rank, alpha, target modules, the base model's name and weights sha256), as `dawgen train`
writes it. A model entry names it with `adapter = ".../lora.safetensors"` on top of its base's
`path`; the adapter is refused when it was trained on other base weights or does not fit.
"""
from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path
from typing import Any

from ...errors import DawgenError, ErrorCode


def apply_adapter(wrapper: Any, model_type: str, adapter: Path, base_weights: Path | None = None,
                  strength: float = 1.0) -> dict[str, Any]:
    """Load a trained adapter (lora.safetensors + lora.json beside it) onto a loaded base model with
    the library's loader; refuses an adapter trained on other base weights. Returns lora.json."""
    from safetensors import safe_open
    from stable_audio_tools.models.lora import load_and_apply_loras, set_lora_strength

    from ...output.provenance import file_sha256

    adapter = Path(adapter)
    try:
        info = json.loads((adapter.parent / "lora.json").read_text(encoding="utf-8"))
        with safe_open(str(adapter), framework="pt") as fh:
            shapes = {key: list(fh.get_slice(key).get_shape()) for key in fh.keys()}
    except (OSError, ValueError) as exc:
        raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, f"cannot read the adapter {adapter}: {exc}") from None
    want = info.get("base_sha256")
    if base_weights is not None and want and file_sha256(str(base_weights)) != want:
        raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, f"{adapter} was trained on other weights than "
                                                       f"{base_weights} (base {info.get('base', '?')})")
    misfit = _misfits(wrapper.model, shapes)
    if misfit:  # the library loads adapters with strict=False: a misfit would be dropped silently
        raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, f"{adapter} does not fit this model "
                                                       f"({len(misfit)} tensors, e.g. {min(misfit)})")
    # the library applies conditioned models' adapters to wrapper.model (and the conditioner) and
    # others to what it is given: the network here, whose names the file's keys use
    target = wrapper if model_type in ("diffusion_cond", "diffusion_cond_inpaint") else wrapper.model
    with contextlib.redirect_stdout(sys.stderr):  # it prints; the daemon's stdout is its ready line
        load_and_apply_loras(target, [str(adapter)], model_type)
    set_lora_strength(wrapper, strength)
    return info


def _misfits(net: Any, shapes: dict[str, list[int]]) -> list[str]:
    """Adapter tensors with no Linear/Conv1d of the right size in `net` (A: rank x fan_in,
    B: fan_out x rank, as the library's parametrization stores them)."""
    import torch

    modules = dict(net.named_modules())
    bad = []
    for key, shape in shapes.items():
        name, _, tail = key.partition(".parametrizations.weight.0.")
        module = modules.get(name)
        if not isinstance(module, (torch.nn.Linear, torch.nn.Conv1d)) or tail not in ("lora_A", "lora_B"):
            bad.append(key)
            continue
        weight = module.parametrizations.weight.original if hasattr(module, "parametrizations") else module.weight
        fan_out, fan_in = int(weight.shape[0]), int(weight[0].numel())
        if len(shape) != 2 or (tail == "lora_A" and shape[1] != fan_in) or (tail == "lora_B" and shape[0] != fan_out):
            bad.append(key)
    return bad
