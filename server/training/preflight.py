"""Will this run fit? An estimate of the memory a training run needs, checked before its first step.

    need = estimate(shape, settings, device)      # Need: weights, gradients, optimizer, EMA, activations
    check(need, budget_bytes, shape, settings, device)   # DawgenError(out_of_memory) naming what fits

Torch-free: the shape of a model comes from a loaded model (`shape_of_model`, exact counts) or from
its weights file's safetensors header and model_config.json (`shape_of_files`, no load), so a train
request can be refused at submit time. Persistent parts are counted exactly (fp32 master weights;
AdamW keeps two fp32 moments per trained parameter; the EMA a copy of the network). Activations
are a model of what autograd keeps per level (DAU1d) or per layer (DiT, which checkpoints each
layer), plus, for LoRA kinds, one copy of every adapted weight (the parametrization's W + BA),
calibrated against the bytes autograd saved on the tiny test models
(tests/server/training/test_preflight.py compares them), plus the attention matrices where the
network materialises them (DAU1d off CUDA). The VAE encodes under no_grad, before the forward:
its transient peak counts when it is larger than the activations. So does the optimizer step's:
torch's foreach AdamW makes full-size temporaries of the trained parameters (measured on a SAO
Small-sized full fine-tune: ~1x the trained weights), after the backward has freed the activations.
"""
from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import DawgenError, ErrorCode
from .settings import Settings

FP32 = 4
ADAM_STATES = 2  # exp_avg, exp_avg_sq
SAFETY = 1.2  # allocator fragmentation and the tensors this model does not see
GB = 1024**3
# DAU1d: tensors autograd keeps per ResConvBlock (conv in, norm in, GELU in, ... : measured 7 x c x L)
DAU_PER_BLOCK = 7
DAU_BLOCKS_PER_LEVEL = 6
# DiT: per layer the checkpoint keeps its input; the layer being recomputed holds ~34 x T x d
DIT_RECOMPUTE = 34
# Oobleck encoder under no_grad: ~8 full-rate tensors of its first width alive at its peak (snake
# activations make temporaries; measured on a SAO Small-sized LoRA run at 11.9 s: ~2.1 GB)
ENCODE_TENSORS = 8


@dataclass(frozen=True)
class Shape:
    """What the estimate needs of a model."""

    config: dict[str, Any]
    total_params: int  # everything in the wrapper's state dict (network, VAE, conditioner minus T5)
    net_params: int  # the diffusion network's (its state dict: parameters and the few float buffers)
    lora_per_rank: int  # adapter parameters per unit of rank over the network's Linear/Conv1d layers
    adapted_params: int  # elements of those layers' weights
    extra_bytes: int = 0  # weights outside the state dict: the T5 encoder (fp16 in memory)


@dataclass(frozen=True)
class Need:
    weights: int
    gradients: int
    optimizer: int
    ema: int
    activations: int
    step: int = 0  # the optimizer step's temporaries (not at the same time as the activations)

    @property
    def total(self) -> int:
        transient = max(self.activations, self.step)
        return int((self.weights + self.gradients + self.optimizer + self.ema + transient) * SAFETY)

    def describe(self) -> str:
        parts = [("weights", self.weights), ("gradients", self.gradients), ("optimizer", self.optimizer),
                 ("EMA", self.ema), ("activations", self.activations), ("optimizer step", self.step)]
        return ", ".join(f"{name} {gb(v)}" for name, v in parts if v)


def gb(size: float) -> str:
    return f"{size / GB:.2f} GB"


# -- shapes -------------------------------------------------------------------------------------------
def shape_of_model(wrapper: Any, config: dict[str, Any], extra_bytes: int = 0) -> Shape:
    """Exact counts from a built wrapper (torch modules; LoRA not applied yet)."""
    import torch

    per_rank = adapted = 0
    for module in wrapper.model.modules():
        if isinstance(module, (torch.nn.Linear, torch.nn.Conv1d)):
            weight = module.weight
            per_rank += int(weight.shape[0]) + int(weight[0].numel())
            adapted += int(weight.numel())
    return Shape(config, sum(int(t.numel()) for t in wrapper.state_dict().values()),
                 sum(int(t.numel()) for t in wrapper.model.state_dict().values()), per_rank, adapted, extra_bytes)


