"""What the Hugging Face-library backends (bark, musicgen, diffusers, stable-audio) share around
loading: the `dtype` / `threads` option checks and quieting the libraries.

Nothing here imports torch or transformers at module import time (the option checks run in the
daemon before any model loads); the functions that need them import them when called.
"""
from __future__ import annotations

import importlib
from collections.abc import Mapping
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

