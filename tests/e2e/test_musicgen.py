"""MusicGen through a real `dawgen serve` over OSC: tiny random-weight models named in a config file.

One daemon serves the whole module (its model process loads both tiny models once). The tiny
models' window is 1 s, so requests of a few seconds are generated window by window.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from bridge.client import Client, ClientError
from server.post.grid import grid_frames
from tests.conftest import DaemonProcess
from tests.server.backends.musicgen_tiny import tiny_models

TIMEOUT = 120


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    pytest.importorskip("torch", reason="torch is not installed (make test installs it)")
    pytest.importorskip("transformers", reason="the musicgen extra is not installed")
    return tiny_models(tmp_path_factory.getbasetemp())


def config_for(models: dict[str, Path]) -> str:
    # progress_interval = 0: one progress event per decoding step, whatever the machine's speed
    return ('[server]\nprogress_interval = 0\n\n'
            f'[models.tiny]\nbackend = "musicgen"\npath = "{models["musicgen"]}"\npreload = true\n\n'
            f'[models.tiny-melody]\nbackend = "musicgen"\npath = "{models["melody"]}"\n')


@pytest.fixture(scope="module")
def daemon(tiny, tmp_path_factory):
    proc = DaemonProcess(tmp_path_factory.mktemp("musicgen-daemon"), config_text=config_for(tiny)).start()
    yield proc
    proc.terminate()


def sidecar(path: str) -> dict:
    return json.loads(Path(path).with_suffix(".json").read_text())


def clip_file(folder: Path, name: str, seconds: float, freq: float, rate: int = 48000) -> tuple[Path, np.ndarray]:
    t = np.arange(int(seconds * rate)) / rate
    mono = 0.3 * np.sin(2 * np.pi * freq * t) * (1 + 0.5 * np.sin(2 * np.pi * 2 * t))
    clip = np.stack([mono, 0.8 * mono], axis=1).astype(np.float32)
    path = folder / name
    sf.write(path, clip, rate, subtype="FLOAT")
    return path, clip


def test_models_lists_the_configured_models_with_their_verbs(client):
    models = {m["name"]: m for m in client.json_call("models")}
    assert models["tiny"]["backend"] == "musicgen" and "unavailable" not in models["tiny"]
    assert set(models["tiny"]["verbs"]) == {"generate", "continue"}
    assert set(models["tiny-melody"]["verbs"]) == {"generate", "continue", "melody"}


def test_text_past_the_window_with_progress_per_step(client):
    ack = client.call("generate", {"model": "tiny", "prompt": "dark techno", "seconds": 2.5, "seed": 42})
    seen: list[tuple[float, str]] = []
    paths = client.wait(str(ack.args[1]), timeout=TIMEOUT, on_progress=lambda f, s, eta: seen.append((f, s)))
    info = sf.info(paths[0])
    assert info.samplerate == 48000 and info.frames > 2.4 * 48000  # a one-shot: only trailing silence trimmed
    side = sidecar(paths[0])
    assert side["model"]["backend"] == "musicgen" and side["model"]["weights_sha256"] and side["seed"] == 42
    assert side["meta"]["windows"] >= 3 and side["meta"]["prompt_used"] == "dark techno"
    generating = [f for f, s in seen if s == "generating"]
    frame_rate = 32000 / (8 * 5 * 4 * 4)  # the tiny EnCodec's: one decoding step per frame
    assert len(generating) >= 2.5 * frame_rate and generating == sorted(generating)


def test_bars_at_bpm_set_the_length_and_the_tempo_words(client):
    path = client.generate({"model": "tiny", "prompt": "house", "bars": 1, "bpm": 120, "seed": 1}, timeout=TIMEOUT)[0]
    assert sf.info(path).frames == grid_frames(1, 120, "4/4", 48000)
    assert sidecar(path)["meta"]["prompt_used"] == "house, 120 bpm"


def test_same_seed_same_audio_and_count_batches_consecutive_seeds(client):
    params = {"model": "tiny", "prompt": "lofi piano", "seconds": 0.8, "bit_depth": "32f"}
    a = client.generate({**params, "seed": 5}, timeout=TIMEOUT)[0]
    b = client.generate({**params, "seed": 5, "dir": "again"}, timeout=TIMEOUT)[0]
    pair = client.generate({**params, "seed": 5, "count": 2, "dir": "pair"}, timeout=TIMEOUT)
    assert np.array_equal(sf.read(a)[0], sf.read(b)[0])
    assert [Path(p).name for p in pair] == ["lofi-piano_5.wav", "lofi-piano_6.wav"]
    assert np.abs(sf.read(pair[0])[0][:30000] - sf.read(pair[1])[0][:30000]).max() > 1e-3


def test_continue_new_part_only_and_input_plus_continuation(client, tmp_path):
    path, clip = clip_file(tmp_path, "clip.wav", 0.8, 330.0)
    params = {"model": "tiny", "input": str(path), "seconds": 1.5, "seed": 7, "bit_depth": "32f"}
    new = client.generate(params, verb="continue", timeout=TIMEOUT)[0]
    assert sf.info(new).frames == int(1.5 * 48000)  # exactly the requested length, placed after the clip
    # what the Reaper and Live clients send: the bars to add at the project tempo
    bars = client.generate({**params, "bars": 1, "bpm": 97, "dir": "bars"}, verb="continue", timeout=TIMEOUT)[0]
    assert sf.info(bars).frames == grid_frames(1, 97, "4/4", 48000)
    both = client.generate({**params, "include_input": True, "dir": "both"}, verb="continue", timeout=TIMEOUT)[0]
    x, rate = sf.read(both, always_2d=True, dtype="float32")
    assert rate == 48000 and x.shape[0] == pytest.approx(clip.shape[0] + 1.5 * 48000, abs=2)
    keep = clip.shape[0] - 480  # up to the 10 ms crossfade into the continuation
    assert np.array_equal(x[:keep], clip[:keep])  # the file starts with the input, untouched
    side = sidecar(both)
    assert side["meta"]["include_input"] is True and side["meta"]["windows"] >= 2 and side["inputs"]["input"]


def test_melody_on_a_melody_model_only(client, tmp_path):
    path, _ = clip_file(tmp_path, "hum.wav", 1.2, 440.0)
    out = client.generate({"model": "tiny-melody", "input": str(path), "prompt": "piano", "seed": 3},
                          verb="melody", timeout=TIMEOUT)[0]
    assert sf.info(out).frames > 1.1 * 48000 and sidecar(out)["model"]["model_type"] == "musicgen_melody"
    with pytest.raises(ClientError) as info:
        client.generate({"model": "tiny", "input": str(path)}, verb="melody", timeout=TIMEOUT)
    assert info.value.code == "unknown_verb" and "tiny-melody" in str(info.value)


def test_bad_input_is_refused_at_submit(client, tmp_path):
    with pytest.raises(ClientError) as info:
        client.call("continue", {"model": "tiny", "input": str(tmp_path / "missing.wav")})
    assert info.value.code == "bad_request" and "no file" in str(info.value)


def test_cancel_mid_generation_writes_nothing(client, daemon):
    ack = client.call("generate", {"model": "tiny", "prompt": "endless drone", "seconds": 120, "seed": 9})
    job = str(ack.args[1])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        reply = client.recv(1)
        if reply and reply.address == "/dawgen/progress" and reply.args[0] == job and reply.args[2] == "generating" \
                and float(reply.args[1]) > 0.01:
            break
    else:
        pytest.fail("the job never reported decoding steps")
    assert list(client.call("cancel", {"job": job}).args[1:]) == [job, "running"]
    with pytest.raises(ClientError) as info:
        client.wait(job, timeout=30)
    assert info.value.code == "cancelled"
    assert not list(daemon.project.rglob("endless-drone*")) and not list(daemon.project.rglob("*.tmp"))


def test_without_the_extra_the_model_is_unavailable_and_the_daemon_works(tiny, tmp_path):
    # a sitecustomize that makes `transformers` unimportable (None in sys.modules: find_spec says
    # it is not there, import raises ImportError), in the daemon and in its model process
    hide = tmp_path / "hide"
    hide.mkdir()
    (hide / "sitecustomize.py").write_text("import sys\nsys.modules['transformers'] = None\n")
    import os

    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = str(hide) + (os.pathsep + old if old else "")
    try:
        (tmp_path / "d").mkdir()
        proc = DaemonProcess(tmp_path / "d", config_text=config_for(tiny)).start()
    finally:
        os.environ.pop("PYTHONPATH") if old is None else os.environ.__setitem__("PYTHONPATH", old)
    try:
        with Client("127.0.0.1", proc.port) as c:
            models = {m["name"]: m for m in c.json_call("models")}
            assert "pip install 'dawgen[musicgen]'" in models["tiny"]["unavailable"]
            with pytest.raises(ClientError) as info:
                c.call("generate", {"model": "tiny", "prompt": "x"})
            assert info.value.code == "model_unavailable" and "dawgen[musicgen]" in str(info.value)
            assert c.generate({"prompt": "kick", "seed": 1}, timeout=60)  # the synth keeps working
    finally:
        proc.terminate()
