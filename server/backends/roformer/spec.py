"""The roformer backend's `separate` parameters: the demucs backend's shared ones (input, start/end,
stems, mode, sample_rate, transcribe), then the chunking; no `shifts`, no `count`. No torch."""
from __future__ import annotations

from ...params import ParamSpec
from ..demucs.spec import MAX_INPUT_SECONDS, SEPARATE_BASE, input_path, selection

__all__ = ["MAX_INPUT_SECONDS", "ROFORMER_PARAMS", "input_path", "selection"]

ROFORMER_PARAMS: tuple[ParamSpec, ...] = (
    *SEPARATE_BASE,
    ParamSpec("overlap", "float", None, min=0.0, max=0.95,
              doc="overlap between the model's chunks; default: its config's (1 - 1/inference.num_overlap)"),
    ParamSpec("segment", "float", None, min=1.0, max=60.0,
              doc="chunk length (s); default: its config's audio.chunk_size"),
)
