"""The `process`, `fit` and `clean` verbs' parameters (no pedalboard, no audio read at import)."""
from __future__ import annotations

from ...params import ParamSpec

# Each job holds its input and result in memory: an hour of 48 kHz stereo is about 1.4 GB of float32.
MAX_INPUT_SECONDS = 3600.0
CLEAN_MODES = ("denoise", "dereverb", "deecho", "crowd")

INPUT_PARAMS = (
    ParamSpec("input", "str", None, max_length=4096,
              doc="absolute path of the audio file (WAV, AIFF, FLAC, MP3, OGG; other formats through ffmpeg); required"),
    ParamSpec("start", "float", None, min=0.0, max=86400.0, doc="seconds into `input` where the part to use begins; default 0"),
    ParamSpec("end", "float", None, min=0.0, max=86400.0,
              doc="seconds into `input` where it ends; default (or past the end): the end of the file"),
)
RATE_PARAM = ParamSpec("sample_rate", "int", None, min=8000, max=192000, doc="output sample rate (Hz); default: the input's rate")

PROCESS_PARAMS: tuple[ParamSpec, ...] = (
    *INPUT_PARAMS,
    RATE_PARAM,
    ParamSpec("tail", "bool", False,
              doc="keep what the chain rings on for after the input ends (reverb, delay; up to 8 s, cut "
                  "below -90 dBFS); default: exactly as long as the input"),
)

FIT_PARAMS: tuple[ParamSpec, ...] = (
    *INPUT_PARAMS,
    ParamSpec("source_bpm", "float", None, min=20.0, max=400.0,
              doc="the input's tempo; default: detected (no clear pulse: the file is padded or cut to the bars)"),
    ParamSpec("source_key", "str", None, max_length=12,
              doc="the input's key; with `key`, the file is pitch-shifted (Rubber Band) by the nearest interval to it"),
)

CLEAN_PARAMS: tuple[ParamSpec, ...] = (
    *INPUT_PARAMS,
    RATE_PARAM,
    ParamSpec("mode", "str", "denoise", choices=CLEAN_MODES,
              doc="`denoise` runs an embedded spectral gate (no weights) unless a configured model does it; "
                  "`dereverb`, `deecho`, `crowd` need a model that does them"),
    ParamSpec("reduction_db", "float", 24.0, min=3.0, max=60.0, doc="denoise: the most a noise-only bin is lowered (dB)"),
)
