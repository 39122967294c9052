"""Audio in for MusicGen: reading a clip or a melody, and the melody's chroma without torchaudio.

transformers' MusicgenMelodyFeatureExtractor needs torchaudio, which often cannot be imported beside
the installed torch (field notes); `chroma` computes the same features with torch.stft:
torchaudio's normalized power spectrogram (Hann window, centred, reflect padding), librosa's chroma
filter bank (transformers.audio_utils, numpy), an inf-norm per frame and a one-hot of the loudest
pitch class, as the extractor does.
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import soundfile as sf

from ...jobs import DawgenError, ErrorCode
from ...post.resample import resample


def read_section(path: str, start: float | None, end: float | None) -> tuple[np.ndarray, int]:
    """float32 (frames, channels) of `path` from `start` to `end` seconds, at the file's rate."""
    try:
        with sf.SoundFile(path) as fh:
            rate = fh.samplerate
            first = int(round(float(start or 0.0) * rate))
            last = fh.frames if end is None else min(fh.frames, int(round(float(end) * rate)))
            fh.seek(min(first, fh.frames))
            samples = fh.read(max(0, last - first), dtype="float32", always_2d=True)
    except (OSError, RuntimeError) as exc:
        raise DawgenError(ErrorCode.BAD_REQUEST, f"input: cannot read {path}: {exc}") from None
    if samples.shape[0] == 0:
        raise DawgenError(ErrorCode.BAD_REQUEST, f"input: {path} has no audio between the given start and end")
    return samples, rate


def to_model(samples: np.ndarray, rate: int, model_rate: int, channels: int) -> np.ndarray:
    """Resampled to the model's rate, mixed to its channel count (mono: the mean)."""
    x = resample(samples, rate, model_rate) if rate != model_rate else samples.astype(np.float32)
    if channels == 1:
        return x.mean(axis=1, keepdims=True)
    if x.shape[1] == 1:
        return np.repeat(x, channels, axis=1)
    return x[:, :channels]


def chroma(samples: np.ndarray, rate: int, preprocessor: Mapping[str, Any]) -> Any:
    """One-hot chroma (frames, num_chroma) of a melody, as a torch tensor on the CPU."""
    import torch
    from transformers.audio_utils import chroma_filter_bank

    sr = int(preprocessor.get("sampling_rate", 32000))
    n_fft = int(preprocessor.get("n_fft", 16384))
    hop = int(preprocessor.get("hop_length", 4096))
    bins = int(preprocessor.get("num_chroma", preprocessor.get("feature_size", 12)))
    mono = to_model(samples, rate, sr, 1)[:, 0]
    wav = torch.from_numpy(np.ascontiguousarray(mono))
    if wav.shape[0] < n_fft:  # as the extractor: centre short audio in zeros
        pad = n_fft - wav.shape[0]
        wav = torch.nn.functional.pad(wav, (pad // 2, pad - pad // 2))
    window = torch.hann_window(n_fft)
    spec = torch.stft(wav, n_fft, hop_length=hop, win_length=n_fft, window=window, center=True,
                      pad_mode="reflect", return_complex=True)
    power = spec.abs().pow(2) / window.pow(2).sum()  # torchaudio's normalized=True, power=2
    filters = torch.from_numpy(chroma_filter_bank(sampling_rate=sr, num_frequency_bins=n_fft, tuning=0,
                                                  num_chroma=bins)).float()
    raw = filters @ power  # (chroma, frames)
    norm = torch.nn.functional.normalize(raw, p=float("inf"), dim=0, eps=1e-6).T
    out = torch.zeros_like(norm)
    return out.scatter_(1, norm.argmax(dim=1, keepdim=True), 1.0)
