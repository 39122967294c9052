"""Tiny Stable Audio models with random weights, saved exactly as users' downloads are.

The model_config.json dicts follow the published stabilityai/stable-audio-open-1.0 and -small
configs (Oobleck VAE pretransform, DiT, T5 + seconds conditioners), shrunk: a few hundred thousand
parameters instead of 1.2 B. The T5 conditioner is `t5-base` (768 wide, as SAO's), read from a tiny
local T5 folder (config + safetensors + a tokenizer built in code: no download). Used by the tests
and bench/stable_audio.py.

Random init leaves the DiT's output layers and some of its conditioning projections at zero (field
notes), so a fresh model ignores the prompt: every weight is perturbed before saving.
"""
from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

SAMPLE_RATE = 44100
WINDOW = 131072  # ~2.97 s at 44.1 kHz: the tiny models' sample_size
LATENT = 8  # latent channels (SAO: 64)
STRIDES = [4, 8, 8]  # downsampling 256 (SAO: 2048)

_OOBLECK = {
    "type": "autoencoder",
    "iterate_batch": True,
    "config": {
        "encoder": {"type": "oobleck", "requires_grad": False,
                    "config": {"in_channels": 2, "channels": 8, "c_mults": [1, 2, 2], "strides": STRIDES,
                               "latent_dim": LATENT * 2, "use_snake": True}},
        "decoder": {"type": "oobleck",
                    "config": {"out_channels": 2, "channels": 8, "c_mults": [1, 2, 2], "strides": STRIDES,
                               "latent_dim": LATENT, "use_snake": True, "final_tanh": False}},
        "bottleneck": {"type": "vae"},
        "latent_dim": LATENT,
        "downsampling_ratio": 256,
        "io_channels": 2,
    },
}
_DIT = {"io_channels": LATENT, "embed_dim": 64, "depth": 2, "num_heads": 2, "cond_token_dim": 768,
        "project_cond_tokens": True, "transformer_type": "continuous_transformer"}


def sao_config(objective: str = "v", inpaint: bool = False) -> dict[str, Any]:
    """stable-audio-open-1.0's model_config.json shrunk (objective "v"), or -small's (objective
    "rf_denoiser": no seconds_start), or an inpainting fine-tune (input_concat of mask + masked latents)."""
    small = objective != "v"
    numbers = ["seconds_total"] if small else ["seconds_start", "seconds_total"]
    conditioners = [{"id": "prompt", "type": "t5", "config": {"t5_model_name": "t5-base", "max_length": 16}}]
    conditioners += [{"id": n, "type": "number", "config": {"min_val": 0, "max_val": 512}} for n in numbers]
    dit = dict(_DIT, global_cond_dim=768 * len(numbers))  # the number embeddings, concatenated (SAO: 1536)
    diffusion: dict[str, Any] = {"cross_attention_cond_ids": ["prompt", *numbers], "global_cond_ids": numbers,
                                 "type": "dit", "config": dit}
    if small:
        diffusion["diffusion_objective"] = objective
    if inpaint:
        diffusion["input_concat_ids"] = ["inpaint_mask", "inpaint_masked_input"]
        dit["input_concat_dim"] = LATENT + 1
    return {
        "model_type": "diffusion_cond_inpaint" if inpaint else "diffusion_cond",
        "sample_size": WINDOW,
        "sample_rate": SAMPLE_RATE,
        "audio_channels": 2,
        "model": {"pretransform": copy.deepcopy(_OOBLECK),
                  "conditioning": {"configs": conditioners, "cond_dim": 768},
                  "diffusion": diffusion, "io_channels": LATENT},
    }


def dance_config() -> dict[str, Any]:
    """A Dance Diffusion (DAU1d) config, as harmonai's checkpoints are described for stable-audio-tools."""
    return {"model_type": "diffusion_uncond", "sample_size": 16384, "sample_rate": 16000, "audio_channels": 2,
            "model": {"type": "DAU1d", "config": {"n_attn_layers": 1, "depth": 4, "channels": [32, 32, 32, 32],
                                                  "strides": [2, 2, 2]}}}


