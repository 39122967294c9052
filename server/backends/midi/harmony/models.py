"""The harmony models (torch; imported from _load, _run, training and the bench only).

- ChordLM: a GRU over beats predicting each beat's chord token from the chord before, the beat's
  place in the bar, the mode and, for harmonising, a bidirectional GRU's reading of the melody
  (each beat's sounding pitch classes); trained half the time with the melody hidden, so the same
  model writes progressions (kind=chords) and harmonises (midi/harmonize).
- LineLM: a GRU over 16th steps (hold / rest / pitch tokens) conditioned on the chord sounding at
  each step (Improv RNN's idea): the `bass` model and the `improv` melody model.
- VoiceLM: per beat, given the soprano's pitch and the chord, the bass, then tenor, then alto
  pitches (each head sees the voices chosen before it): the polyphony/voicing model.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .chords import N_CHORDS
from .vocab import LINE_RANGES, MEL_FEATS, N_VOICE, chord_table

MAX_BEATS = 8  # beat positions the chord model knows (longer bars wrap)
MAX_POS = 48  # 16th positions in a bar the line models know


class _ChordFeatures(nn.Module):
    """A chord token → its embedding beside the fixed root one-hot and pitch-class multi-hot
    (so what a model learns about one chord carries over to the others)."""

    def __init__(self, emb: int) -> None:
        super().__init__()
        self.emb = nn.Embedding(N_CHORDS, emb)
        self.register_buffer("table", chord_table(), persistent=False)
        self.size = emb + 24

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.emb(tokens), self.table[tokens]], -1)


class ChordLM(nn.Module):
    def __init__(self, hidden: int = 160, emb: int = 32, mel_hidden: int = 48, dropout: float = 0.25) -> None:
        super().__init__()
        self.config = {"hidden": hidden, "emb": emb, "mel_hidden": mel_hidden, "dropout": dropout}
        self.drop = nn.Dropout(dropout)  # 312 chorales: it overfits without
        self.chord = _ChordFeatures(emb)
        self.pos = nn.Embedding(MAX_BEATS, 8)
        self.mode = nn.Embedding(2, 4)
        self.mel = nn.GRU(MEL_FEATS + 1, mel_hidden, batch_first=True, bidirectional=True)
        self.rnn = nn.GRU(self.chord.size + 12 + 2 * mel_hidden + 1, hidden, batch_first=True)
        self.out = nn.Linear(hidden, N_CHORDS)

    def melody(self, feats: torch.Tensor, on: torch.Tensor) -> torch.Tensor:
        """feats: (B, T, MEL_FEATS) per beat, on: (B,) 1 = a melody is given → (B, T, 2 * mel_hidden + 1)."""
        on_t = on[:, None, None].expand(-1, feats.shape[1], 1).float()
        y, _ = self.mel(torch.cat([feats * on_t, on_t], -1))
        return torch.cat([y, on_t], -1)

    def forward(self, prev: torch.Tensor, pos: torch.Tensor, mode: torch.Tensor, mel: torch.Tensor,
                h: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """prev, pos: (B, T); mode: (B,); mel: melody()'s (B, T, .) → logits (B, T, N_CHORDS), state."""
        m = self.mode(mode)[:, None, :].expand(-1, prev.shape[1], -1)
        x = torch.cat([self.chord(prev), self.pos(pos % MAX_BEATS), m, mel], -1)
        y, h = self.rnn(self.drop(x), h)
        return self.out(self.drop(y)), h


class LineLM(nn.Module):
    def __init__(self, part: str, hidden: int = 160, emb: int = 32) -> None:
        super().__init__()
        self.config = {"part": part, "hidden": hidden, "emb": emb}
        low, high = LINE_RANGES[part]
        self.low, self.classes = low, high - low + 3  # 0 hold, 1 rest, 2.. pitch
        self.tok = nn.Embedding(self.classes, emb)
        self.chord = _ChordFeatures(16)
        self.pos = nn.Embedding(MAX_POS, 8)
        self.mode = nn.Embedding(2, 4)
        self.rnn = nn.GRU(emb + self.chord.size + 8 + 4 + 1, hidden, batch_first=True)
        self.out = nn.Linear(hidden, self.classes)

    def forward(self, prev: torch.Tensor, chord: torch.Tensor, change: torch.Tensor, pos: torch.Tensor,
                mode: torch.Tensor, h: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """prev, chord, change, pos: (B, T) (the token before, the chord now, 1 where it changes,
        16th in the bar); mode: (B,) → logits (B, T, classes), state."""
        m = self.mode(mode)[:, None, :].expand(-1, prev.shape[1], -1)
        x = torch.cat([self.tok(prev), self.chord(chord), self.pos(pos % MAX_POS), m, change[..., None].float()], -1)
        y, h = self.rnn(x, h)
        return self.out(y), h


class VoiceLM(nn.Module):
    def __init__(self, hidden: int = 160, emb: int = 24) -> None:
        super().__init__()
        self.config = {"hidden": hidden, "emb": emb}
        self.pitch = nn.Embedding(N_VOICE, emb)  # shared by the four voices (0 = rest)
        self.chord = _ChordFeatures(16)
        self.pos = nn.Embedding(MAX_BEATS, 8)
        self.rnn = nn.GRU(4 * emb + self.chord.size + 8, hidden, batch_first=True)
        self.bass = nn.Linear(hidden, N_VOICE)
        self.tenor = nn.Linear(hidden + emb, N_VOICE)
        self.alto = nn.Linear(hidden + 2 * emb, N_VOICE)

    def state(self, soprano: torch.Tensor, chord: torch.Tensor, pos: torch.Tensor, prev: torch.Tensor,
              h: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """soprano, chord, pos: (B, T); prev: (B, T, 3) the alto/tenor/bass of the beat before."""
        x = torch.cat([self.pitch(soprano), self.pitch(prev).flatten(2), self.chord(chord), self.pos(pos % MAX_BEATS)], -1)
        return self.rnn(x, h)

    def heads(self, y: torch.Tensor, bass: torch.Tensor | None = None, tenor: torch.Tensor | None = None) -> list[torch.Tensor]:
        """Logits of bass; of tenor given bass; of alto given both (those given so far)."""
        out = [self.bass(y)]
        if bass is not None:
            eb = self.pitch(bass)
            out.append(self.tenor(torch.cat([y, eb], -1)))
            if tenor is not None:
                out.append(self.alto(torch.cat([y, eb, self.pitch(tenor)], -1)))
        return out


def build(kind: str, config: dict[str, Any]) -> nn.Module:
    if kind == "chords":
        return ChordLM(**config)
    if kind in ("bass", "improv"):
        return LineLM(**{"part": kind, **config})
    if kind == "voicing":
        return VoiceLM(**config)
    raise ValueError(f"unknown harmony model kind {kind!r}")
