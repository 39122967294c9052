"""Audio in and out on real PortAudio devices: JACK's dummy driver through PortAudio's JACK host API.

In-process against the AudioDoor (a chained `vary` really runs, on a test model), and over OSC
against a real `dawgen serve` (capture then=vary gets today's unknown_verb; audition and stop).
"""
import time

import pytest
import soundfile as sf

from bridge.client import Client
from server.config import load
from server.engine import Engine
from server.jobs import JobState

from .audio_helpers import ECHO_CONFIG, register_echo
from .test_audio_io import Sink

pytest.importorskip("sounddevice")

AUDIO = '[audio]\nhostapi = "JACK"\ninput = "system"\noutput = "system"\n'


@pytest.fixture
def door(jack, tmp_path, monkeypatch):
    from bridge.audio_io import AudioDoor

    register_echo(monkeypatch)
    (tmp_path / "c.toml").write_text(ECHO_CONFIG + AUDIO)
    cfg = load(tmp_path / "c.toml", {"output.root": str(tmp_path / "p"), "server.state_dir": str(tmp_path / "s"),
                                     "server.isolation": "thread"})
    engine = Engine(cfg)
    engine.start()
    d = AudioDoor(engine)
    yield d
    d.close()
    engine.stop(5)
    engine.close()


def test_a_capture_of_n_seconds_has_n_seconds_of_frames_and_the_chain_runs_on_it(door):
    from bridge.audio_io import CaptureSpec

    sink = Sink()
    seconds, rate, device = door.capture(CaptureSpec(seconds=0.5, then="vary", then_params={"model": "echo"}),
                                         sink.make(), "jack1")
    assert (seconds, rate, device) == (0.5, 48000, "system")
    assert sink.finished.wait(20), sink.events
    assert [e[0] for e in sink.events] == ["accepted", "captured", "chained"], sink.events
    _, path, frames, _ = sink.events[1]
    info = sf.info(path)
    assert frames == 24000 and info.frames == 24000 and info.samplerate == 48000 and info.channels == 2
    job = sink.events[2][2]
    deadline = time.monotonic() + 20
    while not door.engine.status(job.id)[0].state.finished and time.monotonic() < deadline:
        time.sleep(0.02)
    done = door.engine.status(job.id)[0]
    assert done.state is JobState.DONE and done.params["input"] == path and done.outputs


def test_bars_at_a_tempo(door):
    from bridge.audio_io import CaptureSpec

    sink = Sink()
    door.capture(CaptureSpec(bars=0.25, bpm=150), sink.make(), "jack2")  # a quarter bar at 150 = 0.4 s
    deadline = time.monotonic() + 20
    while len(sink.events) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert sink.events[1][0] == "captured" and sink.events[1][2] == 19200
    assert sf.info(sink.events[1][1]).frames == 19200


def test_audition_plays_to_completion_and_can_be_stopped(door, tmp_path):
    import numpy as np

    short, long = tmp_path / "p" / "short.wav", tmp_path / "p" / "long.wav"
    short.parent.mkdir(parents=True)
    sf.write(short, np.zeros((12000, 2), dtype=np.float32), 48000)
    sf.write(long, np.zeros((48000 * 30, 1), dtype=np.float32), 24000)  # 60 s, mono at another rate
    ended = []
    door.audition(str(short), on_end=lambda p, how: ended.append(how))
    deadline = time.monotonic() + 20
    while not ended and time.monotonic() < deadline:
        time.sleep(0.02)
    assert ended == ["finished"]
    playback_seconds = door.audition(str(long), on_end=lambda p, how: ended.append(how))[1]
    assert playback_seconds == pytest.approx(60.0)
    assert door.stop("audition") == (True, False)
    deadline = time.monotonic() + 20
    while len(ended) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert ended == ["finished", "stopped"]


def test_a_missing_device_is_a_clear_error(door):
    from bridge.audio_devices import DeviceSet
    from bridge.audio_io import CaptureSpec
    from server.config import AudioConfig
    from server.errors import DawgenError

    door.devices = DeviceSet(AudioConfig(input="Loopback*", hostapi="JACK"))
    with pytest.raises(DawgenError) as info:
        door.capture(CaptureSpec(seconds=1), Sink().make())
    assert info.value.code == "device_unavailable" and "'system' (JACK Audio Connection Kit)" in info.value.message


