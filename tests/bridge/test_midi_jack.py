"""End to end through real MIDI ports (JACK's dummy driver, mido's UNIX_JACK backend): a note from a
"DAW track" reaches a real `dawgen serve`, a real file is generated, and the pad's LED note-on and
note-off come back; `dawgen midi learn` binds a new pad that the running daemon then plays."""
import queue
import re
import subprocess
import sys
import time

import pytest
import soundfile as sf

from bridge.midi.ports import PortLister

from .jack_server import JACK_BACKEND, connections, wait_connected

mido = pytest.importorskip("mido")

MAPPING = """
[[bind]]
name = "kick"
note = 36
channel = 10
verb = "generate"
params = { prompt = "kick", seconds = 0.2, seed = 7 }
"""

CONFIG = f"""
[server]
log_level = "debug"
[midi]
backend = "{JACK_BACKEND}"
virtual = true
virtual_name = "dawgen"
inputs = ["*dawgen-test-track"]
mapping = "mapping.toml"
rescan_seconds = 0.2
"""


def wait_for(predicate, timeout=15.0, what="condition"):
    # polls gently: every JACK query from here is a client coming and going in the server
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def port_named(names, suffix):
    return next((n for n in names if n.endswith(suffix)), None)


def collect(port_queue, count, timeout=15.0):
    got = []
    deadline = time.monotonic() + timeout
    while len(got) < count and time.monotonic() < deadline:
        try:
            got.append(port_queue.get(timeout=0.1))
        except queue.Empty:
            pass
    return got


def opened_track(daemon):
    # JACK numbers clients of one name ("RtMidiOut Client-02:..."): look for the port name only
    return re.search(r"listening on '[^']*:dawgen-test-track'", daemon.log.read_text())


def led_in_name(port):
    """Our input's JACK name: the one port connected to dawgen's virtual output."""
    return own_port(port, "RtMidiIn Client")


def out_name(port):
    return own_port(port, "RtMidiOut Client")


def own_port(port, client):
    # mido names an opened port after what it connects to; JACK knows ours as "<client>[-NN]:<port>"
    for _ in range(150):
        for name, peers in connections().items():
            if name.startswith(client) and port.name in peers:
                return name
        time.sleep(0.1)
    raise AssertionError(f"no JACK port of ours connects to {port.name}")


def wavs(project):
    return sorted(project.rglob("*.wav"))


def test_a_note_through_virtual_ports_generates_a_file_and_lights_the_pad(jack, daemon_factory, tmp_path):
    (tmp_path / "mapping.toml").write_text(MAPPING)
    daemon = daemon_factory(config_text=CONFIG).start()
    backend = mido.Backend(JACK_BACKEND, load=True)
    names = PortLister(backend)
    # the daemon's virtual ports: its input is one of our outputs, its LED output one of our inputs
    to_dawgen = wait_for(lambda: port_named(names.output_names(), ":dawgen"), what="dawgen's virtual input")
    from_dawgen = wait_for(lambda: port_named(names.input_names(), ":dawgen"), what="dawgen's virtual output")
    leds: queue.Queue = queue.Queue()
    with backend.open_input(from_dawgen, callback=leds.put) as led_in, backend.open_output(to_dawgen) as out:
        wait_connected(from_dawgen, led_in_name(led_in))
        wait_connected(out_name(out), to_dawgen)
        out.send(mido.Message("note_on", note=36, velocity=110, channel=9))
        out.send(mido.Message("note_off", note=36, channel=9))
        got = collect(leds, 2)
        assert [(m.type, m.note, m.channel) for m in got] == [("note_on", 36, 9), ("note_off", 36, 9)]
        assert got[0].velocity == 127
        files = wait_for(lambda: wavs(daemon.project), what="the generated file")
        info = sf.info(str(files[0]))
        assert info.samplerate == 48000 and info.frames > 0 and "kick" in files[0].name

        # a note on another channel is filtered out by the mapping
        out.send(mido.Message("note_on", note=36, velocity=110, channel=0))
        assert collect(leds, 1, timeout=1.0) == []

    # a port that appears after start (a DAW track's output) and matches `inputs` is picked up
    with backend.open_output("dawgen-test-track", virtual=True) as track:
        wait_for(lambda: opened_track(daemon),
                 what="the daemon to open the new port")
        with backend.open_input(from_dawgen, callback=leds.put) as led_in:
            wait_connected(from_dawgen, led_in_name(led_in))
            track.send(mido.Message("note_on", note=36, velocity=90, channel=9))
            assert [m.type for m in collect(leds, 2)] == ["note_on", "note_off"]
    assert len(wait_for(lambda: len(wavs(daemon.project)) >= 2 and wavs(daemon.project))) == 2
    assert daemon.terminate() == 0


def test_learn_binds_a_new_pad_that_the_running_daemon_then_plays(jack, daemon_factory, tmp_path):
    (tmp_path / "mapping.toml").write_text(MAPPING)
    daemon = daemon_factory(config_text=CONFIG).start()
    backend = mido.Backend(JACK_BACKEND, load=True)
    names = PortLister(backend)
    with backend.open_output("dawgen-test-track", virtual=True) as track:
        wait_for(lambda: opened_track(daemon),
                 what="the daemon to open the track port")
        learn = subprocess.Popen([sys.executable, "-m", "bridge", "midi", "learn", "snare", "--timeout", "20",
                                  "--config", str(tmp_path / "dawgen.toml"), "--state-dir", str(daemon.state)],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            line = ""
            while "waiting" not in line:
                line = learn.stderr.readline()
                if not line and learn.poll() is not None:
                    pytest.fail(f"learn exited early: {learn.stdout.read()} {learn.stderr.read()}")
            assert "dawgen-test-track" in line
            track_name = port_named(names.input_names(), ":dawgen-test-track")
            wait_for(lambda: len(connections().get(track_name, ())) >= 2, what="learn to connect")  # daemon + learn
            track.send(mido.Message("note_on", note=38, velocity=100, channel=1))
            out, err = learn.communicate(timeout=20)
        finally:
            if learn.poll() is None:
                learn.kill()
        assert learn.returncode == 0, err
        assert "added binding 'snare': note 38, channel 2" in out
        text = (tmp_path / "mapping.toml").read_text()
        assert text.startswith(MAPPING.rstrip("\n")) and 'params = { prompt = "snare" }' in text
        # the daemon reloads the file and the learned pad now generates a snare
        before = len(wavs(daemon.project))
        track.send(mido.Message("note_on", note=38, velocity=100, channel=1))
        new = wait_for(lambda: [p for p in wavs(daemon.project) if "snare" in p.name], what="the snare")
        assert len(wavs(daemon.project)) == before + 1 and sf.info(str(new[0])).frames > 0
    assert daemon.terminate() == 0
