"""Loading an `rvc` model's parts with rvc-next's classes (torch; imported by the backend's `_load`/`_run`).

- the content encoder: a transformers HuBERT folder (ContentVec, as RVC uses it), or its Hugging
  Face cache folder (`models--ORG--NAME`), read by rvc-next's `load_hubert`;
- RMVPE: `rmvpe.pt` (a state dict), its U-Net's depth and width read from the file's keys, so the
  published 181 MB model and a smaller one load the same way;
- voices: an RVC `.pth` (`{weight, config, info, sr, f0, version}`) read weights-only, then rvc-next's
  parser and `build_synthesizer`; an `added_*.index` through faiss.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import DawgenError, ErrorCode
from .. import safe_load
from ..hf_cache import snapshot

CENTS = np.pad(20 * np.arange(360) + 1997.3794084376191, (4, 4))  # RMVPE's 360 pitch bins, in cents


def hubert_folder(path: str) -> Path:
    """The folder holding config.json: `path` itself or the snapshot of an HF cache repo folder."""
    folder = Path(path).expanduser()
    if not (folder / "config.json").is_file():
        snap = snapshot(folder)
        folder = snap if snap is not None else folder
    if not (folder / "config.json").is_file():
        raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, f"hubert: {path} holds no config.json (a transformers "
                                                       "HuBERT / ContentVec folder, or its Hugging Face cache folder)")
    return folder


def load_hubert(path: str, device: str) -> Any:
    from rvc_next.engine.errors import MissingAssetError
    from rvc_next.engine.features.hubert import load_hubert as rvc_load_hubert

    try:
        return rvc_load_hubert(hubert_folder(path), device)
    except (MissingAssetError, OSError, ValueError) as exc:
        raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, f"hubert: {exc}") from None


def _count(keys: list[str], pattern: str) -> int:
    found = {int(m.group(1)) for k in keys if (m := re.match(pattern, k))}
    return max(found) + 1 if found else 0


def rmvpe_network(state: dict[str, Any]) -> Any:
    """RMVPE's E2E network with the shape its state dict has (the published file: 4 blocks, 1 GRU,
    5 encoder layers, 4 intermediate layers, 16 channels), weights loaded."""
    from rvc_next.engine.f0.rmvpe import E2E

    keys = list(state)
    first = state.get("unet.encoder.layers.0.conv.0.conv.0.weight")
    if first is None:
        raise ValueError("no unet.encoder.layers.0 weights: not an RMVPE state dict")
    net = E2E(_count(keys, r"unet\.encoder\.layers\.0\.conv\.(\d+)\."), _count(keys, r"fc\.0\.gru\.weight_ih_l(\d+)$"),
              (2, 2), en_de_layers=_count(keys, r"unet\.encoder\.layers\.(\d+)\."),
              inter_layers=_count(keys, r"unet\.intermediate\.layers\.(\d+)\."), en_out_channels=int(first.shape[0]))
    net.load_state_dict(state)
    return net.eval()


def load_rmvpe(path: str, device: str, model: str, trusted: bool) -> Any:
    """rvc-next's RMVPE pitch provider over the network in `path` (weights-only)."""
    from rvc_next.engine.f0.rmvpe import RMVPE, MelSpectrogram
    from rvc_next.engine.f0.rmvpe_provider import RmvpeProvider

    file = Path(path).expanduser()
    if not file.is_file():
        raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, f"rmvpe: {file} is not a file (RVC's rmvpe.pt)")
    state = safe_load.load_torch(file, trusted=trusted, model=model)
    try:
        net = rmvpe_network(state).to(device)
    except (ValueError, RuntimeError, KeyError, AttributeError, TypeError) as exc:
        raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, f"rmvpe: {file} is not an RMVPE model ({exc})") from None
    # RMVPE's own constructor builds only the published shape: set up the same fields around ours
    rmvpe = RMVPE.__new__(RMVPE)
    rmvpe.resample_kernel, rmvpe.is_half, rmvpe.device, rmvpe.model = {}, False, device, net
    rmvpe.mel_extractor = MelSpectrogram(False, 128, 16000, 1024, 160, None, 30, 8000).to(device)
    rmvpe.cents_mapping = CENTS
    provider = RmvpeProvider.__new__(RmvpeProvider)
    provider.model = rmvpe
    return provider


def load_voice(pth: Path, device: str, model: str, trusted: bool) -> Any:
    """rvc-next's LoadedVoice (synthesizer in eval mode) from an RVC `.pth`, read weights-only."""
    from rvc_next.engine.errors import ModelFormatError
    from rvc_next.engine.models.checkpoint import _parse_small
    from rvc_next.engine.models.loader import LoadedVoice, build_synthesizer

    data = safe_load.load_torch(pth, trusted=trusted, model=model)
    try:
        small = _parse_small(data, pth.name)
        net = build_synthesizer(small, device, False)
    except ModelFormatError as exc:
        raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, f"voice {pth}: {exc}") from None
    except (RuntimeError, KeyError, TypeError, ValueError, IndexError) as exc:
        raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, f"voice {pth}: its weights do not fit its config ({exc})") from None
    return LoadedVoice(path=pth, net_g=net, small=small)


def load_index(path: Path) -> Any:
    """rvc-next's LoadedIndex (faiss): the vectors RVC's retrieval blends in."""
    try:
        import faiss  # noqa: F401  (rvc-next imports it inside load_index)
    except ImportError:
        raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, f"index_rate: the voice's index {path.name} needs faiss "
                                                       "(pip install faiss-cpu, part of the rvc extra); "
                                                       "or convert with index_rate=0") from None
    from rvc_next.engine.index.retrieval import load_index as rvc_load_index

    try:
        return rvc_load_index(path)
    except RuntimeError as exc:  # faiss raises RuntimeError for a file it cannot read
        raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, f"index {path}: not a faiss index ({exc})") from None
