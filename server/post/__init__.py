"""DAW-ready post-processing applied to every backend's audio before it is written.

Each step is a plain function over float arrays so it can be benchmarked and tested alone.
"""
from __future__ import annotations

from .basic import dither_tpdf, resample, sanitize

__all__ = ["dither_tpdf", "resample", "sanitize", "prepare"]

from ..backends.base import Audio


def prepare(audio: Audio, sample_rate: int) -> Audio:
    """Checks and converts one backend output to the requested sample rate."""
    samples = sanitize(audio.samples)
    if audio.sample_rate != sample_rate:
        samples = resample(samples, audio.sample_rate, sample_rate)
    return Audio(samples=samples, sample_rate=sample_rate, seed=audio.seed, meta=audio.meta)
