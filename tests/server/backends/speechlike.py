"""A speech-like test voice with no TTS installed: a glottal pulse train with a wandering pitch,
through three vowel formants that change every syllable, under syllable envelopes with pauses.

DeepFilterNet keeps what it takes for speech and removes what it takes for noise; this is the
closest thing to a voice we can make from numpy (espeak-ng is not on every machine).
"""
from __future__ import annotations

import numpy as np

# (F1, F2, F3) Hz of a few vowels: a, e, i, o, u
VOWELS = ((730, 1090, 2440), (530, 1840, 2480), (270, 2290, 3010), (570, 840, 2410), (300, 870, 2240))
BANDWIDTHS = (90.0, 110.0, 170.0)


def voice(seconds: float, rate: int, seed: int = 0, level: float = 0.3) -> np.ndarray:
    """Mono float32, `seconds` long: syllables of ~0.2 s at ~4 per second, short pauses between words."""
    from scipy.signal import lfilter

    rng = np.random.default_rng(seed)
    n = int(seconds * rate)
    t = np.arange(n) / rate
    f0 = 130 + 25 * np.sin(2 * np.pi * 0.7 * t) + 10 * np.sin(2 * np.pi * 3.1 * t + 1.0)
    phase = np.cumsum(f0 / rate)
    pulses = np.diff(np.floor(phase), prepend=0.0)  # one impulse per glottal period
    source = lfilter([1.0], [1.0, -0.97], pulses) - 0.02 * rng.standard_normal(n)  # glottal roll-off, breath
    out = np.zeros(n)
    at, syllable = int(0.15 * rate), 0
    while at < n:
        length = int(rng.uniform(0.14, 0.26) * rate)
        part = source[at:at + length]
        formants = VOWELS[rng.integers(len(VOWELS))]
        shaped = sum(_resonator(part, f, bw, rate) for f, bw in zip(formants, BANDWIDTHS))
        out[at:at + part.size] += shaped * np.hanning(part.size) ** 0.5
        syllable += 1
        at += length + int((rng.uniform(0.25, 0.45) if syllable % 3 == 0 else rng.uniform(0.02, 0.06)) * rate)
    return (level * out / np.max(np.abs(out))).astype(np.float32)


def _resonator(x: np.ndarray, freq: float, bandwidth: float, rate: int) -> np.ndarray:
    from scipy.signal import lfilter

    r = np.exp(-np.pi * bandwidth / rate)
    a = [1.0, -2 * r * np.cos(2 * np.pi * freq / rate), r * r]
    return lfilter([1 - r], a, x)


def snr_db(clean: np.ndarray, estimate: np.ndarray) -> float:
    clean = np.asarray(clean, np.float64)
    error = np.asarray(estimate, np.float64) - clean
    return float(10 * np.log10(np.sum(clean ** 2) / np.sum(error ** 2)))
