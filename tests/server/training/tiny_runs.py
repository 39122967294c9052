"""Shared pieces of the trainer tests: (the `tiny` fixture in conftest.py: the tiny stable-audio
models of tests/server/backends/stable_audio_tiny.py, built once per session), a fixed synthetic batch of kicks, a loss measured
the same way every time, and a short run.

The Dance Diffusion base here is a depth-4 DAU1d at 16 kHz without attention (DAU1d's attention
at high resolution dominates its step time: field notes); the Stable Audio one is the shared tiny
SAO 1.0-shaped model (a 2-layer DiT, an Oobleck VAE, a 768-wide one-layer T5). torch runs one
thread: the tests share two cores with other work, and torch's threads spin-wait for each other.
"""
from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import numpy as np

from server.training.settings import Settings

DD_SECONDS = 0.256  # 4096 frames at 16 kHz
SAO_SECONDS = 0.75


def dance_config() -> dict[str, Any]:
    from tests.server.backends.stable_audio_tiny import dance_config as shared

    config = shared()
    config["model"]["config"] = {"n_attn_layers": 0, "depth": 4, "channels": [16, 16, 32, 32], "strides": [2, 2, 2]}
    return config




def kicks(n: int, seconds: float, rate: int, shift: int = 0) -> np.ndarray:
    """n decaying sine kicks (pitch sweeping down), stereo: (n, 2, frames) float32. `shift` moves
    each kick's pitch and decay, so different batch indices give different batches."""
    t = np.arange(round(seconds * rate)) / rate
    out = []
    for i in range(n):
        k = i + shift
        freq = 45 + 80 * np.exp(-t * 25) + 3 * (k % 7)
        x = 0.8 * np.sin(2 * np.pi * np.cumsum(freq) / rate) * np.exp(-t * (6 + k % 5))
        out.append(np.stack([x, 0.9 * x]))
    return np.asarray(out, dtype=np.float32)


def settings_for(kind: str, **overrides: Any) -> Settings:
    dd = kind.startswith("dance")
    values: dict[str, Any] = {"kind": kind, "steps": 10, "batch_size": 2, "lora_rank": 4, "save_every": 5,
                              "seconds": DD_SECONDS if dd else SAO_SECONDS,
                              "learning_rate": 2e-3 if kind.endswith("lora") else 5e-4}
    values.update(overrides)
    return Settings(**values)


def fixed_batches(trainee: Any) -> Any:
    """batches(i): kicks that differ per micro-batch index (a skipped or repeated index shows)."""
    rate, seconds = trainee.files.sample_rate, trainee.settings.seconds

    def batches(index: int) -> tuple[np.ndarray, list[str]]:
        return kicks(trainee.settings.batch_size, seconds, rate, shift=index % 3), ["deep kick"] * trainee.settings.batch_size
    return batches


def fixed_loss(trainee: Any, batch: np.ndarray, prompts: list[str]) -> float:
    """The training loss on `batch` with the same timesteps and noise every call (seeded, and the
    training random state left alone), averaged over 8 draws so one lucky timestep does not decide."""
    import torch

    from server.training import objective

    x = objective.to_tensor(trainee, batch)
    values = []
    with torch.random.fork_rng(), torch.no_grad():
        torch.manual_seed(1234)
        sobol = torch.quasirandom.SobolEngine(1, scramble=True, seed=99)
        for _ in range(8):
            values.append(float(objective.loss(trainee, x, prompts, sobol, contextlib.nullcontext())))
    return float(np.mean(values))


def source(tiny: dict[str, Path], kind: str) -> Path:
    return tiny["dance"] if kind.startswith("dance") else tiny["sao"]


def load(tiny: dict[str, Path], settings: Settings) -> Any:
    from server.training import models

    return models.load(settings, str(source(tiny, settings.kind)), t5_path=str(tiny["t5"]))
