"""Shared plumbing for torch backends. Import this only inside a backend's `_load`/`_run`.

Nothing here imports torch at module import time; every function imports it when called, so the
daemon and its front doors stay torch-free until a model loads.
"""
from __future__ import annotations

import importlib
import os
from types import ModuleType
from typing import Any

from ..jobs import DawgenError, ErrorCode


def require(module: str, extra: str) -> ModuleType:
    """Import an optional library or fail with an error naming the extra that installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise DawgenError(
            ErrorCode.MODEL_UNAVAILABLE,
            f"this model needs {module!r}, which is not installed: pip install 'dawgen[{extra}]' ({exc})",
        ) from None


def offline() -> None:
    """Never touch a model hub: a lookup otherwise hangs ~50 s before failing (field notes)."""
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
        os.environ[var] = "1"


def pick_device(preference: str = "auto") -> str:
    """'auto' → cuda, else mps, else cpu; an explicit 'cuda:1' / 'mps' / 'cpu' is checked."""
    torch = require("torch", "torch")
    mps = getattr(torch.backends, "mps", None)
    has_mps = bool(mps is not None and mps.is_available())
    if preference in ("", "auto"):
        if torch.cuda.is_available():
            return "cuda"
        return "mps" if has_mps else "cpu"
    if preference.startswith("cuda") and not torch.cuda.is_available():
        raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, f"device {preference!r} asked for, but CUDA is not available")
    if preference == "mps" and not has_mps:
        raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, "device 'mps' asked for, but Metal is not available")
    return preference


def seed_all(seed: int) -> Any:
    """Seed torch's generators for a reproducible run; returns a CPU generator seeded likewise."""
    torch = require("torch", "torch")
    torch.manual_seed(seed)
    return torch.Generator(device="cpu").manual_seed(seed)
