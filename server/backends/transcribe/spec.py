"""The `transcribe` verb's parameters and its submit-time checks (no onnxruntime, no basic_pitch).

The defaults are basic-pitch's own (its `predict` command line): onset 0.5, frame 0.3, notes of at
least 127.7 ms, the whole piano range.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...output.midi_preview import PREVIEW_AUDIO, PREVIEW_RATE
from ...params import ParamSpec
from ..inputs import input_file

# The model's input (22.05 kHz mono) and its three output matrices (440 floats per frame, 86 frames
# a second) are held whole: ~290 MB for 20 minutes, which is longer than a song and fits a laptop.
MAX_INPUT_SECONDS = 1200.0
DEFAULT_BPM = 120.0

TRANSCRIBE_PARAMS: tuple[ParamSpec, ...] = (
    ParamSpec("input", "str", None, max_length=4096,
              doc="absolute path of the audio file to transcribe (WAV, AIFF, FLAC, MP3, OGG; other formats "
                  "through ffmpeg); required"),
    ParamSpec("start", "float", None, min=0.0, max=86400.0,
              doc="seconds into `input` where the part to transcribe begins; default 0"),
    ParamSpec("end", "float", None, min=0.0, max=86400.0,
              doc="seconds into `input` where it ends; default (or past the end): the end of the file"),
    ParamSpec("onset_threshold", "float", 0.5, min=0.05, max=0.95,
              doc="how sure the model must be that a note starts; lower finds more (and more false) notes"),
    ParamSpec("frame_threshold", "float", 0.3, min=0.05, max=0.95,
              doc="how sure it must be that a note still sounds; lower makes longer notes"),
    ParamSpec("minimum_note_ms", "float", 127.7, min=10.0, max=5000.0,
              doc="shorter notes are dropped (milliseconds)"),
    ParamSpec("minimum_frequency", "float", None, min=20.0, max=20000.0,
              doc="ignore notes below this pitch (Hz), e.g. 60 to keep a bass's rumble out; default: none"),
    ParamSpec("maximum_frequency", "float", None, min=20.0, max=20000.0,
              doc="ignore notes above this pitch (Hz); default: none"),
    ParamSpec("melodia_trick", "bool", True,
              doc="basic-pitch's melodia post-processing (finds notes without a clear onset)"),
    PREVIEW_AUDIO,
    PREVIEW_RATE,
)


def input_path(params: Mapping[str, Any]) -> str:
    return input_file(params, "input", "the audio file to transcribe")


def check_frequencies(params: Mapping[str, Any]) -> None:
    low, high = params.get("minimum_frequency"), params.get("maximum_frequency")
    if low is not None and high is not None and float(low) >= float(high):
        raise ValueError(f"minimum_frequency: {float(low):g} Hz is not below maximum_frequency ({float(high):g} Hz)")

