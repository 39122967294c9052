"""Tiny RoFormer models with random weights, saved as the published UVR / MSST checkpoints are.

Each is built from audio-separator 0.47.1's MSST classes (loaded as the backend loads them) from the
`model:` section of a checkpoint-style yaml, and written as `<name>.ckpt` (a plain state dict, as MSST
saves it) beside `<name>.yaml` (audio, model, training, inference sections; tuples tagged
`!!python/tuple` as MSST's configs tag them). A small STFT (512 / hop 128) and dim 16 keep a chunk's
forward pass to milliseconds. Used by the tests and by bench/stems.py (which also builds real sizes).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

BS_TINY: dict[str, Any] = dict(dim=16, depth=1, stereo=True, num_stems=1, time_transformer_depth=1,
                               freq_transformer_depth=1, freqs_per_bands=(32, 32, 65), dim_head=8, heads=2,
                               stft_n_fft=256, stft_hop_length=128, stft_win_length=256, flash_attn=True,
                               mask_estimator_depth=1)
MEL_TINY: dict[str, Any] = dict(dim=16, depth=1, stereo=True, num_stems=2, time_transformer_depth=1,
                                freq_transformer_depth=1, num_bands=8, dim_head=8, heads=2, sample_rate=44100,
                                stft_n_fft=512, stft_hop_length=128, stft_win_length=512, flash_attn=True,
                                mask_estimator_depth=1)


def yaml_text(model: dict[str, Any], instruments: list[str], target: str | None, chunk: int,
              num_overlap: int = 2, model_type: str | None = None, normalize: bool = False) -> str:
    def value(v: Any) -> str:
        if isinstance(v, tuple):
            return "!!python/tuple\n" + "".join(f"    - {x}\n" for x in v).rstrip("\n")
        return str(v).lower() if isinstance(v, bool) else str(v)

    lines = ["audio:", f"  chunk_size: {chunk}", "  num_channels: 2", "  sample_rate: 44100", "  min_mean_abs: 0.0",
             "model:", *(f"  {k}: {value(v)}" for k, v in model.items()),
             "training:", f"  instruments: [{', '.join(instruments)}]",
             *([f"  target_instrument: {target}"] if target else []),
             "inference:", "  batch_size: 1", f"  num_overlap: {num_overlap}", f"  normalize: {str(normalize).lower()}"]
    if model_type:
        lines.insert(0, f"model_type: {model_type}")
    return "\n".join(lines) + "\n"


def build(model_type: str, model: dict[str, Any], seed: int = 0) -> Any:
    import torch

    from server.backends.roformer.library import model_class

    torch.manual_seed(seed)
    return model_class(model_type)(**model).eval()


def save(folder: Path, name: str, model_type: str, model: dict[str, Any], instruments: list[str],
         target: str | None, chunk: int = 44032, seed: int = 0, **yaml_args: Any) -> Path:
    """`<name>.ckpt` + `<name>.yaml` in `folder`; returns the .ckpt path."""
    import torch

    folder.mkdir(parents=True, exist_ok=True)
    net = build(model_type, model, seed)
    torch.save(net.state_dict(), folder / f"{name}.ckpt")
    (folder / f"{name}.yaml").write_text(yaml_text(model, instruments, target, chunk, **yaml_args))
    return folder / f"{name}.ckpt"


def make_models(folder: Path) -> dict[str, Path]:
    """`bs_vocals` (BS-RoFormer, one target: vocals + the residual `other`) and `mel_2` (Mel-Band
    RoFormer with two outputs: bass, drums)."""
    return {"bs_vocals": save(folder, "bs_vocals", "bs_roformer", BS_TINY, ["vocals", "other"], "vocals", seed=1),
            "mel_2": save(folder, "mel_2", "mel_band_roformer", MEL_TINY, ["bass", "drums"], None, seed=2)}