def safetensors_shapes(path: Path) -> dict[str, list[int]]:
    """Tensor shapes from a .safetensors header (8-byte length + JSON): no weights read."""
    with open(path, "rb") as fh:
        (length,) = struct.unpack("<Q", fh.read(8))
        if length > 100 * 1024 * 1024:
            raise ValueError(f"{path}: not a safetensors file")
        header = json.loads(fh.read(length))
    return {k: list(v["shape"]) for k, v in header.items() if k != "__metadata__"}


def shape_of_files(config: dict[str, Any], weights: Path, t5_folder: Path | None = None) -> Shape:
    """Counts from the weights file's header: no torch, nothing loaded (a .ckpt cannot be read this
    way: load the model and use shape_of_model)."""
    shapes = safetensors_shapes(Path(weights))
    total = sum(math.prod(s) for s in shapes.values())
    net = {k: s for k, s in shapes.items() if k.startswith("model.")}
    layers = [s for k, s in net.items() if k.endswith(".weight") and len(s) in (2, 3)]
    per_rank = sum(s[0] + math.prod(s[1:]) for s in layers)
    extra = 0
    if t5_folder is not None:  # the library keeps T5 in fp16
        extra = sum((Path(t5_folder) / n).stat().st_size // 2 for n in ("model.safetensors",)
                    if (Path(t5_folder) / n).is_file())
    return Shape(config, total, sum(math.prod(s) for s in net.values()), per_rank,
                 sum(math.prod(s) for s in layers), extra)


# -- the estimate ---------------------------------------------------------------------------------------
def estimate(shape: Shape, settings: Settings, device: str = "cpu") -> Need:
    config = shape.config
    frames = int(round((settings.seconds or int(config["sample_size"]) / int(config["sample_rate"]))
                       * int(config["sample_rate"])))
    if settings.lora:
        trained, ema = shape.lora_per_rank * settings.lora_rank, 0
    else:
        trained, ema = shape.net_params, shape.net_params * FP32
    mixed = settings.precision in ("bf16", "fp16") or (settings.precision == "auto" and device.startswith("cuda"))
    act_bytes = 2 if mixed else FP32
    acts = activation_elements(config, settings.batch_size, frames, device) * act_bytes
    if settings.lora:  # the library's LoRA is a parametrization: every adapted weight is rebuilt
        acts += shape.adapted_params * act_bytes  # as W + BA in the forward and kept for the backward
    acts = max(acts, encode_bytes(config, settings.batch_size, frames, act_bytes))
    return Need(shape.total_params * FP32 + shape.extra_bytes, trained * FP32, trained * FP32 * ADAM_STATES, ema,
                int(acts), trained * FP32)


def activation_elements(config: dict[str, Any], batch: int, frames: int, device: str = "cpu") -> int:
    """Elements autograd keeps for one micro-batch (the saved activations of the backward pass)."""
    model = config.get("model") or {}
    if config.get("model_type") == "diffusion_uncond" and model.get("type") == "DAU1d":
        return batch * _dau1d(model.get("config") or {}, int(config.get("audio_channels", 2)), frames,
                              attention_matrix=not device.startswith("cuda"))
    diffusion = model.get("diffusion") or model
    net = diffusion.get("config") or {}
    hop = int(((model.get("pretransform") or {}).get("config") or {}).get("downsampling_ratio", 1))
    tokens = math.ceil(frames / hop / int(net.get("patch_size", 1)))
    return batch * _dit(net, tokens, _cond_tokens(config))


