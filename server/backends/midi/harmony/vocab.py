"""Token spaces of the harmony models (numpy only; `chord_table` builds a tensor when asked).

Pitches are key-relative: the tonic is C (data.py), `key` moves the output.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from . import chords as C

# the line models' pitch ranges (MIDI, tonic C); outside notes are folded in by octaves
LINE_RANGES = {"bass": (28, 64), "improv": (53, 86)}
# the voicing model's pitches: one vocabulary for the four voices, 0 = rest
VOICE_LOW, VOICE_HIGH = 28, 86
N_VOICE = VOICE_HIGH - VOICE_LOW + 2
# sampling ranges of the voices (MIDI, tonic C), SATB as in the chorales
VOICE_RANGES = {"soprano": (58, 81), "alto": (53, 74), "tenor": (46, 69), "bass": (34, 62)}
MEL_FEATS = 24  # per beat: pitch classes sounding (duration-weighted), pitch class at the beat's start


def fold(pitch: int, low: int, high: int) -> int:
    while pitch < low:
        pitch += 12
    while pitch > high:
        pitch -= 12
    return pitch


def voice_token(pitch: int) -> int:
    return 0 if pitch < 0 else 1 + fold(int(pitch), VOICE_LOW, VOICE_HIGH) - VOICE_LOW


def token_voice(token: int) -> int:
    return -1 if token <= 0 else VOICE_LOW + token - 1


def line_tokens(pitches: np.ndarray, onsets: np.ndarray, part: str) -> np.ndarray:
    """One voice's (T,) sounding pitches and onsets → (T,) tokens: 0 hold, 1 rest, 2 + pitch - low."""
    low, high = LINE_RANGES[part]
    out = np.zeros(len(pitches), np.int64)
    for t, (p, on) in enumerate(zip(pitches, onsets)):
        if p < 0:
            out[t] = 1
        elif on or t == 0 or pitches[t - 1] != p:
            out[t] = 2 + fold(int(p), low, high) - low
    return out


def melody_features(pitches: np.ndarray, beats: int, beat: int = 4) -> np.ndarray:
    """A melody's (T,) sounding pitches → (beats, MEL_FEATS) per-beat pitch-class features."""
    out = np.zeros((beats, MEL_FEATS), np.float32)
    for b in range(beats):
        seg = pitches[b * beat: (b + 1) * beat]
        for p in seg:
            if p >= 0:
                out[b, int(p) % 12] += 1.0 / beat
        if len(seg) and seg[0] >= 0:
            out[b, 12 + int(seg[0]) % 12] = 1.0
    return out


def chord_table() -> Any:
    """(N_CHORDS, 24) float tensor: root one-hot, pitch-class multi-hot (zeros for no chord)."""
    import torch

    table = torch.zeros(C.N_CHORDS, 24)
    for tok in range(1, C.N_CHORDS):
        chord = C.from_token(tok)
        if chord is None:
            continue
        table[tok, chord.root] = 1.0
        for pc in chord.pcs:
            table[tok, 12 + pc] = 1.0
    return table
