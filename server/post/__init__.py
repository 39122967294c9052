"""DAW-ready post-processing applied to every backend's audio before it is written.

Each step is a plain function over float arrays (frames, channels) so it can be benchmarked and
tested alone; pipeline.prepare() chains them.
"""
from __future__ import annotations

from .basic import dither_tpdf, sanitize

__all__ = ["dither_tpdf", "sanitize"]
