"""What the Hugging Face-library backends (bark, musicgen, diffusers, stable-audio) share around
loading: the `dtype` / `threads` option checks, quieting the libraries, and transformers'
`from_pretrained` with weights-only pickles.

Nothing here imports torch or transformers at module import time (the option checks run in the
daemon before any model loads); the functions that need them import them when called.
"""
from __future__ import annotations

import importlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import DawgenError, ErrorCode

DTYPES = ("auto", "float32", "float16", "bfloat16")


def check_options(model_name: str, options: Mapping[str, Any], dtypes: tuple[str, ...] = DTYPES,
                  threads: bool = True) -> None:
    """model_unavailable for a `dtype` outside `dtypes` or (with `threads`) a negative `threads`:
    said when the model is checked, not as a torch error at its first request."""
    dtype = str(options.get("dtype", "auto"))
    if dtype not in dtypes:
        raise DawgenError(ErrorCode.MODEL_UNAVAILABLE,
                          f"models.{model_name}.dtype: {dtype!r} is not one of {', '.join(dtypes)}")
    if threads and int(options.get("threads", 0)) < 0:
        raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, f"models.{model_name}.threads: must be >= 0 "
                                                       "(0 = half the CPU cores)")


def quiet(*libraries: str) -> None:
    """No progress bars or notices from transformers / diffusers on the model process's stderr:
    they would be printed per load and per shard, and the daemon reports progress itself."""
    for name in libraries:
        logging = importlib.import_module(name).utils.logging
        logging.set_verbosity_error()
        logging.disable_progress_bar()


def from_pretrained(cls: Any, folder: Path, dtype: Any, model_name: str = "", trusted: bool = False) -> tuple[Any, Any]:
    """(model, tokenizer) of a transformers-format folder, never from the network. weights_only is
    said out loud (transformers 5's default, not 4's everywhere): a pytorch_model.bin runs no code
    unless the model's allow_pickle trusts it. A folder transformers cannot read is model_unavailable."""
    from transformers import AutoTokenizer

    from .safe_load import warn_full_pickle

    if trusted:
        warn_full_pickle(model_name, folder)
    try:
        model = cls.from_pretrained(str(folder), local_files_only=True, dtype=dtype, weights_only=not trusted)
        tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    except (OSError, ValueError, ImportError) as exc:
        raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, f"cannot load {folder}: {exc}") from None
    return model, tokenizer