def build_t5(folder: Path) -> Path:
    """A 768-wide one-layer T5 encoder (t5-base's width) and its tokenizer, as save_pretrained writes them."""
    import torch
    from transformers import T5Config, T5EncoderModel

    from tests.server.backends.musicgen_tiny import build_tokenizer

    tokenizer = build_tokenizer()
    config = T5Config(vocab_size=len(tokenizer) + 8, d_model=768, d_kv=8, d_ff=32, num_layers=1, num_heads=2,
                      relative_attention_num_buckets=8)
    torch.manual_seed(0)
    T5EncoderModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return Path(folder)


def _perturb(model: Any, seed: int) -> None:
    import torch

    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.startswith("conditioner."):
                continue  # the T5 is not in the checkpoint; number conditioners stay as built
            if p.ndim >= 2:
                p.add_(torch.randn(p.shape, generator=gen) * 0.2 / max(1.0, p.shape[1] ** 0.5))
            else:
                p.add_(torch.randn(p.shape, generator=gen) * 0.05)


def build_model(folder: Path, config: dict[str, Any], t5: Path | None, seed: int = 0,
                ckpt: bool = False) -> Path:
    """Build `config` with random weights and save model_config.json + model.safetensors (or
    model.ckpt, `{"state_dict": ...}`) in `folder`, without the T5 weights (as published)."""
    import torch
    from safetensors.torch import save_file

    from server.backends.stable_audio.imports import import_library
    from server.backends.stable_audio.model import build_from_config

    import_library()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    model = build_from_config(config, t5)
    _perturb(model, seed + 1)
    state = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()
             if not k.startswith("conditioner.conditioners.prompt.model.")}
    (folder / "model_config.json").write_text(json.dumps(config, indent=2))
    if ckpt:
        torch.save({"state_dict": state}, folder / "model.ckpt")
    else:
        save_file(state, str(folder / "model.safetensors"))
    return folder


def hf_cache(base: Path, source: Path, repo: str = "stabilityai/stable-audio-open-small") -> Path:
    """`source`'s files in a Hugging Face cache layout (blobs + snapshot symlinks + refs/main);
    returns the `models--...` folder."""
    import hashlib
    import os
    import shutil

    root = Path(base) / ("models--" + repo.replace("/", "--"))
    revision = "0123456789abcdef0123456789abcdef01234567"
    snapshot = root / "snapshots" / revision
    (root / "blobs").mkdir(parents=True, exist_ok=True)
    snapshot.mkdir(parents=True, exist_ok=True)
    for file in Path(source).iterdir():
        digest = hashlib.sha256(file.read_bytes()).hexdigest()
        shutil.copyfile(file, root / "blobs" / digest)
        link = snapshot / file.name
        if not link.exists():
            os.symlink(os.path.relpath(root / "blobs" / digest, snapshot), link)
    (root / "refs").mkdir(exist_ok=True)
    (root / "refs" / "main").write_text(revision)
    return root


def tiny_models(base: Path) -> dict[str, Path]:
    """Every tiny model under `base` (built once: a marker file says they are)."""
    base = Path(base) / "stable-audio-tiny"
    paths = {"t5": base / "t5-base", "sao": base / "sao", "ckpt": base / "sao-ckpt", "small": base / "small",
             "inpaint": base / "inpaint", "dance": base / "dance", "hf": base / "hub"}
    if not (base / "built").exists():
        build_t5(paths["t5"])
        build_model(paths["sao"], sao_config("v"), paths["t5"], seed=0)
        build_model(paths["ckpt"], sao_config("v"), paths["t5"], seed=0, ckpt=True)
        build_model(paths["small"], sao_config("rf_denoiser"), paths["t5"], seed=2)
        build_model(paths["inpaint"], sao_config("rectified_flow", inpaint=True), paths["t5"], seed=3)
        build_model(paths["dance"], dance_config(), None, seed=4)
        paths["hf"] = hf_cache(base / "hub", paths["small"])
        (base / "built").write_text("ok")
    else:
        paths["hf"] = base / "hub" / "models--stabilityai--stable-audio-open-small"
    return paths