def _dau1d(net: dict[str, Any], io: int, frames: int, attention_matrix: bool) -> int:
    depth = int(net.get("depth", 14))
    channels = list(net.get("channels", [128, 128, 256, 256] + [512] * 10))
    n_attn = int(net.get("n_attn_layers", 6))
    total = (io + 16) * frames  # the input with its timestep planes
    length = float(frames)
    for level in range(1, depth + 1):
        c = int(channels[level - 1])
        total += DAU_BLOCKS_PER_LEVEL * DAU_PER_BLOCK * c * length + 2 * c * length  # blocks + skip concat
        if level > 1 and n_attn > 0 and level >= depth - n_attn:
            heads = max(1, c // 32)
            total += 7 * 6 * c * length  # 7 attention layers: norm, qkv, output
            if attention_matrix:  # the softmax output (kept for its backward and att @ v), per head
                total += 7 * heads * length * length
        length = math.ceil(length / 2)
    return int(total)


def _cond_tokens(config: dict[str, Any]) -> int:
    conditioning = ((config.get("model") or {}).get("conditioning") or {}).get("configs") or []
    tokens = 0
    for entry in conditioning:
        tokens += int((entry.get("config") or {}).get("max_length", 128)) if entry.get("type") == "t5" else 1
    return tokens


def _dit(net: dict[str, Any], tokens: int, cond_tokens: int) -> int:
    d, depth = int(net.get("embed_dim", 768)), int(net.get("depth", 12))
    heads = int(net.get("num_heads", 8))
    io = int(net.get("io_channels", 32))
    t = tokens + 1  # the prepended global conditioning token
    saved = depth * t * d + 8 * io * tokens  # each layer's input (checkpoints) + in/out projections
    recompute = DIT_RECOMPUTE * t * d + 2 * heads * t * (t + cond_tokens)  # one layer, math attention
    return int(saved + recompute + cond_tokens * d * depth * 2)


def encode_bytes(config: dict[str, Any], batch: int, frames: int, element: int = FP32) -> int:
    """The VAE encoder's transient peak (no grad): full-rate tensors of its first width (one clip
    at a time where the pretransform iterates over the batch, as SAO's does)."""
    pre = (config.get("model") or {}).get("pretransform") or {}
    if not pre:
        return 0
    encoder = ((pre.get("config") or {}).get("encoder") or {}).get("config") or {}
    width = int(encoder.get("channels", 128)) * int((encoder.get("c_mults") or [1])[0])
    rows = 1 if pre.get("iterate_batch") else batch
    return ENCODE_TENSORS * width * frames * rows * element


# -- the check ------------------------------------------------------------------------------------------
def check(need: Need, budget: int, shape: Shape, settings: Settings, device: str = "cpu") -> Need:
    """`need` when it fits `budget` bytes, else out_of_memory naming settings that would fit."""
    if need.total <= budget:
        return need
    raise DawgenError(ErrorCode.OUT_OF_MEMORY,
                      f"training {settings.kind} needs ~{gb(need.total)} ({need.describe()}; batch_size "
                      f"{settings.batch_size} x {_seconds(shape, settings):g} s) but the budget on {device} is "
                      f"{gb(budget)}: {_what_fits(budget, shape, settings, device)}")


def _seconds(shape: Shape, settings: Settings) -> float:
    config = shape.config
    return round(settings.seconds or int(config["sample_size"]) / int(config["sample_rate"]), 3)


def _fits(budget: int, shape: Shape, settings: Settings, device: str, **change: Any) -> bool:
    return estimate(shape, _replace(settings, **change), device).total <= budget


def _replace(settings: Settings, **change: Any) -> Settings:
    return Settings(**{**settings.to_dict(), **change})


def _what_fits(budget: int, shape: Shape, settings: Settings, device: str) -> str:
    """Suggestions, most like the request first: a smaller micro-batch with accumulate (the same
    effective batch), shorter clips, then the LoRA kind."""
    tips = []
    effective = settings.batch_size * settings.accumulate
    for batch in range(settings.batch_size - 1, 0, -1):
        if effective % batch == 0 and _fits(budget, shape, settings, device, batch_size=batch):
            tips.append(f"batch_size={batch} with accumulate={effective // batch} (the same effective batch)")
            break
    seconds = _seconds(shape, settings)
    for fraction in (0.75, 0.5, 0.25, 0.1):
        if _fits(budget, shape, settings, device, batch_size=1, seconds=seconds * fraction):
            tips.append(f"batch_size=1 with seconds={seconds * fraction:.3g}")
            break
    if not settings.lora:
        lora = f"{settings.kind}-lora"
        if _fits(budget, shape, settings, device, kind=lora):
            tips.append(f"kind={lora} (~{gb(estimate(shape, _replace(settings, kind=lora), device).total)})")
        elif _fits(budget, shape, settings, device, kind=lora, batch_size=1):
            tips.append(f"kind={lora} with batch_size=1")
    if not tips:
        return (f"even the model's weights and one short clip do not fit ({gb(shape.total_params * FP32)} of "
                "weights): train on a device with more memory, or raise [server] memory_budget")
    return "would fit: " + "; or ".join(tips)
