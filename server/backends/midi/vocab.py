"""Vocabularies shared by the models, the training and the backend (no torch here).

Melody tokens: a start token per mode (major / minor), then per note a pitch token (C-relative MIDI
pitch LOW..HIGH, or REST) followed by a duration token (1..16 sixteenths). The model also sees the
position of each token in its bar (in 16ths) and the bar length, so it learns where downbeats are.

Drums: one 16th step is a vector over the GM lanes below (hit 0/1 + velocity).
"""
from __future__ import annotations

LOW, HIGH = 48, 84  # C3..C6 after transposing the tonic to C
N_PITCH = HIGH - LOW + 1
MAX_DUR = 16
MAX_POS = 48  # positions in a bar (16ths) the embedding knows; longer bars wrap
BOS_MAJOR, BOS_MINOR = 0, 1
REST = 2
PITCH0 = 3  # token of pitch LOW
DUR0 = PITCH0 + N_PITCH  # token of a 1/16 duration
VOCAB = DUR0 + MAX_DUR


def pitch_token(pitch: int) -> int:
    if pitch < 0:
        return REST
    while pitch < LOW:
        pitch += 12
    while pitch > HIGH:
        pitch -= 12
    return PITCH0 + pitch - LOW


def token_pitch(token: int) -> int:
    return -1 if token == REST else LOW + token - PITCH0


def dur_token(steps: int) -> int:
    return DUR0 + min(MAX_DUR, max(1, steps)) - 1


def is_pitch(token: int) -> bool:
    return token == REST or PITCH0 <= token < DUR0


def encode_tune(notes: list[tuple[int, int]], minor: bool) -> list[int]:
    out = [BOS_MINOR if minor else BOS_MAJOR]
    for pitch, dur in notes:
        while dur > 0:  # a note longer than a bar is split into held parts (rests alike)
            part = min(dur, MAX_DUR)
            out += [pitch_token(pitch), dur_token(part)]
            dur -= part
    return out


def positions(tokens: list[int], pickup: int, bar: int) -> list[int]:
    """Position in the bar (16ths, mod MAX_POS) at which each token is read."""
    out, t = [], pickup
    for tok in tokens:
        out.append((t % bar) % MAX_POS)
        if tok >= DUR0:
            t += tok - DUR0 + 1
    return out


# -- scales ---------------------------------------------------------------------------------------
SCALES: dict[str, tuple[int, ...]] = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "minor": (0, 2, 3, 5, 7, 8, 10),
    "dorian": (0, 2, 3, 5, 7, 9, 10),
    "mixolydian": (0, 2, 4, 5, 7, 9, 10),
    "lydian": (0, 2, 4, 6, 7, 9, 11),
    "phrygian": (0, 1, 3, 5, 7, 8, 10),
    "locrian": (0, 1, 3, 5, 6, 8, 10),
    "harmonic_minor": (0, 2, 3, 5, 7, 8, 11),
    "pentatonic_major": (0, 2, 4, 7, 9),
    "pentatonic_minor": (0, 3, 5, 7, 10),
    "blues": (0, 3, 5, 6, 7, 10),
    "chromatic": tuple(range(12)),
}
MINOR_SCALES = {"minor", "dorian", "phrygian", "locrian", "harmonic_minor", "pentatonic_minor", "blues"}

# -- drums: General MIDI lanes ----------------------------------------------------------------------
# (name, GM note written); several GM notes map onto one lane when read.
DRUM_LANES: tuple[tuple[str, int], ...] = (
    ("kick", 36), ("snare", 38), ("clap", 39), ("closed_hat", 42), ("open_hat", 46),
    ("low_tom", 43), ("mid_tom", 47), ("high_tom", 50), ("crash", 49), ("ride", 51),
)
KICK, SNARE, CLAP, CLOSED_HAT, OPEN_HAT = 0, 1, 2, 3, 4
N_LANES = len(DRUM_LANES)
_GM_TO_LANE = {35: 0, 36: 0, 37: 1, 38: 1, 40: 1, 39: 2, 42: 3, 44: 3, 46: 4, 41: 5, 43: 5, 45: 6, 47: 6,
               48: 7, 50: 7, 49: 8, 52: 8, 55: 8, 57: 8, 51: 9, 53: 9, 59: 9}


def lane_of_drum_note(note: int) -> int | None:
    return _GM_TO_LANE.get(int(note))


def lane_of_hydrogen_name(name: str) -> int | None:
    """Hydrogen instrument names (GMRockKit, TR808EmulationKit) → lane; None for percussion the
    lanes do not cover (cowbell, bell, clave, conga, shaker)."""
    n = name.lower()
    table = (("kick", 0), ("clap", 2), ("rim", 1), ("stick", 1), ("snare", 1), ("pedal", 3),
             ("closed", 3), ("semi", 4), ("open", 4), ("floor", 5), ("tom low", 5), ("tom 2", 5),
             ("tom mid", 6), ("tom 1", 6), ("tom hi", 7), ("crash", 8), ("splash", 8), ("cymbal", 8),
             ("ride", 9))
    for word, lane in table:
        if word in n:
            return lane
    return None
