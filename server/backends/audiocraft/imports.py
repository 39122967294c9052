"""Importing audiocraft 1.3.0 beside a torch it was not built for, without touching its files.

audiocraft 1.3.0 pins torch 2.1, torchaudio <2.1.2, xformers <0.0.23, av 11 and spacy, so it is
installed with `--no-deps` plus the checked list its inference path imports (`make
install-audiocraft`; field notes). What stands between `import audiocraft` and a working daemon:
- torchaudio: imported as the stable-audio backend does (its own folder, pure-Python parts when
  the compiled extension does not match torch: stable_audio/imports.py).
- spacy: imported at module level by audiocraft's conditioners (only its T5 word dropout uses it,
  never at inference); spacy 3.8 from PyPI fails to import beside this numpy/thinc. dawgen puts an
  empty stand-in module in sys.modules when spacy does not import; a real spacy is kept.
- xformers: imported at module level; its memory-efficient attention (MAGNeT's restricted
  attention, `memory_efficient: true` checkpoints) has no CPU kernels. Off CUDA, audiocraft's
  transformer gets a stand-in `ops` that runs the same attention with torch's
  scaled_dot_product_attention (`use_sdpa_attention`).
- stdout carries the daemon's ready line: it goes to stderr while the library imports.
"""
from __future__ import annotations

import contextlib
import importlib
import sys
import threading
import types
from typing import Any, ClassVar

EXTRA = "audiocraft"
VERSION = "1.3.0"
INSTALL_HINT = ("make install-audiocraft (pip install 'dawgen[audiocraft]', then audiocraft 1.3.0 and xformers "
                "with --no-deps: audiocraft pins torch 2.1; see docs/MODELS.md, 'audiocraft')")
# what the inference path imports: the backend's `requires` (torchaudio may sit aside, see below)
REQUIRED = ("torch", "audiocraft", "xformers", "torchaudio", "omegaconf", "hydra", "julius", "einops", "flashy",
            "dora", "av", "num2words", "sentencepiece", "huggingface_hub", "transformers", "librosa")

_lock = threading.Lock()


class NeedsAudiocraft:
    """Mixed in before Backend: audiocraft's requirements and how to install them."""

    requires: ClassVar[tuple[str, ...]] = REQUIRED
    extra: ClassVar[str] = EXTRA
    install_hint: ClassVar[str] = INSTALL_HINT

    def _installed(self, module: str) -> bool:
        from ..stable_audio.imports import torchaudio_aside

        return super()._installed(module) or (module == "torchaudio" and torchaudio_aside())  # type: ignore[misc]


def _spacy() -> None:
    try:
        importlib.import_module("spacy")
    except Exception:  # noqa: BLE001 - absent or broken (thinc): either way audiocraft only needs the name
        for name in [n for n in sys.modules if n == "spacy" or n.startswith("spacy.")]:
            del sys.modules[name]
        sys.modules["spacy"] = types.ModuleType("spacy")


def import_library() -> types.ModuleType:
    """audiocraft with its model classes imported, stdout kept clean. The backend checked REQUIRED
    first (Backend.load), so a missing library is named, not an ImportError."""
    from ..stable_audio.imports import import_torchaudio

    with _lock, contextlib.redirect_stdout(sys.stderr):
        import_torchaudio()
        _spacy()
        library = importlib.import_module("audiocraft")
        importlib.import_module("audiocraft.models")
        return library


class _SdpaOps:
    """What audiocraft's transformer uses of `xformers.ops`, on torch's scaled_dot_product_attention
    (tensors in xformers' (batch, time, heads, dim) layout)."""

    unbind = staticmethod(lambda x, dim: x.unbind(dim))

    @staticmethod
    def memory_efficient_attention(q: Any, k: Any, v: Any, attn_bias: Any = None, p: float = 0.0) -> Any:
        import torch
        from xformers.ops import LowerTriangularMask

        q, k, v = (x.transpose(1, 2) for x in (q, k, v))
        causal = isinstance(attn_bias, LowerTriangularMask)
        mask = None if causal or attn_bias is None else attn_bias.to(q.dtype)
        out = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p, is_causal=causal)
        return out.transpose(1, 2)


def use_sdpa_attention() -> None:
    """Off CUDA: audiocraft's memory-efficient attention runs on torch instead of xformers."""
    transformer = importlib.import_module("audiocraft.modules.transformer")
    transformer.ops = _SdpaOps  # type: ignore[attr-defined]


def library_version() -> str:
    from importlib import metadata

    try:
        return metadata.version("audiocraft")
    except metadata.PackageNotFoundError:
        return "not installed"
