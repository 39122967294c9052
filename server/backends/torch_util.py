"""Shared plumbing for torch backends. Import this only inside a backend's `_load`/`_run`.

Nothing here imports torch at module import time; every function imports it when called, so the
daemon and its front doors stay torch-free until a model loads. Whether torch is installed at all
is checked before that, in one place: Backend.check_requirements (base.py).
"""
from __future__ import annotations

import os
import sys
import weakref
from typing import Any

from ..errors import DawgenError, ErrorCode

HUB_SWITCHES = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")  # huggingface_hub reads either as its offline switch
OFFLINE_VARS = (*HUB_SWITCHES, "HF_DATASETS_OFFLINE")
_user_offline: bool | None = None  # what this process's environment said before offline() set it


def offline() -> None:
    """Never touch a model hub: a lookup otherwise hangs ~50 s before failing (field notes)."""
    global _user_offline
    if _user_offline is None:
        _user_offline = _offline_in_environment()
    for var in OFFLINE_VARS:
        os.environ[var] = "1"


def user_offline() -> bool:
    """Whether the user's environment asks for no hub (HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE),
    as it was before offline() set those variables for this process's model loads."""
    return _offline_in_environment() if _user_offline is None else _user_offline


def _offline_in_environment() -> bool:
    return any(os.environ.get(var, "").strip().upper() in ("1", "ON", "YES", "TRUE") for var in HUB_SWITCHES)


def pick_device(preference: str = "auto") -> str:
    """'auto' → cuda, else mps, else cpu; an explicit 'cuda:1' / 'mps' / 'cpu' is checked."""
    import torch

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
    import torch

    torch.manual_seed(seed)
    return torch.Generator(device="cpu").manual_seed(seed)


def is_out_of_memory(exc: BaseException) -> bool:
    """True for a device running out of memory: torch.cuda.OutOfMemoryError, the MPS and CPU
    allocators' RuntimeErrors ("out of memory", "MPS backend out of memory") and MemoryError."""
    if isinstance(exc, MemoryError):
        return True
    if type(exc).__name__ == "OutOfMemoryError":  # torch.cuda.OutOfMemoryError / torch.OutOfMemoryError
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and ("out of memory" in text or "can't allocate memory" in text)


def release_memory(device: str = "") -> None:
    """Give cached blocks back after an out-of-memory error or an unload, so the next attempt (a
    smaller batch, another model) sees the memory that is really free."""
    import gc

    gc.collect()
    torch = sys.modules.get("torch")  # never import torch just to free memory it never held
    if torch is None:
        return
    if (not device or device.startswith("cuda")) and torch.cuda.is_available():
        torch.cuda.empty_cache()
    mps = getattr(torch, "mps", None)
    if (not device or device == "mps") and mps is not None and hasattr(mps, "empty_cache"):
        try:
            mps.empty_cache()
        except RuntimeError:  # no Metal device
            pass


def run_in_batches(run_batch: Any, count: int, device: str = "") -> list[Any]:
    """Run `run_batch(first, n)` for rows first..first+n-1, all `count` rows in one batch when they
    fit; on an out-of-memory error free memory and retry the remaining rows with half the batch.
    Returns the concatenated per-row results (run_batch returns a list of n results). A single row
    that does not fit raises DawgenError(out_of_memory): the job fails, the daemon stays up."""
    results: list[Any] = []
    batch = max(1, int(count))
    while len(results) < count:
        n = min(batch, count - len(results))
        try:
            results.extend(run_batch(len(results), n))
        except Exception as exc:
            if not is_out_of_memory(exc):
                raise
            release_memory(device)
            if n == 1:
                raise DawgenError(ErrorCode.OUT_OF_MEMORY,
                                  f"not enough memory on {device or 'the device'} even for one output "
                                  f"({type(exc).__name__}); try fewer seconds, or a smaller model") from None
            batch = n // 2
    return results


def module_bytes(*modules: Any) -> int:
    """Bytes held by the parameters and buffers of torch modules: a loaded model's footprint.

    Counted once per module object and kept: walking every submodule of a large model costs
    milliseconds, and the model process reports its warm models after every job, holding the GIL
    (a writer thread there, `[server] writer = "thread"`, needs it for that job's file). A loaded model's tensors keep their sizes while
    dawgen holds it (dtype and device are settled in its load; LoRA adapters are counted apart, by
    their patcher; training builds models of its own).
    """
    total = 0
    for module in modules:
        if module is None:
            continue
        counted = _COUNTED.get(module)
        if counted is None:
            counted = sum(t.numel() * t.element_size() for t in [*module.parameters(), *module.buffers()])
            _COUNTED[module] = counted
        total += counted
    return total


_COUNTED: weakref.WeakKeyDictionary[Any, int] = weakref.WeakKeyDictionary()  # gone with its module


def files_bytes(*paths: Any) -> int:
    """Bytes of weight files on disk: the estimate of a model's footprint before it loads."""
    total = 0
    for path in paths:
        try:
            total += os.path.getsize(path)
        except (OSError, TypeError):
            pass
    return total


def cpu_threads(options: Any) -> int:
    """torch's CPU threads for a model process: the `threads` option, else half the cores. The DAW
    and the daemon share the machine, and torch's threads spin-wait for each other: measured here
    with one other busy process on 2 cores, 2 threads took 17 s where 1 took 0.6 s (MusicGen)."""
    threads = int(options.get("threads", 0) or 0)
    return threads if threads > 0 else max(1, (os.cpu_count() or 2) // 2)


def torch_dtype(torch: Any, device: str, name: str = "auto") -> Any:
    """The `dtype` option: `auto` is half precision where it is fast and supported (CUDA), float32
    elsewhere; otherwise the named torch dtype."""
    if name == "auto":
        return torch.float16 if device.startswith("cuda") else torch.float32
    return getattr(torch, name)


def prepare(options: Any, preference: str = "auto", quiet: tuple[str, ...] = ()) -> tuple[str, Any]:
    """The start of a torch backend's load: hub lookups off, the `quiet` libraries silenced
    (hf_runtime.quiet), then (device, torch dtype) for the `device`, `threads` and `dtype` options.
    torch's CPU threads are limited only when the model runs on the CPU (cpu_threads says why they
    are limited at all)."""
    offline()
    import torch

    if quiet:
        from .hf_runtime import quiet as silence

        silence(*quiet)

    device = pick_device(preference)
    if device == "cpu":
        torch.set_num_threads(cpu_threads(options))
    return device, torch_dtype(torch, device, str(options.get("dtype", "auto")))
