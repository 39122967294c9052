"""The parameters every job verb accepts, whatever the model: output format, where files go, and
the DAW-ready post-processing (grid, loops, loudness). Declared once here; the engine merges them with
each backend's own (a backend narrows or drops them: `unused_common`, MIDI_COMMON)."""
from __future__ import annotations

from .backends.process.chain import check_chain
from .config import Config
from .music import parse_key, parse_time_signature
from .params import ParamSpec, bpm_param


def common_params(config: Config) -> list[ParamSpec]:
    """Parameters every job verb accepts, whatever the model."""
    out = config.output
    return [
        ParamSpec("model", "str", None, doc="model name from the config; default: server.default_model when it does this verb, else the first model that does"),
        ParamSpec("sample_rate", "int", out.sample_rate, min=8000, max=192000, doc="output sample rate (Hz)"),
        ParamSpec("bit_depth", "str", out.bit_depth, choices=("16", "24", "32f"),
                  doc="16 and 24 are PCM (16 gets TPDF dither), 32f is float (WAV only)"),
        ParamSpec("format", "str", out.format, choices=("wav", "flac"), doc="file format"),
        ParamSpec("dir", "str", "", max_length=255,
                  doc="subfolder of the output root (no `..`, not absolute); default: `dawgen/YYYY-MM-DD`"),
        ParamSpec("priority", "int", 0, min=-100, max=100, doc="higher runs first; FIFO within a priority"),
        # DAW-ready output (server/post): exact grid length, loops, loudness, metadata
        bpm_param(),
        ParamSpec("bars", "float", None, min=0.25, max=256.0,
                  doc="with bpm: the file is exactly this many bars long (time-stretched when off tempo)"),
        ParamSpec("time_signature", "str", "4/4", max_length=8, check=_check_signature,
                  doc="meter of `bars`, e.g. 4/4, 3/4, 7/8"),
        ParamSpec("key", "str", None, max_length=12, check=_check_key,
                  doc="musical key, e.g. Am, C#, Bb (file name, acid/smpl root note)"),
        ParamSpec("loop", "bool", None, doc="seamless loop (click-free seam); default: on for bar-length files"),
        ParamSpec("loudness", "float", None, min=-40.0, max=-6.0,
                  doc="target LUFS; default -14 for loops, peak-normalised one-shots"),
        ParamSpec("true_peak", "float", -1.0, min=-12.0, max=0.0, doc="true-peak ceiling (dBTP); never exceeded"),
        ParamSpec("preview", "bool", False, doc="also write a waveform + spectrogram PNG"),
        ParamSpec("position", "float", None, min=0.0, max=86400.0,
                  doc="timeline position in seconds, stored as the BWF time reference (Reaper places the file there)"),
        # effects on the result before the DAW-ready post (server/backends/process, hooked in server/execute.py)
        ParamSpec("chain", "str", None, max_length=16384, check=check_chain,
                  doc='effect chain, a JSON list of steps: `{"effect": "LowpassFilter", "cutoff_frequency_hz": 400}` '
                      '(pedalboard built-ins), `{"effect": "paulstretch", "stretch": 8}` or `{"plugin": "NAME", "params": {...}, "preset": "FILE"}` '
                      "(VST3/AU from `[plugins]` folders); run on every audio result before loudness and grid"),
    ]


# The common parameters that mean something for a MIDI result (Backend.output_kind == "midi"): no
# loudness, dither or audio format; `sample_rate` is the rate of a `preview_audio` rendering.
MIDI_COMMON = ("model", "sample_rate", "dir", "priority", "bpm", "bars", "time_signature", "key", "position")


def _check_signature(text: str) -> None:
    parse_time_signature(text)


def _check_key(text: str) -> None:
    if text:
        parse_key(text)
