"""Audio in/out without a sound card: the arithmetic, device choice, the chain, and the capture /
audition flow over a stand-in for sounddevice. Real devices: test_audio_io_jack.py."""
import json
import threading

import numpy as np
import pytest
import soundfile as sf

from bridge import audio_io
from bridge.audio_devices import Device, pick_device
from bridge.audio_io import AudioDoor, CaptureSink, CaptureSpec, capture_seconds, chained_request, frames_for
from server.config import load
from server.engine import Engine
from server.errors import DawgenError
from server.jobs import JobState
from tests.waiting import wait_until

from .audio_helpers import ECHO_CONFIG, FakeDevices, FakeInputStream, FakeSoundDevice, register_echo


def test_bars_at_a_tempo_and_seconds():
    assert capture_seconds(None, 4, 120) == 8.0
    assert capture_seconds(None, 1, 90, beats_per_bar=3) == 2.0
    assert capture_seconds(None, 2, None) == 4.0  # no tempo: 120
    assert capture_seconds(2.5, None, 140) == 2.5
    for seconds, bars in ((None, None), (1.0, 2.0)):
        with pytest.raises(DawgenError) as info:
            capture_seconds(seconds, bars, 120)
        assert info.value.code == "bad_request" and "seconds or bars" in info.value.message


def test_frames_are_whole_and_do_not_drift():
    assert frames_for(8.0, 48000) == 384000
    assert frames_for(capture_seconds(None, 1, 123), 44100) == round(4 * 60 / 123 * 44100)  # 86049.
    assert frames_for(1 / 3, 48000) == 16000


def test_capture_spec_and_the_chained_request():
    spec = CaptureSpec.from_params({"bars": 2, "bpm": 100, "then": "vary", "then_params": '{"strength": 0.3}',
                                    "start": "now", "beats_per_bar": 4, "name": "capture", "dir": ""})
    request = chained_request(spec, "/root/p/capture.wav", "r7", {"udp": ["127.0.0.1", 9951]})
    assert request.verb == "vary" and request.req_id == "r7.then"
    assert request.params == {"strength": 0.3, "input": "/root/p/capture.wav"}
    assert request.client == {"udp": ["127.0.0.1", 9951]}
    assert chained_request(CaptureSpec(seconds=1), "/x.wav", "r", {}) is None
    for params, words in (({"seconds": 1, "then_params": "{"}, "not valid JSON"),
                          ({"seconds": 1, "then": "vary", "then_params": "[1]"}, "must be a JSON object"),
                          ({"seconds": 1, "then": "vary", "then_params": '{"input": "/etc/x"}'}, "leave it out"),
                          ({"seconds": 1, "then_params": '{"a": 1}'}, "without then")):
        with pytest.raises(DawgenError, match=words):
            CaptureSpec.from_params(params)


DEVICES = [Device(0, "Built-in Microphone", "Core Audio", 2, 0, 44100.0),
           Device(1, "Built-in Output", "Core Audio", 0, 2, 44100.0),
           Device(2, "BlackHole 16ch", "Core Audio", 16, 16, 48000.0),
           Device(3, "system", "JACK Audio Connection Kit", 2, 2, 48000.0)]


def test_devices_by_pattern_host_api_and_default():
    assert pick_device(DEVICES, "input", "blackhole").index == 2
    assert pick_device(DEVICES, "input", "Black*16ch").index == 2
    assert pick_device(DEVICES, "output", "", defaults={"output": 1}).index == 1
    assert pick_device(DEVICES, "input", "", hostapi="jack").index == 3
    assert pick_device(DEVICES, "output", "", defaults={"output": -1}).index == 1  # no default: first that can
    with pytest.raises(DawgenError) as info:
        pick_device(DEVICES, "input", "Loopback*")
    assert info.value.code == "device_unavailable"
    assert "'Built-in Microphone' (Core Audio)" in info.value.message and "Loopback*" in info.value.message
    assert "'Built-in Output'" not in info.value.message  # not an input
    with pytest.raises(DawgenError, match="on host API 'ASIO'"):
        pick_device(DEVICES, "output", "", hostapi="ASIO")


@pytest.fixture
def door(tmp_path, monkeypatch):
    register_echo(monkeypatch)
    monkeypatch.setattr(audio_io, "load_sounddevice", lambda: FakeSoundDevice)
    (tmp_path / "c.toml").write_text(ECHO_CONFIG)
    cfg = load(tmp_path / "c.toml", {"output.root": str(tmp_path / "p"), "server.state_dir": str(tmp_path / "s"),
                                     "server.isolation": "thread"})
    engine = Engine(cfg)
    engine.start()
    yield AudioDoor(engine, devices=FakeDevices())
    engine.stop(5)
    engine.close()


class Sink:
    def __init__(self):
        self.events = []
        self.finished = threading.Event()

    def make(self):
        def note(kind, last=False):
            def record(*args):
                self.events.append((kind, *args))
                if last:
                    self.finished.set()
            return record
        return CaptureSink(accepted=note("accepted"), captured=note("captured"), failed=note("failed", True),
                           chained=note("chained", True), chain_failed=note("chain_failed", True))


