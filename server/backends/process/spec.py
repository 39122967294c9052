"""The `process`, `fit` and `clean` verbs' parameters (no pedalboard, no audio read at import)."""
from __future__ import annotations

from ...params import ParamSpec

# Each job holds its input and result in memory: an hour of 48 kHz stereo is about 1.4 GB of float32.
MAX_INPUT_SECONDS = 3600.0
CLEAN_MODES = ("denoise", "dereverb", "deecho", "crowd")
# `clean mode=denoise`'s engines: the embedded spectral gate (clean.py, for music) and DeepFilterNet 3
# (deepfilter.py, a speech model: vocals, speech, field recordings; the `denoise` extra)
DENOISE_MODELS = ("spectral", "deepfilternet")
SPECTRAL_REDUCTION_DB = 24.0

_INPUT = (
    ParamSpec("input", "str", None, max_length=4096,
              doc="absolute path of the audio file (WAV, AIFF, FLAC, MP3, OGG; other formats through ffmpeg); required"),
    ParamSpec("start", "float", None, min=0.0, max=86400.0, doc="seconds into `input` where the part to use begins; default 0"),
    ParamSpec("end", "float", None, min=0.0, max=86400.0,
              doc="seconds into `input` where it ends; default (or past the end): the end of the file"),
)
_RATE = ParamSpec("sample_rate", "int", None, min=8000, max=192000, doc="output sample rate (Hz); default: the input's rate")

PROCESS_PARAMS: tuple[ParamSpec, ...] = (
    *_INPUT,
    _RATE,
    ParamSpec("tail", "bool", False,
              doc="keep what the chain rings on for after the input ends (reverb, delay; up to 8 s, cut "
                  "below -90 dBFS); default: exactly as long as the input"),
)

FIT_PARAMS: tuple[ParamSpec, ...] = (
    *_INPUT,
    ParamSpec("source_bpm", "float", None, min=20.0, max=400.0,
              doc="the input's tempo; default: detected (no clear pulse: the file is padded or cut to the bars)"),
    ParamSpec("source_key", "str", None, max_length=12,
              doc="the input's key; with `key`, the file is pitch-shifted (Rubber Band) by the nearest interval to it"),
)

CLEAN_PARAMS: tuple[ParamSpec, ...] = (
    *_INPUT,
    _RATE,
    ParamSpec("mode", "str", "denoise", choices=CLEAN_MODES,
              doc="`denoise` runs an embedded spectral gate (no weights) unless a configured model does it; "
                  "`dereverb`, `deecho`, `crowd` need a model that does them"),
    ParamSpec("model", "str", "spectral", choices=DENOISE_MODELS,
              doc="denoise: `spectral` (the spectral gate, for music) or `deepfilternet` (DeepFilterNet 3, a speech "
                  "model for vocals, speech and field recordings; it removes tonal music it takes for noise; "
                  "the `denoise` extra)"),
    ParamSpec("reduction_db", "float", None, min=3.0, max=60.0,
              doc="denoise: the most the noise is lowered (dB); default 24 for `spectral`, no limit for `deepfilternet`"),
)
