"""The RoFormer model classes, from audio-separator 0.47.1's copies of the MSST code, loaded by path.

Why these and not the `bs-roformer` package: the published UVR / MSST checkpoints (`.ckpt` + `.yaml`)
were trained with the Music Source Separation Training project's fork of lucidrains' classes, whose
constructors take the configs' keys (`mlp_expansion_factor`, `skip_connection`, `zero_dc`,
`sage_attention`, ...) and whose parameter names match the checkpoints. `bs-roformer` 1.2.x on PyPI
has moved on (it imports `hyper_connections` and `PoPE_pytorch` and changed its modules), so its
state dicts no longer match those files; pinning an old release would lose the keys newer
checkpoints use. audio-separator 0.47.1 ships the MSST-compatible classes in
`audio_separator/separator/uvr_lib_v5/roformer/` (they need beartype, einops, librosa,
rotary-embedding-torch, packaging), but importing them as package modules runs
`audio_separator/separator/__init__.py`, which imports its whole Separator (onnx, requests, pydub,
...). So audio-separator is installed with --no-deps (`make install-roformer`) and the four module
files are loaded from their folder under a private package name; the one absolute import they make
(`uvr_lib_v5.device_utils`, torch only) is loaded from its file too. Its loader (roformer_loader.py)
is never used: it calls torch.load without weights_only. Weights load through safe_load here.
"""
from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import inspect
import logging
import sys
import threading
from pathlib import Path
from typing import Any

from ...errors import DawgenError, ErrorCode

log = logging.getLogger("dawgen.roformer")

PACKAGE = "dawgen_uvr_roformer"  # the private package the four files are loaded under
DEVICE_UTILS = "audio_separator.separator.uvr_lib_v5.device_utils"
CLASSES = {"bs_roformer": ("bs_roformer", "BSRoformer"), "mel_band_roformer": ("mel_band_roformer", "MelBandRoformer")}
INSTALL = ("make install-roformer (or: pip install 'dawgen[roformer]' && "
           "pip install --no-deps audio-separator==0.47.1)")
_lock = threading.Lock()


def library_folder() -> Path:
    """audio_separator/separator/uvr_lib_v5, found without importing audio_separator."""
    spec = importlib.util.find_spec("audio_separator")
    for folder in (spec.submodule_search_locations or []) if spec is not None else []:
        candidate = Path(folder) / "separator" / "uvr_lib_v5"
        if (candidate / "roformer" / "bs_roformer.py").is_file():
            return candidate
    raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, f"the roformer backend needs audio-separator 0.47.1's "
                                                   f"RoFormer classes (not installed): {INSTALL}")


def model_class(model_type: str) -> Any:
    """BSRoformer or MelBandRoformer (torch is imported here)."""
    module_name, class_name = CLASSES[model_type]
    with _lock:
        _load_package()
        return getattr(importlib.import_module(f"{PACKAGE}.{module_name}"), class_name)


def _load_package() -> None:
    if PACKAGE in sys.modules:
        return
    folder = library_folder()
    if DEVICE_UTILS not in sys.modules:  # torch-only helpers the model files import by absolute name
        sys.modules[DEVICE_UTILS] = _module_from_file(DEVICE_UTILS, folder / "device_utils.py")
    spec = importlib.machinery.ModuleSpec(PACKAGE, None, is_package=True)
    spec.submodule_search_locations = [str(folder / "roformer")]
    sys.modules[PACKAGE] = importlib.util.module_from_spec(spec)


def _module_from_file(name: str, path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, f"audio-separator has no {path}: {INSTALL}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build(model_type: str, kwargs: dict[str, Any], where: str) -> Any:
    """The model from its config's `model:` section, as MSST's get_model_from_config builds it; keys
    the class does not take are dropped with a warning (the state dict check catches real mismatches)."""
    cls = model_class(model_type)
    accepted = set(inspect.signature(cls.__init__).parameters) - {"self"}
    unknown = sorted(set(kwargs) - accepted)
    if unknown:
        log.warning("%s: model keys %s are not arguments of %s; ignored", where, ", ".join(unknown), cls.__name__)
    try:
        return cls(**{k: v for k, v in kwargs.items() if k in accepted})
    except Exception as exc:  # noqa: BLE001 - beartype's violations, TypeError, AssertionError from the class
        raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, f"{where}: its model section does not build a "
                                                       f"{cls.__name__} ({type(exc).__name__}: {exc})") from None


def load_weights(model: Any, path: Path, trusted: bool, model_name: str) -> None:
    """The .ckpt read weights-only (safe_load), as MSST saves it: a state dict, or one under
    `state_dict` / `model` (lightning-style); loaded strictly, so a config that does not match is named."""
    from .. import safe_load

    state = safe_load.load_torch(path, trusted=trusted, model=model_name)
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    elif isinstance(state, dict) and isinstance(state.get("model"), dict):
        state = state["model"]
    if not isinstance(state, dict):
        raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, f"model {model_name}: {path} holds no state dict")
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, f"model {model_name}: {path} does not match its config "
                                                       f"({str(exc).splitlines()[0]} ...)") from None