def test_capture_writes_exactly_the_asked_frames_and_the_chain_runs_on_it(door, tmp_path):
    sink = Sink()
    spec = CaptureSpec(bars=0.5, bpm=240, then="vary", then_params={"model": "echo", "strength": 0.2})
    seconds, rate, device = door.capture(spec, sink.make(), "cap1", {"midi": "x"})
    assert (seconds, rate, device) == (0.5, 48000, "fake loopback")
    assert sink.finished.wait(10), sink.events
    kinds = [e[0] for e in sink.events]
    assert kinds == ["accepted", "captured", "chained"]
    _, path, frames, rate = sink.events[1]
    assert frames == 24000 and rate == 48000
    data, file_rate = sf.read(path, dtype="float32", always_2d=True)
    assert data.shape == (24000, 2) and file_rate == 48000
    ramp = (np.arange(24000) % 1000) / 1000.0  # what the stand-in delivered, in order, to 24-bit precision
    assert np.allclose(data[:, 0], ramp, atol=1e-6)
    assert path.startswith(str(tmp_path / "p" / "dawgen")) and "capture_0.5bars-" in path
    sidecar = json.loads(open(path[:-4] + ".json").read())
    assert sidecar["bars"] == 0.5 and sidecar["bpm"] == 240 and sidecar["frames"] == 24000
    _, chain_id, job, _ = sink.events[2]
    assert chain_id == "cap1.then" and job.verb == "vary" and job.params["input"] == path
    wait_until(lambda: door.engine.status(job.id)[0].state.finished, what="the chained job to finish")
    done = door.engine.status(job.id)[0]
    assert done.state is JobState.DONE and done.outputs and done.client == {"midi": "x"}


def test_a_chain_to_a_verb_no_model_does_reports_the_engines_error(door):
    sink = Sink()
    door.capture(CaptureSpec(seconds=0.05, then="separate"), sink.make(), "cap2")
    assert sink.finished.wait(10)
    assert [e[0] for e in sink.events] == ["accepted", "captured", "chain_failed"]
    assert sink.events[2][1:3] == ("cap2.then", "unknown_verb")


def test_stop_during_a_capture_writes_nothing(door, tmp_path):
    sink = Sink()
    FakeSoundDevice.gate.clear()  # the stand-in delivers nothing until the gate opens: mid-capture
    try:
        door.capture(CaptureSpec(seconds=2), sink.make(), "long")
        with pytest.raises(DawgenError, match="already running"):
            door.capture(CaptureSpec(seconds=1), Sink().make(), "second")
        wait_until(lambda: door.recording, timeout=5, what="the recording to start")
        assert door.stop("capture") == (False, True)
    finally:
        FakeSoundDevice.gate.set()
    assert sink.finished.wait(10)
    assert sink.events[-1][:2] == ("failed", "cancelled")
    assert not list((tmp_path / "p").rglob("*.wav"))


def test_bad_requests_are_refused_before_recording(door):
    with pytest.raises(DawgenError) as info:
        door.capture(CaptureSpec(seconds=1, dir="../out"), Sink().make())
    assert info.value.code == "out_of_root"
    with pytest.raises(DawgenError, match="MIDI clock"):
        door.capture(CaptureSpec(seconds=1, start="bar"), Sink().make())


def test_audition_plays_to_the_end_or_until_stopped(door, tmp_path):
    path = tmp_path / "p" / "tone.wav"
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, np.zeros((4800, 1), dtype=np.float32), 48000)
    ended = []
    done = threading.Event()
    played, seconds = door.audition(str(path), on_end=lambda p, how: (ended.append(how), done.set()))
    assert played == str(path) and seconds == pytest.approx(0.1)
    assert done.wait(10) and ended == ["finished"]

    FakeSoundDevice.gate.clear()  # hold the next playback mid-way
    try:
        done.clear()
        door.audition("tone.wav", on_end=lambda p, how: (ended.append(how), done.set()))  # relative to the root
        assert door.stop("audition") == (True, False)
    finally:
        FakeSoundDevice.gate.set()
    assert done.wait(10) and ended == ["finished", "stopped"]


def test_audition_errors(door, tmp_path):
    with pytest.raises(DawgenError) as info:
        door.audition("missing.wav")
    assert info.value.code == "not_found"
    with pytest.raises(DawgenError, match="no audio output of any finished job"):
        door.audition()
    bad = tmp_path / "p" / "notes.txt"
    bad.parent.mkdir(parents=True, exist_ok=True)
    bad.write_text("not audio")
    with pytest.raises(DawgenError) as info:
        door.audition(str(bad))
    assert info.value.code == "bad_request"


