"""Tiny LoRA adapters with random non-zero weights, written by the libraries themselves:
stable-audio-tools' add_lora + save_lora_safetensors on a tiny Stable Audio / Dance Diffusion base
(stable_audio_tiny.py), and peft's LoraConfig + save_pretrained on a tiny MusicGen's decoder
(musicgen_tiny.py). A fresh LoRA has B = 0 (no change at all): B is drawn at random here so every
adapter really moves the weights. Used by the LoRA tests and bench/lora.py.
"""
from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any


def sat_adapter(base: Path, out: Path, seed: int, rank: int = 4, alpha: float = 4.0, scale: float = 0.3,
                t5: Path | None = None, adapter_type: str = "lora") -> Path:
    """A stable-audio-tools LoRA (every Linear and Conv1d of the diffusion network, as `dawgen train`
    adapts) for the model in `base`, saved as `out` (.safetensors, lora config in the header)."""
    import torch
    from stable_audio_tools.models.lora import LoRAParametrization, add_lora, get_lora_state_dict, save_lora_safetensors

    from server.backends.stable_audio.imports import import_library
    from server.backends.stable_audio.model import build_from_config

    import_library()
    config = json.loads((Path(base) / "model_config.json").read_text())
    torch.manual_seed(seed)
    net = build_from_config(config, t5).model
    layers = {torch.nn.Linear: {"weight": functools.partial(LoRAParametrization.from_linear, rank=rank,
                                                             lora_alpha=alpha, adapter_type=adapter_type)},
              torch.nn.Conv1d: {"weight": functools.partial(LoRAParametrization.from_conv1d, rank=rank,
                                                             lora_alpha=alpha, adapter_type=adapter_type)}}
    add_lora(net, layers)
    _randomise(net, "lora_B", seed, scale)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_lora_safetensors(get_lora_state_dict(net), {"rank": rank, "alpha": alpha, "adapter_type": adapter_type,
                                                     "include": None, "exclude": None}, str(out))
    return out


def peft_adapter(base: Path, out: Path, seed: int, rank: int = 4, alpha: float = 8.0, scale: float = 0.5,
                 rslora: bool = False) -> Path:
    """A peft LoRA on the attention projections of a tiny MusicGen's decoder, saved with
    save_pretrained into the folder `out` (adapter_config.json + adapter_model.safetensors)."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import MusicgenForConditionalGeneration

    model = MusicgenForConditionalGeneration.from_pretrained(str(base))
    config = LoraConfig(r=rank, lora_alpha=alpha, use_rslora=rslora, lora_dropout=0.0,
                        target_modules=r".*decoder\.layers\.\d+\.(self_attn|encoder_attn)\.(q_proj|v_proj|out_proj)")
    torch.manual_seed(seed)
    peft_model = get_peft_model(model, config)
    _randomise(peft_model, "lora_B", seed, scale)
    peft_model.save_pretrained(str(out))
    return Path(out)


def _randomise(net: Any, part: str, seed: int, scale: float) -> None:
    import torch

    gen = torch.Generator().manual_seed(seed + 1000)
    with torch.no_grad():
        for name, p in net.named_parameters():
            if part in name:
                p.copy_(torch.randn(p.shape, generator=gen) * scale / max(1.0, p.shape[-1] ** 0.5))
