"""The three small PyTorch models (import only where torch may be imported: _load, _run, training).

- MelodyLM: a GRU over melody tokens (vocab.py), with the position in the bar and the bar length as
  extra inputs.
- DrumLM: a GRU over 16th steps of GM drum lanes: per step, a Bernoulli per lane (hit) and a
  velocity per lane, given the steps before, the position in the bar and, optionally, whether the
  clip to follow has an onset at this step (drumify).
- GridVAE: a MusicVAE-like (but MLP, not hierarchical RNN) variational autoencoder over 2-bar,
  16th-grid windows: drums as 32 x lanes hits, melodies as 32 x (hold, rest, pitch) classes.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .vocab import MAX_POS, N_LANES, N_PITCH, VOCAB

MELODY_CLASSES = N_PITCH + 2  # 0 = hold (the note before goes on), 1 = rest, 2.. = pitch LOW..HIGH
WINDOW = 32  # steps in a VAE window: two 4/4 bars of 16ths


class MelodyLM(nn.Module):
    def __init__(self, hidden: int = 256, emb: int = 64, layers: int = 1) -> None:
        super().__init__()
        self.config = {"hidden": hidden, "emb": emb, "layers": layers}
        self.tok = nn.Embedding(VOCAB, emb)
        self.pos = nn.Embedding(MAX_POS, 16)
        self.bar = nn.Embedding(MAX_POS + 1, 8)
        self.rnn = nn.GRU(emb + 24, hidden, num_layers=layers, batch_first=True)
        self.out = nn.Linear(hidden, VOCAB)

    def forward(self, tokens: torch.Tensor, pos: torch.Tensor, bar: torch.Tensor,
                h: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """tokens, pos: (B, T); bar: (B,) → logits (B, T, VOCAB) for the next token, state."""
        x = torch.cat([self.tok(tokens), self.pos(pos), self.bar(bar)[:, None, :].expand(-1, tokens.shape[1], -1)], -1)
        y, h = self.rnn(x, h)
        return self.out(y), h


class DrumLM(nn.Module):
    def __init__(self, hidden: int = 64, layers: int = 1, dropout: float = 0.3) -> None:
        super().__init__()
        self.config = {"hidden": hidden, "layers": layers, "dropout": dropout}
        self.drop = nn.Dropout(dropout)  # the drum data is small: regularise
        self.pos = nn.Embedding(16, 8)
        self.inp = nn.Linear(2 * N_LANES + 2 + 8, hidden)
        self.rnn = nn.GRU(hidden, hidden, num_layers=layers, batch_first=True)
        self.hit = nn.Linear(hidden, N_LANES)
        self.vel = nn.Linear(hidden, N_LANES)

    def forward(self, prev_hits: torch.Tensor, prev_vel: torch.Tensor, pos: torch.Tensor, cond: torch.Tensor,
                h: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """prev_*: (B, T, L) the step before each step; pos: (B, T) step in the bar mod 16; cond:
        (B, T, 2) = [onset wanted here, conditioning on] → hit logits, velocities (0..1), state."""
        x = torch.relu(self.inp(torch.cat([self.drop(prev_hits), prev_vel, cond, self.pos(pos)], -1)))
        y, h = self.rnn(self.drop(x), h)
        y = self.drop(y)
        return self.hit(y), torch.sigmoid(self.vel(y)), h


class GridVAE(nn.Module):
    """x: (B, WINDOW, C) — multi-hot lanes (drums) or one-hot classes (melody)."""

    def __init__(self, channels: int, categorical: bool, hidden: int = 256, latent: int = 32) -> None:
        super().__init__()
        self.config = {"channels": channels, "categorical": categorical, "hidden": hidden, "latent": latent}
        self.channels, self.categorical = channels, categorical
        size = WINDOW * channels
        self.enc = nn.Sequential(nn.Linear(size, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU())
        self.mu = nn.Linear(hidden, latent)
        self.logvar = nn.Linear(hidden, latent)
        self.dec = nn.Sequential(nn.Linear(latent, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                                 nn.Linear(hidden, size))

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        e = self.enc(x.flatten(1))
        return self.mu(e), self.logvar(e).clamp(-8, 8)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.dec(z).view(z.shape[0], WINDOW, self.channels)  # logits

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mu, logvar = self.encode(x)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar) if self.training else mu
        return self.decode(z), mu, logvar


def build(kind: str, config: dict[str, Any]) -> nn.Module:
    if kind == "melody":
        return MelodyLM(**config)
    if kind == "drums":
        return DrumLM(**config)
    if kind in ("vae_drums", "vae_melody"):
        return GridVAE(**config)
    if kind in ("chords", "bass", "improv", "voicing"):
        from .harmony.models import build as build_harmony

        return build_harmony(kind, config)
    raise ValueError(f"unknown model kind {kind!r}")


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
