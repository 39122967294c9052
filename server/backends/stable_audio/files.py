"""Where a Stable Audio model's files are, and what its model_config.json says, without torch.

`path` is a folder holding `model_config.json` and `model.safetensors` (or `model.ckpt`), as in a
download of stabilityai/stable-audio-open-1.0 or -small or a fine-tune, or a Hugging Face cache
snapshot (`.../models--stabilityai--stable-audio-open-1.0/snapshots/<hash>/`), or the
`models--...` folder itself (the snapshot `refs/main` names, else the newest).

T5 weights are not stored in a Stable Audio checkpoint (the library downloads them from the hub
by name): a model with a T5 conditioner needs `t5_path`, a local T5 folder (or cache) whose
width matches the `t5_model_name` in model_config.json (768 for t5-base).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...errors import DawgenError
from ..hf_cache import model_folder, read_json
from ..hf_cache import unavailable as _unavailable

WEIGHT_FILES = ("model.safetensors", "model.ckpt")
MODEL_TYPES = ("diffusion_cond", "diffusion_cond_inpaint", "diffusion_uncond")
T5_WEIGHTS = ("model.safetensors", "pytorch_model.bin")
T5_TOKENIZERS = ("tokenizer.json", "spiece.model")
# where users get the T5 a config names (the library's short names are hub aliases)
T5_REPOS = {"t5-small": "google-t5/t5-small", "t5-base": "google-t5/t5-base", "t5-large": "google-t5/t5-large"}


@dataclass(frozen=True)
class Family:
    """Per-family defaults for the params declared with default None (spec.py)."""

    name: str
    steps: int
    sampler: str
    cfg_scale: float


# SAO 1.0: 100 steps of dpmpp-3m-sde at cfg 7 (the library's gradio defaults, sigma 0.3..500);
# SAO Small (ARC post-trained, rf_denoiser): 8 steps of its own pingpong sampler at cfg 1;
# other rectified-flow fine-tunes: euler; Dance Diffusion: unconditional, the library's uncond sampler.
FAMILIES = {
    "sao-1.0": Family("sao-1.0", 100, "dpmpp-3m-sde", 7.0),
    "sao-small": Family("sao-small", 8, "pingpong", 1.0),
    "rectified-flow": Family("rectified-flow", 50, "euler", 7.0),
    "dance-diffusion": Family("dance-diffusion", 100, "dpmpp-2m-sde", 1.0),
}
V_SAMPLERS = ("dpmpp-3m-sde", "dpmpp-2m-sde", "dpmpp-2m", "k-heun", "k-lms", "k-dpmpp-2s-ancestral", "k-dpm-2",
              "k-dpm-fast", "k-dpm-adaptive", "v-ddim", "v-ddim-cfgpp")
RF_SAMPLERS = ("euler", "rk4", "dpmpp", "pingpong")
SAMPLERS = V_SAMPLERS + RF_SAMPLERS
SMALL_WINDOW = 524288  # stable-audio-open-small's sample_size (~11.9 s at 44.1 kHz)


@dataclass(frozen=True)
class ModelFiles:
    folder: Path
    config: dict[str, Any]
    weights: Path
    model_type: str
    objective: str  # "v", "rectified_flow" or "rf_denoiser"
    family: Family
    sample_rate: int
    window: int  # sample_size: the most frames one pass makes
    channels: int
    t5_name: str | None  # t5_model_name of a T5 conditioner, None without one
    t5_folder: Path | None

    @property
    def window_seconds(self) -> float:
        return self.window / self.sample_rate

    @property
    def conditional(self) -> bool:
        return self.model_type != "diffusion_uncond"

    @property
    def samplers(self) -> tuple[str, ...]:
        return V_SAMPLERS if self.objective == "v" else RF_SAMPLERS


def resolve_folder(path: str, marker: str, what: str) -> Path:
    """The folder holding `marker`: `path` itself, or the snapshot a cache folder points at."""
    return model_folder(path, marker, f"no {what} given: set it in the model's [models.NAME] entry", what)


def _present(file: Path) -> bool:
    return file.exists()  # through a cache symlink: a link to a blob never downloaded is absent


def _read_config(file: Path) -> dict[str, Any]:
    return read_json(file, f"missing file {file}: download model_config.json from the model's repository "
                           "(e.g. stabilityai/stable-audio-open-1.0) into the model folder")


def _t5_name(config: dict[str, Any]) -> str | None:
    conditioning = (config.get("model") or {}).get("conditioning") or {}
    for entry in conditioning.get("configs") or []:
        if entry.get("type") == "t5":
            return str((entry.get("config") or {}).get("t5_model_name", "t5-base"))
    return None


def family_of(model_type: str, objective: str, window: int) -> Family:
    if model_type == "diffusion_uncond":
        return FAMILIES["dance-diffusion"]
    if objective == "rf_denoiser" or (objective == "rectified_flow" and window <= SMALL_WINDOW):
        return FAMILIES["sao-small"]
    if objective == "rectified_flow":
        return FAMILIES["rectified-flow"]
    return FAMILIES["sao-1.0"]


def check_t5(path: str, name: str) -> Path:
    repo = T5_REPOS.get(name, name)
    hint = (f"download {repo} (config.json, model.safetensors, tokenizer.json or spiece.model) and set "
            f"t5_path = \"/folder/of/{repo.split('/')[-1]}\" in the model's [models.NAME] entry")
    if not path:
        raise _unavailable(f"this model's T5 conditioner ({name}) needs a local T5 folder: {hint}")
    try:
        folder = resolve_folder(path, "config.json", "t5_path folder")
    except DawgenError as exc:
        raise _unavailable(f"{exc.message}: {hint}") from None
    if not _present(folder / "config.json"):
        raise _unavailable(f"missing file {folder / 'config.json'}: {hint}")
    if not any(_present(folder / n) for n in T5_WEIGHTS):
        raise _unavailable(f"missing file {folder / T5_WEIGHTS[0]}: {hint}")
    if not any(_present(folder / n) for n in T5_TOKENIZERS):
        raise _unavailable(f"missing file {folder / T5_TOKENIZERS[0]}: {hint}")
    return folder


def check_folder(path: str, t5_path: str = "") -> ModelFiles:
    """Every file the backend needs, or a model_unavailable error naming the first one missing."""
    folder = resolve_folder(path, "model_config.json", "model folder")
    config_file = folder / "model_config.json"
    config = _read_config(config_file)
    model_type = str(config.get("model_type", ""))
    if model_type not in MODEL_TYPES:
        raise _unavailable(f"{config_file}: model_type {model_type!r} is not one this backend runs "
                           f"({', '.join(MODEL_TYPES)})")
    weights = next((folder / n for n in WEIGHT_FILES if _present(folder / n)), None)
    if weights is None:
        raise _unavailable(f"missing file {folder / WEIGHT_FILES[0]} (or {WEIGHT_FILES[1]}): download the "
                           "weights from the model's repository next to model_config.json")
    try:
        rate, window = int(config["sample_rate"]), int(config["sample_size"])
        channels = int(config.get("audio_channels", 2))
    except (KeyError, TypeError, ValueError):
        raise _unavailable(f"{config_file}: needs sample_rate and sample_size") from None
    diffusion = (config.get("model") or {}).get("diffusion") or {}
    objective = str(diffusion.get("diffusion_objective", "v"))
    t5_name = _t5_name(config)
    t5_folder = check_t5(t5_path, t5_name) if t5_name is not None else None
    return ModelFiles(folder, config, weights, model_type, objective, family_of(model_type, objective, window),
                      rate, window, channels, t5_name, t5_folder)


def peek(path: str) -> tuple[str, str] | None:
    """(model_type, objective) from model_config.json when it can be read, else None: decides the
    verbs a model lists even while its other files are missing."""
    try:
        folder = resolve_folder(path, "model_config.json", "model folder")
        config = json.loads((folder / "model_config.json").read_text(encoding="utf-8"))
        diffusion = (config.get("model") or {}).get("diffusion") or {}
        return str(config.get("model_type", "")), str(diffusion.get("diffusion_objective", "v"))
    except (DawgenError, OSError, ValueError, AttributeError):
        return None
