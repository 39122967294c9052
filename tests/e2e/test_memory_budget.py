"""The memory budget through a real daemon: models warm up (a `warming` stage), the least recently
used one is unloaded for another, `/dawgen/models` says which are warm, and a model that cannot fit
fails its job with `out_of_memory` while the daemon keeps working. Tiny random-weight demucs models
in demucs' own format, named in a config file as a user's are."""
from __future__ import annotations

from pathlib import Path

import pytest
import soundfile as sf

from bridge.client import ClientError
from tests.conftest import DaemonProcess
from tests.server.backends import demucs_tiny

TIMEOUT = 120


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    pytest.importorskip("torch", reason="torch is not installed (make test installs it)")
    pytest.importorskip("demucs", reason="the demucs extra is not installed (pip install 'dawgen[demucs]')")
    from server.backends.demucs.repo import find_model

    repo = demucs_tiny.make_repo(tmp_path_factory.mktemp("repo"))
    one = sum(p.stat().st_size for p in find_model(str(repo), "tiny").files) * 2  # float32 in memory
    budget = int(one * 1.5)  # one tiny model fits, two do not; the two-model bag never fits
    config = (f'[server.memory_budget]\ncpu = "{budget}B"\n\n'
              + "".join(f'[models.{name}]\nbackend = "demucs"\npath = "{repo}"\nname = "{model}"\ndevice = "cpu"\n\n'
                        for name, model in (("first", "tiny"), ("second", "tiny"), ("huge", "tiny_bag"))))
    daemon = DaemonProcess(tmp_path_factory.mktemp("daemon"), config_text=config).start()
    song = tmp_path_factory.mktemp("in") / "song.wav"
    sf.write(song, demucs_tiny.music(2.0), 44100)
    yield daemon, song
    daemon.terminate()


@pytest.fixture
def client(setup):
    from bridge.client import Client

    with Client("127.0.0.1", setup[0].port) as c:
        yield c


def separate(client, model: str, song: Path) -> tuple[list[str], list[str]]:
    stages: list[str] = []
    ack = client.call("separate", {"model": model, "input": str(song), "mode": "only:drums", "dir": model})
    paths = client.wait(str(ack.args[1]), timeout=TIMEOUT, on_progress=lambda f, s, eta: stages.append(s))
    return paths, stages


def warm(client) -> dict[str, dict]:
    return {m["name"]: m for m in client.json_call("models") if m.get("loaded")}


def test_models_warm_up_once_and_the_least_recently_used_makes_room(client, setup):
    _, song = setup
    paths, stages = separate(client, "first", song)
    assert len(paths) == 1 and "warming" in stages  # the first use loads the model, and says so
    assert set(warm(client)) >= {"first"} and warm(client)["first"]["memory_bytes"] > 0
    _, stages = separate(client, "first", song)
    assert "warming" not in stages  # warm: no loading the second time
    _, stages = separate(client, "second", song)
    assert "warming" in stages
    now = warm(client)
    assert "second" in now and "first" not in now, now  # first was unloaded to make room
    _, stages = separate(client, "first", song)
    assert "warming" in stages and "second" not in warm(client)


def test_a_model_that_cannot_fit_fails_clearly_and_the_daemon_goes_on(client, setup):
    _, song = setup
    with pytest.raises(ClientError) as err:
        separate(client, "huge", song)
    assert err.value.code == "out_of_memory" and "memory budget" in err.value.message
    assert "server.memory_budget.cpu" in err.value.message
    assert client.generate({"prompt": "kick", "seed": 1}, timeout=TIMEOUT)  # the synth still works
    paths, _ = separate(client, "first", song)
    assert Path(paths[0]).exists()