def wait_reply(client, address, timeout=20.0, daemon=None):
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        reply = client.recv(0.2)
        if reply is None:
            continue
        seen.append(reply)
        if reply.address == address:
            return reply
    log = f"\ndaemon log:\n{daemon.log.read_text(errors='replace')[-4000:]}" if daemon is not None else ""
    raise AssertionError(f"no {address}; got {[(r.address, r.args) for r in seen]}{log}")


def test_capture_audition_and_stop_over_osc(jack, daemon_factory):
    daemon = daemon_factory(config_text=AUDIO).start()
    with Client("127.0.0.1", daemon.port) as client:
        reply = client.call("capture", {"seconds": 0.5, "then": "vary", "then_params": '{"strength": 0.5}'}, req_id="c1")
        assert reply.address == "/dawgen/recording" and reply.args == ["c1", 0.5, 48000, "system"]
        captured = wait_reply(client, "/dawgen/captured", daemon=daemon)
        assert captured.args[0] == "c1" and captured.args[2:] == [24000, 48000]
        path = captured.args[1]
        assert path.startswith(str(daemon.project)) and sf.info(path).frames == 24000
        error = wait_reply(client, "/dawgen/error", daemon=daemon)
        assert error.args[:2] == ["c1.then", "unknown_verb"] and "vary" in error.args[2]

        playing = client.call("audition", {"path": path}, req_id="a1")
        assert playing.args[:2] == ["a1", path] and playing.args[2] == pytest.approx(0.5)
        assert wait_reply(client, "/dawgen/played", daemon=daemon).args == ["a1", path, "finished"]

        loop = client.generate({"prompt": "drum loop", "bars": 8, "bpm": 120, "seed": 3})[0]  # 16 s
        client.call("audition", {"path": loop}, req_id="a2")
        stopped = client.call("stop", {}, req_id="s1")
        assert stopped.args == ["s1", 1, 0]
        assert wait_reply(client, "/dawgen/played", daemon=daemon).args == ["a2", loop, "stopped"]

        with pytest.raises(Exception) as info:
            client.call("audition", {"path": "nope.wav"}, req_id="a3")
        assert getattr(info.value, "code", "") == "not_found"
    assert daemon.terminate() == 0


def test_dawgen_devices_lists_audio_and_midi_and_flags_what_the_config_cannot_find(jack, tmp_path):
    import json
    import subprocess
    import sys

    import mido

    from .jack_server import JACK_BACKEND

    cfg = tmp_path / "d.toml"
    cfg.write_text(AUDIO + f'[midi]\nbackend = "{JACK_BACKEND}"\ninputs = ["*pads*"]\n')
    backend = mido.Backend(JACK_BACKEND, load=True)
    with backend.open_output("my pads", virtual=True):
        r = subprocess.run([sys.executable, "-m", "bridge", "devices", "--json", "--config", str(cfg)],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stdout + r.stderr
        report = json.loads(r.stdout)
        assert report["audio"]["input"] == "system" and report["audio"]["output"] == "system"
        assert any(d["name"] == "system" and d["hostapi"].startswith("JACK") for d in report["audio"]["devices"])
        assert [n for n in report["midi"]["listening"] if n.endswith(":my pads")]
        cfg.write_text('[audio]\nhostapi = "JACK"\ninput = "Loopback*"\n' + f'[midi]\nbackend = "{JACK_BACKEND}"\ninputs = ["nanoPAD*"]\n')
        r = subprocess.run([sys.executable, "-m", "bridge", "devices", "--config", str(cfg)],
                           capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    assert "system  [JACK Audio Connection Kit]" in r.stdout and "<- audition" in r.stdout
    assert "✗ no audio input device matching 'Loopback*'" in r.stdout
    assert "✗ no MIDI input matches [midi] inputs ['nanoPAD*']" in r.stdout
