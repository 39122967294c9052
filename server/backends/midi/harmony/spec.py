"""The harmony verbs' declared parameters (issue #26's contract; no torch here).

    midi/generate kind=chords|bass|piano|trio   chord_rhythm, voicing, complexity, chords
    midi/harmonize input=melody.mid [voices=4]  chords (or a four-part setting) under a melody
    midi/bassline  input=chords.mid | chords=   a bass line over chords
    midi/improvise input=chords.mid | chords=   a melody over chords (temperature, density)

A chord input is a MIDI clip of chords (symbols inferred from its notes, chords.py) or a `chords=`
string of symbols, one per `chord_rhythm` slot ("Dm7 G7 Cmaj7 Cmaj7").
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ....params import ParamSpec

HARMONY_KINDS = ("chords", "bass", "piano", "trio")
RHYTHMS = ("bar", "half", "beat")
VOICINGS = ("triad", "seventh", "open")


def check_symbols(text: str) -> None:
    from .chords import parse_progression

    parse_progression(text)  # ValueError names the symbol it cannot read


CHORD_RHYTHM = ParamSpec("chord_rhythm", "str", "bar", choices=RHYTHMS,
                         doc="how often the chord changes: each bar, each half bar, or each beat")
VOICING = ParamSpec("voicing", "str", "triad", choices=VOICINGS,
                    doc="how chords are voiced: close triads, seventh chords (four notes), or open (spread, "
                        "root in the bass)")
COMPLEXITY = ParamSpec("complexity", "float", 0.5, min=0.0, max=1.0,
                       doc="0 = plain diatonic triads, likeliest choices; 1 = sevenths, borrowed and chromatic "
                           "chords, freer sampling")
CHORDS = ParamSpec("chords", "str", None, max_length=2048, check=check_symbols,
                   doc="chord symbols separated by spaces, one per `chord_rhythm` slot, e.g. \"Dm7 G7 Cmaj7 "
                       "Cmaj7\" (looped or cut to `bars`); instead of a chord clip `input`")
DENSITY = ParamSpec("density", "float", 0.5, min=0.0, max=1.0,
                    doc="how busy the line is: 0 = few long notes, 1 = many short ones")
VOICES = ParamSpec("voices", "int", None, min=2, max=4,
                   doc="unset: the chords as a clip of voiced chords (`voicing`); 4 = a four-part (SATB) "
                       "harmonisation with the melody as soprano; 3 = soprano, tenor, bass; 2 = soprano and bass")
CHORD_INPUT = ParamSpec("input", "str", None, max_length=4096,
                        doc="absolute path of a MIDI clip of chords (its symbols are inferred from its notes); "
                            "or give `chords=`")
MELODY_INPUT = ParamSpec("input", "str", None, max_length=4096,
                         doc="absolute path of the melody's MIDI clip (its top line is harmonised); required")
HARMONIZE_RHYTHM = ParamSpec("chord_rhythm", "str", None, choices=RHYTHMS,
                             doc="how often the chord changes; default: beat for `voices`, else bar")


def generate_params() -> tuple[ParamSpec, ...]:
    """The params midi/generate gains for the harmony kinds."""
    return (CHORD_RHYTHM, VOICING, COMPLEXITY, CHORDS, DENSITY)


def harmonize_params(temp: ParamSpec, seed: ParamSpec, count: ParamSpec) -> tuple[ParamSpec, ...]:
    return (MELODY_INPUT, VOICES, HARMONIZE_RHYTHM, VOICING, COMPLEXITY, temp, seed, count)


def bassline_params(temp: ParamSpec, seed: ParamSpec, count: ParamSpec) -> tuple[ParamSpec, ...]:
    return (CHORD_INPUT, CHORDS, CHORD_RHYTHM, DENSITY, temp, seed, count)


def improvise_params(temp: ParamSpec, seed: ParamSpec, count: ParamSpec) -> tuple[ParamSpec, ...]:
    return (CHORD_INPUT, CHORDS, CHORD_RHYTHM, DENSITY, temp, seed, count)


def check_chord_source(verb: str, params: Mapping[str, Any]) -> None:
    """bassline / improvise: a chord clip `input` or a `chords=` string, not both, not neither."""
    has_input, has_chords = bool(params.get("input")), bool(params.get("chords"))
    if has_input and has_chords:
        raise ValueError(f"{verb}: give either input (a chord clip) or chords (symbols), not both")
    if not has_input and not has_chords:
        raise ValueError(f"{verb}: give input (the absolute path of a MIDI clip of chords) or chords "
                         "(symbols like \"Dm7 G7 Cmaj7 Cmaj7\")")
