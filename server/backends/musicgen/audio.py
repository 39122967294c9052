"""Audio in for MusicGen: the melody's chroma without torchaudio (clips are read by ../audio_in.py).

transformers' MusicgenMelodyFeatureExtractor needs torchaudio, which often cannot be imported beside
the installed torch (field notes); `chroma` computes the same features with torch.stft:
torchaudio's normalized power spectrogram (Hann window, centred, reflect padding), librosa's chroma
filter bank (transformers.audio_utils, numpy), an inf-norm per frame and a one-hot of the loudest
pitch class, as the extractor does.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..audio_in import to_model


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
