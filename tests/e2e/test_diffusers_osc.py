"""The diffusers backend through a real `dawgen serve` over OSC: tiny random-weight AudioLDM2 (in the
published layout) and Stable Audio Open pipelines named in a config file, as a user writes it.

One daemon serves the module; its model process loads both pipelines once. Files come out of the
engine's DAW-ready path (48 kHz, on the grid), carry provenance, and `dawgen regen` makes one again.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from bridge.client import ClientError
from server.post.grid import grid_frames
from tests.conftest import DaemonProcess
from tests.server.backends.diffusers_tiny import tiny_models

TIMEOUT = 180
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    pytest.importorskip("torch", reason="torch is not installed (make test installs it)")
    pytest.importorskip("diffusers", reason="the diffusers extra is not installed")
    pytest.importorskip("torchsde", reason="the diffusers extra is not installed")
    return tiny_models(tmp_path_factory.getbasetemp())


@pytest.fixture(scope="module")
def daemon(tiny, tmp_path_factory):
    config = (f'[models.ldm2]\nbackend = "diffusers"\npath = "{tiny["audioldm2"]}"\ndevice = "cpu"\npreload = true\n\n'
              f'[models.sao]\nbackend = "diffusers"\npath = "{tiny["stable-audio"]}"\ndevice = "cpu"\n')
    proc = DaemonProcess(tmp_path_factory.mktemp("diffusers-daemon"), config_text=config).start()
    yield proc
    proc.terminate()


def sidecar(path: str) -> dict:
    return json.loads(Path(path).with_suffix(".json").read_text())


def test_models_lists_each_pipeline_with_its_verbs(client):
    models = {m["name"]: m for m in client.json_call("models")}
    assert models["ldm2"]["backend"] == "diffusers" and "unavailable" not in models["ldm2"]
    assert set(models["ldm2"]["verbs"]) == {"generate"} and set(models["sao"]["verbs"]) == {"generate", "vary"}


def test_generate_on_the_grid_with_provenance_and_regen(daemon, client):
    params = {"model": "ldm2", "prompt": "rain on a tin roof", "bars": 1, "bpm": 120, "count": 2, "seed": 30,
              "steps": 3, "bit_depth": "32f"}
    paths = client.generate(params, timeout=TIMEOUT)
    assert len(paths) == 2
    for path in paths:
        info = sf.info(path)
        assert info.samplerate == 48000 and info.frames == grid_frames(1, 120, "4/4", 48000)
    side = sidecar(paths[1])
    assert side["seed"] == 31 and side["model"]["backend"] == "diffusers"
    assert side["model"]["pipeline"] == "AudioLDM2Pipeline" and side["model"]["weights_sha256"]
    assert side["meta"]["steps"] == 3
    r = subprocess.run([sys.executable, "-m", "bridge", "regen", paths[1], "--port", str(daemon.port), "--dir", "again"],
                       cwd=REPO, capture_output=True, text=True, timeout=TIMEOUT)
    assert r.returncode == 0, r.stderr
    again = r.stdout.split()[0]
    a, b = sf.read(paths[1])[0], sf.read(again)[0]
    assert a.shape == b.shape and np.abs(a - b).max() < 1e-3  # row 1 of the batch, made on its own
    assert np.abs(a - sf.read(paths[0])[0]).max() > 0.01


def test_vary_on_stable_audio_and_not_on_audioldm2(client, tmp_path):
    rate = 44100
    t = np.arange(int(1.2 * rate)) / rate
    clip = np.stack([0.4 * np.sin(2 * np.pi * 220 * t)] * 2, axis=1).astype(np.float32)
    sf.write(tmp_path / "clip.wav", clip, rate)
    params = {"model": "sao", "input": str(tmp_path / "clip.wav"), "strength": 0.3, "steps": 3, "seed": 2}
    (path,) = client.generate(params, verb="vary", timeout=TIMEOUT)
    info = sf.info(path)
    assert info.channels == 2 and info.frames == pytest.approx(1.2 * info.samplerate, abs=2)
    assert sidecar(path)["model"]["pipeline"] == "StableAudioPipeline"
    with pytest.raises(ClientError) as error:
        client.generate({**params, "model": "ldm2"}, verb="vary", timeout=TIMEOUT)
    assert error.value.code == "unknown_verb" and "sao" in str(error.value)
    with pytest.raises(ClientError) as error:
        client.call("generate", {"model": "sao", "prompt": "x", "seconds": 5.0})  # past the 2 s window
    assert error.value.code == "bad_request" and "longer than this model makes" in str(error.value)
