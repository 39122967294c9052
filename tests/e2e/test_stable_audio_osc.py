"""Stable Audio through a real `dawgen serve` over OSC: tiny random-weight models built from
stable-audio-tools configs (SAO 1.0 and Small shapes, an inpainting model, Dance Diffusion), saved as
users' downloads are (safetensors, .ckpt, a Hugging Face cache), with a tiny local T5 folder.

One daemon serves the module; its model process imports stable-audio-tools once.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from bridge.client import ClientError
from tests.conftest import DaemonProcess

TIMEOUT = 180


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    pytest.importorskip("torch", reason="torch is not installed (make test installs it)")
    pytest.importorskip("stable_audio_tools", reason="stable-audio-tools is not installed (make install-stable-audio)")
    from tests.server.backends.stable_audio_tiny import tiny_models

    return tiny_models(tmp_path_factory.getbasetemp())


@pytest.fixture(scope="module")
def daemon(tiny, tmp_path_factory):
    t5 = tiny["t5"]
    empty = tmp_path_factory.mktemp("no-weights")
    (empty / "model_config.json").write_text((tiny["sao"] / "model_config.json").read_text())
    entries = {
        "sao": (tiny["sao"], t5, True), "sao-ckpt": (tiny["ckpt"], t5, False),
        "small": (tiny["hf"], t5, False), "inpaint": (tiny["inpaint"], t5, False),
        "dance": (tiny["dance"], None, False),
        "no-t5": (tiny["sao"], tmp_path_factory.getbasetemp() / "missing-t5", False),
        "no-weights": (empty, t5, False),
    }
    config = ""
    for name, (path, t5_path, preload) in entries.items():
        config += f'[models.{name}]\nbackend = "stable-audio"\npath = "{path}"\ndevice = "cpu"\n'
        config += f't5_path = "{t5_path}"\n' if t5_path else ""
        config += "preload = true\n\n" if preload else "\n"
    proc = DaemonProcess(tmp_path_factory.mktemp("stable-audio-daemon"), config_text=config).start()
    yield proc
    proc.terminate()


def gen(client, verb: str = "generate", **params) -> list[Path]:
    return [Path(p) for p in client.generate(params, verb=verb, timeout=TIMEOUT)]


def read(path: Path) -> tuple[np.ndarray, int]:
    data, rate = sf.read(path, dtype="float64", always_2d=True)
    return data, rate


RAW = {"loudness": None, "bit_depth": "32f"}  # float files: compare what the model made


def test_models_listed_with_verbs_and_missing_files_named(client):
    models = {m["name"]: m for m in client.json_call("models")}
    assert set(models["sao"]["verbs"]) == {"generate", "vary"}
    assert set(models["inpaint"]["verbs"]) == {"generate", "vary", "inpaint"}
    assert "prompt" not in {p["name"] for p in models["dance"]["verbs"]["generate"]}
    assert "missing-t5" in models["no-t5"]["unavailable"] and "google-t5/t5-base" in models["no-t5"]["unavailable"]
    assert "model.safetensors" in models["no-weights"]["unavailable"]
    with pytest.raises(ClientError) as info:
        gen(client, model="no-t5", prompt="x")
    assert info.value.code == "model_unavailable" and "t5_path" in info.value.message
    assert len(gen(client, model="sao", prompt="still works", seconds=0.5, steps=2, seed=1)) == 1


def test_generate_length_rate_channels_prompts_and_seeds(client):
    a = gen(client, model="sao", prompt="dark techno", seconds=2.0, steps=8, seed=1, bit_depth="32f")[0]
    b = gen(client, model="sao", prompt="warm piano", seconds=2.0, steps=8, seed=1, bit_depth="32f")[0]
    c = gen(client, model="sao", prompt="dark techno", seconds=2.0, steps=8, seed=1, bit_depth="32f")[0]
    (xa, ra), (xb, _), (xc, _) = read(a), read(b), read(c)
    assert ra == 48000 and xa.shape == (96000, 2)
    assert np.abs(xa - xb).max() > 1e-4  # the prompt reaches the model
    assert np.array_equal(xa, xc)  # same seed, same audio
    side = json.loads(a.with_suffix(".json").read_text())
    assert side["model"]["backend"] == "stable-audio" and side["model"]["weights_sha256"]
    assert side["model"]["stable_audio_tools"] == "0.0.20" and side["meta"]["sampler"] == "dpmpp-3m-sde"


def test_ckpt_and_hf_cache_and_family_defaults(client):
    ckpt = gen(client, model="sao-ckpt", prompt="dark techno", seconds=2.0, steps=8, seed=1, bit_depth="32f")[0]
    sft = gen(client, model="sao", prompt="dark techno", seconds=2.0, steps=8, seed=1, bit_depth="32f")[0]
    assert np.array_equal(read(ckpt)[0], read(sft)[0])  # the same weights saved both ways
    small = gen(client, model="small", prompt="kick", seconds=1.0, seed=4)[0]
    meta = json.loads(small.with_suffix(".json").read_text())["meta"]
    assert (meta["steps"], meta["sampler"], meta["cfg_scale"], meta["family"]) == (8, "pingpong", 1.0, "sao-small")


def test_count_is_one_batch_with_consecutive_seeds(client):
    many = gen(client, model="small", prompt="bass loop", seconds=1.0, seed=10, count=3, bit_depth="32f")
    assert len(many) == 3
    for i, path in enumerate(many):
        one = gen(client, model="small", prompt="bass loop", seconds=1.0, seed=10 + i, bit_depth="32f")[0]
        # a batched forward pass rounds differently from a single one: equal to float precision
        assert np.abs(read(path)[0] - read(one)[0]).max() < 1e-4


def test_vary_changes_the_audio_and_strength_zero_keeps_it(client, tmp_path):
    rate = 44100
    t = np.arange(int(1.5 * rate)) / rate
    clip = np.stack([0.3 * np.sin(2 * np.pi * 220 * t)] * 2, axis=1).astype(np.float32)
    path = tmp_path / "clip.wav"
    sf.write(path, clip, rate, subtype="FLOAT")
    varied = read(gen(client, "vary", model="small", input=str(path), strength=0.7, seed=2, sample_rate=rate,
                      bit_depth="32f")[0])[0]
    same = read(gen(client, "vary", model="small", input=str(path), strength=0.0, seed=2, sample_rate=rate,
                    bit_depth="32f")[0])[0]
    assert varied.shape == clip.shape and np.abs(varied - clip).max() > 0.05
    assert np.abs(same - clip).max() < 1e-5


def test_inpaint_keeps_the_outside_and_plain_models_refuse(client, tmp_path):
    rate = 48000
    t = np.arange(2 * rate) / rate
    clip = np.stack([0.3 * np.sin(2 * np.pi * 330 * t)] * 2, axis=1).astype(np.float32)
    path = tmp_path / "take.wav"
    sf.write(path, clip, rate, subtype="FLOAT")
    out = read(gen(client, "inpaint", model="inpaint", input=str(path), start=0.5, end=1.0, prompt="snare", seed=3,
                   bit_depth="32f")[0])[0]
    assert out.shape == clip.shape
    outside = np.r_[0:int(0.5 * rate), int(1.0 * rate):2 * rate]
    assert np.abs(out[outside] - clip[outside]).max() < 1e-6
    assert np.abs(out[int(0.6 * rate):int(0.9 * rate)] - clip[int(0.6 * rate):int(0.9 * rate)]).max() > 0.05
    with pytest.raises(ClientError) as info:
        gen(client, "inpaint", model="sao", input=str(path), start=0.5, end=1.0)
    assert info.value.code == "unknown_verb" and "inpaint" in info.value.message


def test_dance_diffusion_generates_without_a_prompt(client):
    out = gen(client, model="dance", seconds=0.5, steps=4, seed=1, bit_depth="32f")[0]
    x, rate = read(out)
    assert x.shape == (24000, 2) and np.abs(x).max() > 1e-4


def test_bad_sampler_for_the_objective_is_refused_at_submit(client):
    with pytest.raises(ClientError) as info:
        client.call("generate", {"model": "sao", "sampler": "euler"})
    assert info.value.code == "bad_request" and "dpmpp-3m-sde" in info.value.message


def test_cancel_mid_generation_writes_nothing(client, daemon):
    ack = client.call("generate", {"model": "sao", "prompt": "endless drone", "seconds": 2.5, "steps": 400, "seed": 9})
    job = str(ack.args[1])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        reply = client.recv(1)
        if reply and reply.address == "/dawgen/progress" and reply.args[0] == job and float(reply.args[1]) > 0.0:
            break
    else:
        pytest.fail("the job never reported sampler steps")
    assert list(client.call("cancel", {"job": job}).args[1:]) == [job, "running"]
    with pytest.raises(ClientError) as info:
        client.wait(job, timeout=30)
    assert info.value.code == "cancelled"
    assert not list(daemon.project.rglob("endless-drone*"))
