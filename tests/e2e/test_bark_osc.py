"""Bark through a real `dawgen serve` over OSC: the tiny random-weight model named in a config file,
run in the daemon's model process; `dawgen regen` remakes a file from its provenance."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from bridge.client import ClientError
from tests.conftest import DaemonProcess
from tests.server.backends.bark_tiny import VOICES, tiny_bark

REPO = Path(__file__).resolve().parents[2]
TIMEOUT = 120


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    pytest.importorskip("torch", reason="torch is not installed (make test installs it)")
    pytest.importorskip("transformers", reason="the bark extra is not installed")
    tiny = tiny_bark(tmp_path_factory.getbasetemp())
    # progress_interval = 0: every stage's progress event, whatever the machine's speed
    config = f'[server]\nprogress_interval = 0\n\n[models.vox]\nbackend = "bark"\npath = "{tiny}"\npreload = true\n'
    proc = DaemonProcess(tmp_path_factory.mktemp("bark-daemon"), config_text=config).start()
    yield proc
    proc.terminate()


def test_models_lists_the_voices(client):
    models = {m["name"]: m for m in client.json_call("models")}
    assert models["vox"]["backend"] == "bark" and "unavailable" not in models["vox"]
    assert models["vox"]["voices"] == sorted(VOICES) and set(models["vox"]["verbs"]) == {"generate"}


def test_a_vocal_line_with_stage_progress_and_regen_remakes_it(client, daemon):
    params = {"model": "vox", "prompt": "♪ la la la ♪ [laughs] Hello world. " * 8, "voice": "v2/en_speaker_1",
              "seed": 21, "count": 2, "bit_depth": "32f"}
    ack = client.call("generate", params)
    seen: list[str] = []
    paths = client.wait(str(ack.args[1]), timeout=TIMEOUT, on_progress=lambda f, s, eta: seen.append(s))
    assert {"semantic", "coarse", "fine", "codec"} <= set(seen)
    audio, rate = sf.read(paths[1], always_2d=True)
    assert rate == 48000 and audio.shape[1] == 1 and audio.shape[0] > 0.5 * rate
    r = subprocess.run([sys.executable, "-m", "bridge", "regen", paths[1], "--port", str(daemon.port), "--dir", "again"],
                       cwd=REPO, capture_output=True, text=True, timeout=TIMEOUT)
    assert r.returncode == 0, r.stderr
    again = r.stdout.split()[0]
    assert Path(again).parent.name == "again"
    assert np.array_equal(sf.read(again, always_2d=True)[0], audio)


def test_an_unknown_voice_is_refused_listing_the_voices(client):
    with pytest.raises(ClientError) as info:
        client.call("generate", {"model": "vox", "prompt": "hello", "voice": "v2/de_speaker_3"})
    assert info.value.code == "bad_request" and "v2/en_speaker_0" in str(info.value)
