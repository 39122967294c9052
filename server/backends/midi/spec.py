"""The midi verbs' declared parameters and submit-time checks (no torch here).

Common parameters from the engine are used as they are: `bpm`, `bars`, `key`, `time_signature`.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...music import parse_time_signature
from ...output.midi_preview import PREVIEW_AUDIO, PREVIEW_RATE
from ...params import ParamSpec, count_param, seed_param
from ..inputs import input_file
from .harmony import spec as H
from .vocab import SCALES

MAX_BARS = 64
DEFAULT_BARS = 4
DEFAULT_BPM = 120.0

_SEED = seed_param("same seed + params = identical notes; default: random")
_COUNT = count_param(16, "variations; file i has seed + i")
_TEMP = ParamSpec("temperature", "float", 1.0, min=0.0, max=2.0,
                  doc="randomness of sampling; 0 = always the most likely note/hit")
_INPUT = ParamSpec("input", "str", None, max_length=4096, doc="absolute path of a MIDI file (.mid); required")

GENERATE_PARAMS: tuple[ParamSpec, ...] = (
    ParamSpec("kind", "str", "melody", choices=("melody", "drums", *H.HARMONY_KINDS),
              doc="what to make: a melody, drums, a chord progression, a bass line over chords (`chords=` or "
                  "a generated progression), a piano part (four-voice chorale-like voicing), or a trio (one "
                  "file: melody, bass and drums tracks over one progression)"),
    ParamSpec("scale", "str", None, choices=tuple(SCALES),
              doc="melody scale on `key`'s root; default: major, or minor for a minor key. Every note is in "
                  "it (out-of-scale pitches are masked out while sampling); chromatic = no constraint"),
    _TEMP, _SEED, _COUNT, *H.generate_params(),
)
CONTINUE_PARAMS: tuple[ParamSpec, ...] = (
    ParamSpec("input", "str", None, max_length=4096,
              doc="absolute path of the MIDI clip to continue; drums when most notes are on channel 10, else "
                  "its top line is continued as a melody; required"),
    ParamSpec("scale", "str", None, choices=tuple(SCALES),
              doc="melody scale for the new bars (on `key`, default: the clip's key as detected); default: "
                  "the clip's major/minor"),
    _TEMP, _SEED, _COUNT,
)
INTERPOLATE_PARAMS: tuple[ParamSpec, ...] = (
    ParamSpec("input", "str", None, max_length=4096, doc="absolute path of the first MIDI clip (the start); required"),
    ParamSpec("input2", "str", None, max_length=4096, doc="absolute path of the second MIDI clip (the end); required"),
    ParamSpec("steps", "int", 5, min=2, max=16, doc="clips written, from input's reconstruction to input2's"),
    ParamSpec("temperature", "float", 0.0, min=0.0, max=2.0,
              doc="0 = the most likely notes of each latent point; above 0 samples them"),
    _SEED,
)
GROOVE_PARAMS: tuple[ParamSpec, ...] = (
    _INPUT,
    ParamSpec("amount", "float", 0.5, min=0.0, max=1.0, doc="0 = unchanged, 1 = full humanizing of timing and velocity"),
    _SEED, _COUNT,
)
DRUMIFY_PARAMS: tuple[ParamSpec, ...] = (
    ParamSpec("input", "str", None, max_length=4096,
              doc="absolute path of the MIDI clip whose rhythm the drums follow (any instrument); required"),
    _TEMP, _SEED, _COUNT,
)
# The engine's `bars` narrowed to what a MIDI clip is: whole bars (checked in whole_bars()).
BARS = ParamSpec("bars", "float", None, min=1.0, max=float(MAX_BARS),
                 doc=f"whole bars of `time_signature` (1 to {MAX_BARS}): the new clip's length (default {DEFAULT_BARS}), "
                     "the bars `midi/continue` adds, `midi/drumify`'s drums; `midi/groove` and "
                     "`midi/interpolate` keep their inputs' length")
# every verb can also write an audio preview of its clips (server/output/midi_preview.py)
_EXTRA = (BARS, PREVIEW_AUDIO, PREVIEW_RATE)
VERBS = {
    "midi/generate": (*GENERATE_PARAMS, *_EXTRA),
    "midi/continue": (*CONTINUE_PARAMS, *_EXTRA),
    "midi/interpolate": (*INTERPOLATE_PARAMS, *_EXTRA),
    "midi/groove": (*GROOVE_PARAMS, *_EXTRA),
    "midi/drumify": (*DRUMIFY_PARAMS, *_EXTRA),
    "midi/harmonize": (*H.harmonize_params(_TEMP, _SEED, _COUNT), *_EXTRA),
    "midi/bassline": (*H.bassline_params(_TEMP, _SEED, _COUNT), *_EXTRA),
    "midi/improvise": (*H.improvise_params(_TEMP, _SEED, _COUNT), *_EXTRA),
}
INPUTS = {"midi/generate": (), "midi/continue": ("input",), "midi/interpolate": ("input", "input2"),
          "midi/groove": ("input",), "midi/drumify": ("input",), "midi/harmonize": ("input",)}
# verbs whose `input` is a chord clip, or absent when `chords=` gives the symbols
CHORD_VERBS = ("midi/bassline", "midi/improvise")


def whole_bars(params: Mapping[str, Any], default: int | None) -> int | None:
    """`bars` as a whole number 1..MAX_BARS (ValueError otherwise); `default` when absent."""
    bars = params.get("bars")
    if bars is None:
        return default
    if float(bars) != int(bars) or not 1 <= int(bars) <= MAX_BARS:
        raise ValueError(f"bars: MIDI clips are whole bars, 1 to {MAX_BARS} (got {bars:g})")
    return int(bars)


def seeds(params: Mapping[str, Any]) -> list[int]:
    """One seed per output of a `count` request: `seed`, `seed` + 1, ..."""
    seed = int(params.get("seed") or 0)
    return [seed + i for i in range(int(params.get("count") or 1))]


def meter(params: Mapping[str, Any]) -> tuple[int, int]:
    num, den = parse_time_signature(str(params.get("time_signature") or "4/4"))
    if 16 * num % den:
        raise ValueError(f"time_signature: {num}/{den} bars are not whole 16ths")
    return num, den


def input_path(params: Mapping[str, Any], name: str = "input") -> str:
    return input_file(params, name, "a MIDI file")


def check(verb: str, params: Mapping[str, Any]) -> None:
    """Submit-time checks: bars, meter, and each input file exists and parses as MIDI."""
    from .smf import read_clip

    whole_bars(params, DEFAULT_BARS)
    meter(params)
    names = INPUTS.get(verb, ())
    if params.get("chords"):
        try:
            H.check_symbols(str(params["chords"]))
        except ValueError as exc:
            raise ValueError(f"chords: {exc}") from None
    if verb in CHORD_VERBS:
        H.check_chord_source(verb, params)
        names = ("input",) if params.get("input") else ()
    for name in names:
        path = input_path(params, name)
        try:
            read_clip(path)
        except ValueError as exc:
            raise ValueError(f"{name}: {exc}") from None
