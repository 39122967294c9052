"""audiocraft models through a real `dawgen serve` over OSC: tiny AudioGen and MAGNeT checkpoints
named in a config file, as a user would."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.conftest import DaemonProcess
from tests.server.backends.audiocraft_tiny import build, config_folder

TIMEOUT = 180


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    pytest.importorskip("torch", reason="torch is not installed (make test installs it)")
    if importlib.util.find_spec("audiocraft") is None or not config_folder().is_dir():
        pytest.skip("audiocraft is not installed (make install-audiocraft)")
    root = tmp_path_factory.mktemp("audiocraft-osc")
    models = {family: build(root / family, family) for family in ("audiogen", "magnet")}
    config = ('[server]\nprogress_interval = 0\n\n'
              f'[models.sfx]\nbackend = "audiocraft"\npath = "{models["audiogen"]}"\ndevice = "cpu"\n\n'
              f'[models.fast]\nbackend = "audiocraft"\npath = "{models["magnet"]}"\ndevice = "cpu"\n')
    proc = DaemonProcess(root, config_text=config).start()
    yield proc
    proc.terminate()


def test_audiogen_and_magnet_over_osc_with_provenance(client):
    models = {m["name"]: m for m in client.json_call("models")}
    assert models["sfx"]["backend"] == "audiocraft" and "unavailable" not in models["sfx"]
    assert set(models["fast"]["verbs"]) == {"generate"}
    params = {"model": "sfx", "prompt": "door slam", "seconds": 0.5, "seed": 9, "bit_depth": "32f"}
    a = client.generate(params, timeout=TIMEOUT)[0]
    b = client.generate({**params, "dir": "again"}, timeout=TIMEOUT)[0]
    assert np.array_equal(sf.read(a)[0], sf.read(b)[0])
    side = json.loads(Path(a).with_suffix(".json").read_text())
    assert side["model"]["backend"] == "audiocraft" and side["model"]["family"] == "audiogen"
    assert side["model"]["weights_sha256"] and side["model"]["audiocraft"] == "1.3.0" and side["seed"] == 9
    fast = client.generate({"model": "fast", "prompt": "techno", "decoding_steps": "2", "seed": 1}, timeout=TIMEOUT)
    assert sf.info(fast[0]).frames > 0.5 * sf.info(fast[0]).samplerate
