"""Stand-ins for misbehaving plugins: module-level, so a spawned child process can import them."""
from __future__ import annotations

import os
import time

import numpy as np

from server.errors import DawgenError, ErrorCode


def double(x: np.ndarray) -> np.ndarray:
    return x * 2


def crash() -> None:
    os.abort()  # as a segfaulting plugin: the process dies with a signal, no Python error


def hang() -> None:
    time.sleep(600)


def refuse() -> None:
    raise DawgenError(ErrorCode.BAD_REQUEST, "no parameter 'x'")