def test_start_bar_waits_for_the_midi_clocks_next_bar_and_takes_its_tempo(door):
    import mido

    clock = door.clock
    door.clock_fed = True  # as when the MIDI door runs
    step = 60.0 / 150 / 24  # ticks at 150 bpm
    clock.feed(mido.Message("start"), 0.0)
    for i in range(30):  # into the first bar: the tempo is known now
        clock.feed(mido.Message("clock"), i * step)
    sink = Sink()
    seconds, _, _ = door.capture(CaptureSpec(bars=0.25, start="bar"), sink.make(), "bar1")
    assert seconds == pytest.approx(0.4)  # a quarter bar at the clock's 150 bpm
    wait_until(lambda: clock.waiting, timeout=5, what="the capture to wait for the bar line")
    for i in range(30, 95):  # ticks 30..94: still bar 1
        clock.feed(mido.Message("clock"), i * step)
    assert [e[0] for e in sink.events] == ["accepted"] and not door.recording and door.capturing
    clock.feed(mido.Message("clock"), 95 * step)
    clock.feed(mido.Message("clock"), 96 * step)  # the bar line of bar 2
    wait_until(lambda: len(sink.events) >= 2, timeout=5, what="the capture to end")
    assert sink.events[1][0] == "captured" and sink.events[1][2] == 19200


def test_devices_without_the_extras_say_what_to_install(monkeypatch, capsys):
    import io

    from bridge import devices
    from bridge.audio_devices import AudioUnavailable
    from bridge.midi import ports

    def no_audio():
        raise AudioUnavailable("audio needs sounddevice: install the optional extra 'audio'")

    def no_midi(name=""):
        raise ports.MidiUnavailable("MIDI needs mido: install the optional extra 'midi'")

    monkeypatch.setattr(devices, "load_sounddevice", no_audio)
    monkeypatch.setattr(ports, "load_backend", no_midi)
    out = io.StringIO()
    assert devices.run_devices(load(None), out=out) == 0  # nothing configured: nothing missing
    text = out.getvalue()
    assert "unavailable: audio needs sounddevice" in text and "unavailable: MIDI needs mido" in text
    out = io.StringIO()
    assert devices.run_devices(load(None, {"midi.inputs": ["x"]}), out=out) == 1  # [midi] asked for, no mido
    assert "✗ MIDI needs mido" in out.getvalue()


def test_a_resent_osc_capture_is_answered_again_and_records_once(door):
    from pythonosc.osc_message import OscMessage

    from bridge import protocol as proto
    from bridge.audio_osc import AudioVerbs
    from server.params import validate

    sent = []
    verbs = AudioVerbs(door.engine, lambda dest, data: sent.append(OscMessage(data)), door=door)
    params = validate(proto.CONTROL_VERBS["capture"], {"seconds": 0.05}, "capture")
    request = proto.ParsedRequest("capture", "r1", params)
    verbs.handlers()["capture"](request, ("udp", ("127.0.0.1", 9)))
    wait_until(lambda: len(sent) >= 2, what="/dawgen/captured")
    verbs.handlers()["capture"](request, ("udp", ("127.0.0.1", 9)))  # the same packet again
    assert [m.address for m in sent] == ["/dawgen/recording", "/dawgen/captured", "/dawgen/recording"]
    assert sent[0].params == sent[2].params == ["r1", pytest.approx(0.05), 48000, "fake loopback"]
    assert not door.capturing  # the resend started no second recording
    other = proto.ParsedRequest("capture", "r1", dict(params, seconds=1.0))
    with pytest.raises(DawgenError) as info:
        verbs.handlers()["capture"](other, ("udp", ("127.0.0.1", 9)))
    assert info.value.code == "duplicate_id"


class _CountingSoundDevice(FakeSoundDevice):
    """A fake that also counts re-initialisations, as DeviceSet's refresh makes them."""

    reinits = 0

    @classmethod
    def _terminate(cls):
        cls.reinits += 1

    @classmethod
    def _initialize(cls):
        pass


def test_portaudio_is_not_reinitialised_while_a_stream_is_open():
    from bridge import audio_devices
    from bridge.audio_streams import Recording

    sd = _CountingSoundDevice
    before = audio_devices.open_streams()
    recording = Recording(sd, Device(3, "fake loopback", "Test API", 2, 2, 48000.0), 2, 48000, 1024)
    assert audio_devices.open_streams() == before + 1  # counted from the open, before anybody starts it
    assert audio_devices._refresh(sd) is False and sd.reinits == 0  # would free it under its callback
    recording.close()
    recording.close()  # a second close is a no-op, counted once
    assert audio_devices.open_streams() == before
    assert audio_devices._refresh(sd) is True and sd.reinits == 1


class _StreamThatWillNotStart(FakeInputStream):
    def start(self):
        raise RuntimeError("Error starting stream: Device unavailable [PaErrorCode -9985]")


class _BrokenInput(FakeSoundDevice):
    InputStream = _StreamThatWillNotStart


def test_a_stream_that_fails_to_start_is_closed_and_the_capture_fails_clearly(door, monkeypatch):
    from bridge import audio_devices

    monkeypatch.setattr(audio_io, "load_sounddevice", lambda: _BrokenInput)
    before = audio_devices.open_streams()
    sink = Sink()
    door.capture(CaptureSpec(seconds=0.1), sink.make(), "c1")
    assert sink.finished.wait(10), sink.events
    assert sink.events[-1][0] == "failed" and sink.events[-1][1] == "device_unavailable"
    assert "Device unavailable" in sink.events[-1][2]
    assert audio_devices.open_streams() == before and not door.capturing
