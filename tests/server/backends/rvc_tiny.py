"""Tiny RVC parts with random weights, in the formats users' files have (used by the tests and bench/rvc.py).

- a voice: rvc-next's SynthesizerTrnMs768NSFsid built from a v2 voice's 18-value `config` (the 40k
  list RVC saves, channel sizes shrunk), saved as RVC's `.pth`: `{weight (fp16, no enc_q), config,
  info, sr, f0, version}`. Random weights make noise, not a voice; so that the tests can hear the
  pitch path, the NSF source's mixing weight is set to 10 and the content path (conv_pre) scaled by
  0.01, as in a trained voice, whose voiced frames follow the f0 the pitch tracker gives it.
- the content encoder: a transformers HubertModel from HubertConfig (768 wide, as v2 voices read),
  saved with save_pretrained.
- RMVPE: rvc-next's E2E network with a shallower, narrower U-Net, saved as a state dict like rmvpe.pt.
- an index: a faiss IVF-Flat over random 768-d vectors, named as RVC WebUI names it.
"""
from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import numpy as np

# RVC's v2 40k config (configs/v2/40k.json as saved in a voice's "config"), channels shrunk:
# spec_channels, segment_size, inter, hidden, filter, heads, layers, kernel, dropout, resblock,
# resblock kernels, dilations, upsample rates, upsample initial channel, upsample kernels,
# spk_embed_dim, gin_channels, sampling rate
V2_40K_TINY = [1025, 32, 8, 8, 16, 2, 1, 3, 0, "1", [3], [[1, 3, 5]], [10, 10, 2, 2], 16, [16, 16, 4, 4], 109, 8, 40000]
V2_48K_TINY = [1025, 32, 8, 8, 16, 2, 1, 3, 0, "1", [3], [[1, 3, 5]], [12, 10, 2, 2], 16, [24, 20, 4, 4], 109, 8, 48000]
RMVPE_TINY = dict(n_blocks=1, n_gru=1, kernel_size=(2, 2), en_de_layers=2, inter_layers=1, en_out_channels=4)


def voice_state(config: list, seed: int = 0, audible_f0: bool = True) -> dict:
    import torch
    from rvc_next.engine.models.synthesizer import SynthesizerTrnMs768NSFsid

    torch.manual_seed(seed)
    net = SynthesizerTrnMs768NSFsid(*config, is_half=False)
    weight = OrderedDict((k, v.half()) for k, v in net.state_dict().items() if "enc_q" not in k)
    if audible_f0:
        weight["dec.conv_pre.weight"] = (weight["dec.conv_pre.weight"].float() * 0.01).half()
        weight["dec.m_source.l_linear.weight"] = torch.full_like(weight["dec.m_source.l_linear.weight"], 10.0)
        weight["dec.m_source.l_linear.bias"] = torch.zeros_like(weight["dec.m_source.l_linear.bias"])
    rate = {40000: "40k", 48000: "48k"}[config[-1]]
    return {"weight": weight, "config": list(config), "info": "tiny test voice", "sr": rate, "f0": 1, "version": "v2"}


def save_voice(path: Path, config: list = V2_40K_TINY, seed: int = 0, audible_f0: bool = True) -> Path:
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(voice_state(config, seed, audible_f0), path)
    return path


def save_hubert(folder: Path, seed: int = 0) -> Path:
    import torch
    from transformers import HubertConfig, HubertModel

    torch.manual_seed(seed)
    config = HubertConfig(hidden_size=768, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64,
                          conv_dim=(16,) * 7, num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=4,
                          classifier_proj_size=256)
    HubertModel(config).save_pretrained(folder)
    return folder


def save_rmvpe(path: Path, seed: int = 0, **shape) -> Path:
    import torch
    from rvc_next.engine.f0.rmvpe import E2E

    torch.manual_seed(seed)
    s = {**RMVPE_TINY, **shape}
    net = E2E(s["n_blocks"], s["n_gru"], s["kernel_size"], en_de_layers=s["en_de_layers"],
              inter_layers=s["inter_layers"], en_out_channels=s["en_out_channels"])
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(net.state_dict(), path)
    return path


def save_index(folder: Path, voice: str, seed: int = 0, vectors: int = 256) -> Path:
    import faiss

    rng = np.random.default_rng(seed)
    data = rng.standard_normal((vectors, 768)).astype(np.float32)
    n_ivf = 4
    index = faiss.index_factory(768, f"IVF{n_ivf},Flat")
    index.train(data)
    index.add(data)
    path = folder / f"added_IVF{n_ivf}_Flat_nprobe_1_{voice}_v2.index"
    faiss.write_index(index, str(path))
    return path


def make_model(root: Path) -> dict[str, Path]:
    """A model's files: hubert folder, rmvpe.pt, and a voices folder with `alice` (+ index) and `bob`."""
    voices = root / "voices"
    save_voice(voices / "alice" / "alice.pth", V2_40K_TINY, seed=1)
    save_voice(voices / "bob.pth", V2_48K_TINY, seed=2)
    return {"hubert": save_hubert(root / "hubert"), "rmvpe": save_rmvpe(root / "rmvpe.pt"), "voices_dir": voices}


def sung_tone(seconds: float, rate: int, hz: float = 220.0, channels: int = 1) -> np.ndarray:
    """A sung-like tone: a harmonic-rich note with vibrato and a soft attack, (frames, channels)."""
    t = np.arange(int(seconds * rate)) / rate
    phase = 2 * np.pi * np.cumsum(hz * (1 + 0.01 * np.sin(2 * np.pi * 5 * t))) / rate
    x = sum(np.sin(k * phase) / k for k in range(1, 6)) * 0.25 * np.minimum(1.0, t / 0.05)
    return np.repeat(x[:, None], channels, axis=1).astype(np.float32)
