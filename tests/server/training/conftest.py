"""The trainer tests' fixtures: tiny models on disk, built once per session (tiny_runs.py), and
torch on one thread while a test here runs (two shared cores: torch's threads spin-wait for each
other under load), put back afterwards for the rest of the suite."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.server.training.tiny_runs import dance_config


@pytest.fixture(scope="session")
def tiny(tmp_path_factory) -> dict[str, Path]:
    """The shared tiny models, with "dance" replaced by tiny_runs.dance_config's attention-free one."""
    pytest.importorskip("torch", reason="torch is not installed (make test installs it)")
    pytest.importorskip("stable_audio_tools", reason="stable-audio-tools is not installed (make install-stable-audio)")
    from tests.server.backends.stable_audio_tiny import build_model, tiny_models

    models = dict(tiny_models(tmp_path_factory.getbasetemp()))
    folder = tmp_path_factory.getbasetemp() / "train-dance"
    if not (folder / "model.safetensors").is_file():
        build_model(folder, dance_config(), None, seed=5)
    models["dance"] = folder
    return models


@pytest.fixture(autouse=True)
def one_torch_thread():
    import sys

    torch = sys.modules.get("torch")  # never import torch for a test that does not use it
    before = torch.get_num_threads() if torch is not None else None
    if torch is not None:
        torch.set_num_threads(1)
    yield
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(before or torch.get_num_threads())
