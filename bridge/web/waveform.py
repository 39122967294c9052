"""Waveform + spectrogram PNGs of results the writer made without one (`preview=false`): drawn with
numpy by the writer's own renderer (server/output/preview.py), once per file version, kept in memory."""
from __future__ import annotations

import os
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np
import soundfile as sf

from server.errors import DawgenError, ErrorCode
from server.output.preview import render_png

CACHE_ENTRIES = 256
MAX_SECONDS = 600  # longer files are drawn from their first ten minutes


class WaveformCache:
    def __init__(self, entries: int = CACHE_ENTRIES) -> None:
        self._png: OrderedDict[tuple[str, int, int], bytes] = OrderedDict()
        self._entries = entries
        self._lock = threading.Lock()

    def png(self, path: Path) -> bytes:
        st = os.stat(path)
        key = (str(path), st.st_mtime_ns, st.st_size)
        with self._lock:
            if key in self._png:
                self._png.move_to_end(key)
                return self._png[key]
        data = draw(path)
        with self._lock:
            self._png[key] = data
            while len(self._png) > self._entries:
                self._png.popitem(last=False)
        return data


def draw(path: Path) -> bytes:
    try:
        info = sf.info(str(path))
        samples, rate = sf.read(str(path), frames=int(info.samplerate * MAX_SECONDS), dtype="float32", always_2d=True)
    except (RuntimeError, sf.LibsndfileError) as exc:
        raise DawgenError(ErrorCode.NOT_FOUND, f"{path.name} is not audio dawgen can draw: {exc}") from None
    if len(samples) == 0:
        samples = np.zeros((1, 1), dtype=np.float32)
    return render_png(samples, rate)
