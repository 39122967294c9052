"""One conversion with rvc-next's offline pipeline (the original RVC `Pipeline`), made DAW-exact.

rvc-next's converter takes 16 kHz mono and returns the voice's rate, a few frames short of the
input (its 10 ms frames are floored); it trims the same padding from both ends, so its start is
aligned with the input's, and its long-audio chunks (cut at quiet points) join without losing a
frame (tested: a note change lands at the same time with or without joins). Here the input gets a tail of silence first, and the result is resampled
back to the input's rate and cut to exactly the input's frame count: as long as the input, sample
for sample.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...post.resample import resample

MODEL_RATE = 16000  # HuBERT and RMVPE read 16 kHz
TAIL_SECONDS = 0.1  # more than the frames rvc-next's converter drops at the end
# Long audio is split at the quietest point near every x_center seconds (RVC's CPU setting):
# x_pad, x_query, x_center, x_max in seconds.
CHUNKS = (1, 6, 38, 41)


@dataclass
class Runtime:
    """What rvc-next's OfflineConverter asks of its runtime: a device, the chunking, and the models."""

    device: str
    hubert_model: Any
    providers: Mapping[str, Any]
    is_half: bool = False

    @property
    def chunk(self) -> Any:
        from rvc_next.engine.runtime import ChunkConfig

        return ChunkConfig(*CHUNKS)

    def hubert(self, embedder: str = "contentvec") -> Any:
        return self.hubert_model

    def f0(self, method: str) -> Any:
        return self.providers[method]


def voice_params(params: Mapping[str, Any]) -> Any:
    """rvc-next's VoiceParams from a request. `unvoiced = zero` keeps unvoiced frames at 0 Hz so that
    `protect` acts on them, as classic RVC converts (rvc-next's default ignores `protect`)."""
    from rvc_next.engine.convert.params import VoiceParams

    return VoiceParams(pitch=float(params.get("pitch", 0.0)), f0_method=str(params.get("f0_method", "rmvpe")),
                       index_rate=float(params.get("index_rate", 0.75)), protect=float(params.get("protect", 0.33)),
                       unvoiced="zero")


def convert(mono: np.ndarray, rate: int, runtime: Runtime, voice: Any, params: Mapping[str, Any], index: Any,
            progress: Callable[[float], None], seed: int = 0) -> np.ndarray:
    """`mono` (frames,) at `rate` in `voice`'s voice: float32 (frames,) at `rate`, the same length."""
    import torch
    from rvc_next.engine.convert.offline import OfflineConverter

    frames = mono.shape[0]
    x16 = resample(mono, rate, MODEL_RATE)[:, 0]
    x16 = np.concatenate([x16, np.zeros(int(TAIL_SECONDS * MODEL_RATE), np.float32)])
    progress(0.0)  # a cancel point before the work: the converter reports only between its chunks
    torch.manual_seed(seed)  # the NSF source adds noise: the same request gives the same file
    converter = OfflineConverter(runtime)  # type: ignore[arg-type]  (duck-typed runtime)
    with torch.inference_mode():
        out, out_rate = converter.convert(x16, voice, voice_params(params), index=index, progress=progress)
    y = out.astype(np.float32) / 32768.0
    y = resample(y, out_rate, rate)[:, 0]
    if y.shape[0] < frames:
        y = np.pad(y, (0, frames - y.shape[0]))
    return np.ascontiguousarray(y[:frames])
