"""Sampling the harmony models (torch). One torch.Generator per output: a seed and the same
parameters give the same notes. Rules only constrain the models' choices (masks): the chords
`complexity` allows, pitch ranges and scales, voices that do not cross."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from . import chords as C
from . import vocab as HV

NO_CHORD = 0


def _pick(logits: torch.Tensor, temperature: float, gen: torch.Generator) -> int:
    if temperature <= 1e-4:
        return int(torch.argmax(logits))
    return int(torch.multinomial(torch.softmax(logits / temperature, -1), 1, generator=gen))


def chord_mask(scale: Sequence[int], minor: bool, complexity: float) -> torch.Tensor:
    """Additive logit mask over chord tokens: below 1/3 complexity diatonic triads only, below 2/3
    diatonic triads and sevenths, else every chord (no chord is never chosen)."""
    mask = torch.zeros(C.N_CHORDS)
    mask[NO_CHORD] = float("-inf")
    allowed = {int(p) % 12 for p in scale} | ({11} if minor else set())  # minor keys' leading tone
    for tok in range(1, C.N_CHORDS):
        chord = C.from_token(tok)
        if chord is None:
            continue
        diatonic = set(chord.pcs) <= allowed
        if complexity < 1 / 3 and not (diatonic and chord.quality in (0, 1, 2)):
            mask[tok] = float("-inf")
        elif complexity < 2 / 3 and not diatonic:
            mask[tok] = float("-inf")
    return mask


@torch.inference_mode()
def sample_chords(model: torch.nn.Module, beats: int, beats_per_bar: int, changes: Sequence[bool], minor: bool,
                  temperature: float, gen: torch.Generator, mask: torch.Tensor,
                  melody: np.ndarray | None = None, repeat_penalty: float = 1.5) -> list[int]:
    """A chord token per beat; a new chord is sampled where `changes[b]`, else the chord holds.
    `melody`: (beats, MEL_FEATS) to harmonise, or None for a free progression."""
    feats = torch.as_tensor(melody if melody is not None else np.zeros((beats, HV.MEL_FEATS), np.float32))[None]
    mel = model.melody(feats, torch.tensor([1.0 if melody is not None else 0.0]))
    mode = torch.tensor([int(minor)])
    prev, h, out = NO_CHORD, None, []
    for b in range(beats):
        logits, h = model(torch.tensor([[prev]]), torch.tensor([[b % beats_per_bar]]), mode, mel[:, b: b + 1], h)
        if changes[b] or prev == NO_CHORD:
            lg = logits[0, -1] + mask
            if prev != NO_CHORD and melody is None:
                lg[prev] -= repeat_penalty  # a progression moves: a repeat is allowed, not favoured
            prev = _pick(lg, temperature, gen)
        out.append(prev)
    return out


def line_pitch_mask(model: torch.nn.Module, allowed: set[int] | None) -> torch.Tensor:
    mask = torch.zeros(model.classes)
    if allowed is not None:
        for tok in range(2, model.classes):
            if (model.low + tok - 2) % 12 not in allowed:
                mask[tok] = float("-inf")
    return mask


@torch.inference_mode()
def sample_line(model: torch.nn.Module, chords: Sequence[int], bar: int, minor: bool, temperature: float,
                gen: torch.Generator, density: float = 0.5, scale: Sequence[int] | None = None,
                beat: int = 4) -> list[tuple[int, int, int]]:
    """A line over a chord per 16th step: (start 16th, duration, key-relative pitch) notes filling
    len(chords) steps. Pitches are in `scale` or the chord sounding (when a scale is given);
    `density` shifts the odds of holding against a new note."""
    steps = len(chords)
    mode = torch.tensor([int(minor)])
    prev, h = 1, None
    toks: list[int] = []
    bias = torch.zeros(model.classes)
    bias[0] = 3.0 * (0.5 - density)  # hold: likelier when sparse
    bias[1] = 1.5 * (0.5 - density)  # rest
    base_allowed = None if scale is None else {int(p) % 12 for p in scale}
    for t in range(steps):
        chord = int(chords[t])
        change = t == 0 or chord != int(chords[t - 1])
        logits, h = model(torch.tensor([[prev]]), torch.tensor([[chord]]), torch.tensor([[int(change)]]),
                          torch.tensor([[t % bar]]), mode, h)
        c = C.from_token(chord)
        allowed = None if base_allowed is None else base_allowed | set(c.pcs if c else ())
        lg = logits[0, -1] + bias + line_pitch_mask(model, allowed)
        if t == 0 or prev == 1:
            lg[0] = float("-inf")  # nothing to hold
        prev = _pick(lg, temperature, gen)
        toks.append(prev)
    return tokens_to_notes(toks, model.low)


def tokens_to_notes(toks: Sequence[int], low: int) -> list[tuple[int, int, int]]:
    notes: list[tuple[int, int, int]] = []
    for t, tok in enumerate(toks):
        if tok >= 2:
            notes.append((t, 1, low + tok - 2))
        elif tok == 0 and notes and notes[-1][0] + notes[-1][1] == t:
            s, d, p = notes[-1]
            notes[-1] = (s, d + 1, p)
    return notes


def _voice_mask(low: int, high: int) -> torch.Tensor:
    mask = torch.full((HV.N_VOICE,), float("-inf"))
    for p in range(max(low, HV.VOICE_LOW), min(high, HV.VOICE_HIGH) + 1):
        mask[HV.voice_token(p)] = 0.0
    return mask


def _no_parallels(mask: torch.Tensor, before: int, others: Sequence[tuple[int, int]]) -> torch.Tensor:
    """Mask out the pitches that would move in parallel fifths or octaves with a voice already set:
    `before` = this voice on the beat before, `others` = (that voice before, now) pairs."""
    if before < 0:
        return mask
    out = mask.clone()
    for tok in range(1, HV.N_VOICE):
        p = HV.token_voice(tok)
        if p == before:
            continue
        for a, b in others:
            if a < 0 or b == a or np.sign(p - before) != np.sign(b - a):
                continue
            if (before - a) % 12 == (p - b) % 12 and (p - b) % 12 in (0, 7):
                out[tok] = float("-inf")
    return out if torch.isfinite(out).any() else mask


@torch.inference_mode()
def sample_voices(model: torch.nn.Module, soprano: Sequence[int], chords: Sequence[int], beats_per_bar: int,
                  temperature: float, gen: torch.Generator) -> list[tuple[int, int, int]]:
    """(alto, tenor, bass) pitches per beat under a soprano pitch per beat (-1 = rest: the last
    sounding one is used), each voice in its range, below the voice above (no crossings) and never
    in parallel fifths or octaves with the voices set before it."""
    out: list[tuple[int, int, int]] = []
    prev = torch.zeros(1, 1, 3, dtype=torch.long)
    h = None
    last_s = next((int(p) for p in soprano if p >= 0), 72)
    was = (-1, -1, -1, -1)  # soprano, alto, tenor, bass on the beat before
    for b, (s, chord) in enumerate(zip(soprano, chords)):
        last_s = int(s) if s >= 0 else last_s
        y, h = model.state(torch.tensor([[HV.voice_token(last_s)]]), torch.tensor([[int(chord)]]),
                           torch.tensor([[b % beats_per_bar]]), prev, h)
        lo, hi = HV.VOICE_RANGES["bass"]
        mask = _no_parallels(_voice_mask(lo, min(hi, last_s - 5)), was[3], [(was[0], last_s)])
        bass = _pick_voice(model.heads(y)[0][0, 0], mask, temperature, gen)
        lo, hi = HV.VOICE_RANGES["tenor"]
        tb = torch.tensor([[HV.voice_token(bass)]])
        mask = _no_parallels(_voice_mask(max(lo, bass), min(hi, last_s)), was[2], [(was[0], last_s), (was[3], bass)])
        tenor = _pick_voice(model.heads(y, tb)[1][0, 0], mask, temperature, gen)
        lo, hi = HV.VOICE_RANGES["alto"]
        tt = torch.tensor([[HV.voice_token(tenor)]])
        mask = _no_parallels(_voice_mask(max(lo, tenor), min(hi, last_s)), was[1],
                             [(was[0], last_s), (was[2], tenor), (was[3], bass)])
        alto = _pick_voice(model.heads(y, tb, tt)[2][0, 0], mask, temperature, gen)
        out.append((alto, tenor, bass))
        was = (last_s, alto, tenor, bass)
        prev = torch.tensor([[[HV.voice_token(alto), HV.voice_token(tenor), HV.voice_token(bass)]]])
    return out


def _pick_voice(logits: torch.Tensor, mask: torch.Tensor, temperature: float, gen: torch.Generator) -> int:
    if not torch.isfinite(mask).any():  # the soprano sits below the voice's range: the range alone
        mask = torch.zeros_like(mask)
        mask[0] = float("-inf")
    return HV.token_voice(_pick(logits + mask, temperature, gen))
