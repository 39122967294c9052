"""The MIDI door on a real engine (synth, in-thread): pads make jobs, knobs steer them, LEDs follow.

The ports are a recorder of sent messages; real ports are covered by test_midi_jack.py.
"""
import itertools
import logging
import textwrap
import time

import mido
import pytest

from bridge.midi.door import MidiDoor, mapping_path
from server.config import load
from server.engine import Engine
from server.jobs import JobState
from tests.waiting import wait_until

MAPPING = """
[[bind]]
name = "kick"
note = 36
verb = "generate"
params = { prompt = "kick", seconds = 0.1 }

[[bind]]
name = "slow"
note = 37
verb = "generate"
params = { prompt = "drum loop", bars = 8, bpm = 60 }

[[bind]]
name = "decay"
cc = 21
set = "decay"
min = 0.5
max = 2.5

[[bind]]
name = "temperature"
cc = 22
set = "temperature"
max = 2.0

[[bind]]
name = "again"
note = 40
action = "regenerate"

[[bind]]
name = "cancel"
note = 41
action = "cancel"
"""


class RecordingPorts:
    def __init__(self):
        self.sent = []

    def send(self, msg):
        self.sent.append(msg)

    def close(self):
        pass


@pytest.fixture
def door(tmp_path):
    (tmp_path / "mapping.toml").write_text(MAPPING)
    (tmp_path / "dawgen.toml").write_text('[midi]\nmapping = "mapping.toml"\n')
    cfg = load(tmp_path / "dawgen.toml", {"output.root": str(tmp_path / "p"), "server.state_dir": str(tmp_path / "s"),
                                         "server.isolation": "thread"})
    engine = Engine(cfg)
    engine.start()
    # a second of "time" per message: no hit here is a bounce of the one before (debounce is tested
    # on the mapping itself)
    d = MidiDoor(cfg, engine, ports=RecordingPorts(), clock=itertools.count(0.0, 1.0).__next__)
    d.start()
    yield d
    d.stop()
    engine.stop(5)
    engine.close()


def wait_final(engine, job_id, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job, _ = engine.status(job_id)
        if job.state.finished:
            return job
        time.sleep(0.01)
    raise AssertionError("job did not finish")


def newest_job(engine) -> str:
    """The id of the job the last pad made (from the journal: it may have finished already)."""
    return engine.recent_jobs(1)[0].id


def hit(door, note, velocity=100):
    door.handle(mido.Message("note_on", note=note, velocity=velocity))


def test_mapping_path_is_relative_to_the_config_file(door, tmp_path):
    assert door.path == tmp_path / "mapping.toml" and door.active
    cfg = load(None, {"server.state_dir": str(tmp_path / "st")})
    assert mapping_path(cfg) == tmp_path / "st" / "midi-mapping.toml"


def test_a_pad_makes_a_job_and_its_led_is_lit_until_done(door):
    hit(door, 36)
    job_id = newest_job(door.engine)
    job = wait_final(door.engine, job_id)
    assert job.state is JobState.DONE and job.params["prompt"] == "kick" and job.params["seconds"] == 0.1
    assert job.outputs and all(p.endswith(".wav") for p in job.outputs)
    assert wait_until(lambda: len(door.ports.sent) == 2)
    on, off = door.ports.sent
    assert (on.type, on.note, on.velocity) == ("note_on", 36, 127)
    assert (off.type, off.note) == ("note_off", 36)
    assert door.last_outputs == job.outputs


def test_knobs_set_params_of_the_next_requests_that_accept_them(door):
    door.handle(mido.Message("control_change", control=21, value=127))  # decay 2.5
    door.handle(mido.Message("control_change", control=22, value=64))   # temperature: synth has none
    assert door.knobs == {"decay": 2.5, "temperature": pytest.approx(2 * 64 / 127, abs=1e-6)}
    hit(door, 36)
    job = wait_final(door.engine, newest_job(door.engine))
    assert job.state is JobState.DONE and job.params["decay"] == 2.5 and "temperature" not in job.params


def test_regenerate_repeats_the_last_request_with_a_new_seed(door):
    hit(door, 36)
    first = wait_final(door.engine, newest_job(door.engine))
    wait_until(lambda: not door.pending_jobs)
    hit(door, 40)
    second_id = newest_job(door.engine)
    second = wait_final(door.engine, second_id)
    assert second.state is JobState.DONE and second.id != first.id
    assert second.params["prompt"] == "kick" and second.params["seconds"] == 0.1
    assert second.params["seed"] != first.params["seed"]
    assert wait_until(lambda: [m.type for m in door.ports.sent] == ["note_on", "note_off", "note_on", "note_off"])
    assert [m.note for m in door.ports.sent[2:]] == [40, 40]  # the regenerate pad lights, not the kick's


def test_cancel_button_cancels_the_newest_running_job_and_clears_its_led(door):
    hit(door, 37)  # an 8-bar loop at 60 bpm: long enough to catch
    (job_id,) = door.pending_jobs
    hit(door, 41)
    job = wait_final(door.engine, job_id)
    assert job.state is JobState.CANCELLED
    assert wait_until(lambda: [(m.type, m.note) for m in door.ports.sent] == [("note_on", 37), ("note_off", 37)])


def test_a_refused_request_is_logged_and_the_door_keeps_working(door, caplog):
    door.handle(mido.Message("control_change", control=21, value=0))
    door.knobs["decay"] = 99.0  # out of the synth's range: the engine refuses the request
    with caplog.at_level(logging.WARNING, logger="dawgen.midi"):
        hit(door, 36)
    assert "decay" in caplog.text and not door.pending_jobs and door.ports.sent == []
    door.knobs["decay"] = 1.0
    hit(door, 36, velocity=1)
    assert wait_final(door.engine, newest_job(door.engine)).state is JobState.DONE


def test_the_mapping_file_is_reloaded_when_it_changes(door):
    hit(door, 50)
    assert not door.pending_jobs  # nothing bound yet
    text = door.path.read_text() + textwrap.dedent("""
        [[bind]]
        name = "new"
        note = 50
        verb = "generate"
        params = { prompt = "clap", seconds = 0.1 }
    """)
    door.path.write_text(text)
    import os
    os.utime(door.path, (time.time() + 5, time.time() + 5))  # a new mtime even on coarse clocks
    hit(door, 50)
    job = wait_final(door.engine, newest_job(door.engine))
    assert job.params["prompt"] == "clap"


def test_a_bad_mapping_leaves_the_door_off_with_a_clear_log(tmp_path, caplog):
    (tmp_path / "m.toml").write_text('[[bind]]\nname = "x"\nnote = 300\nverb = "generate"\n')
    cfg = load(None, {"output.root": str(tmp_path / "p"), "server.state_dir": str(tmp_path / "s"),
                      "midi.mapping": str(tmp_path / "m.toml")})
    with caplog.at_level(logging.ERROR, logger="dawgen.midi"):
        d = MidiDoor(cfg, engine=Engine(cfg), ports=RecordingPorts())
        d.start()
    assert not d.active and "MIDI front door is off" in caplog.text and "note 300 is outside 0..127" in caplog.text


def test_a_daemon_without_midi_never_imports_the_midi_or_audio_libraries(tmp_path):
    import subprocess
    import sys

    code = ("import sys; from server.config import load; from server.engine import Engine; "
            "from bridge.serve import extra_front_doors; from bridge.osc import OscServer; "
            f"cfg = load(None, {{'output.root': {str(tmp_path)!r}, 'server.state_dir': {str(tmp_path / 's')!r}}}); "
            "e = Engine(cfg); OscServer(e); extra_front_doors(cfg, e); "
            "bad = [m for m in ('mido', 'rtmidi', 'sounddevice') if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


class FakeAudio:
    def __init__(self):
        from bridge.midi.clock import BarClock

        self.calls = []
        self.clock = BarClock()
        self.clock_fed = False

    def audition(self, path=None, job=None, **kwargs):
        self.calls.append(("audition", path))

    def stop(self, what="all"):
        self.calls.append(("stop", what))

    def capture(self, spec, sink, req_id="", client=None):
        self.calls.append(("capture", spec.bars, spec.then))
        sink.captured("/x.wav", 1, 48000)


def test_audio_buttons_and_the_clock_reach_the_audio_door(tmp_path):
    (tmp_path / "m.toml").write_text(MAPPING + textwrap.dedent("""
        [[bind]]
        name = "listen"
        note = 60
        action = "audition"

        [[bind]]
        name = "quiet"
        note = 61
        action = "stop"

        [[bind]]
        name = "record"
        note = 62
        action = "capture"
        params = { bars = 2, then = "vary" }
    """))
    cfg = load(None, {"output.root": str(tmp_path / "p"), "server.state_dir": str(tmp_path / "s"),
                      "server.isolation": "thread", "midi.mapping": str(tmp_path / "m.toml")})
    engine = Engine(cfg)
    engine.start()
    audio = FakeAudio()
    d = MidiDoor(cfg, engine, ports=RecordingPorts(), audio=audio, clock=itertools.count(0.0, 1.0).__next__)
    d.start()
    try:
        assert audio.clock_fed
        hit(d, 36)
        job = wait_final(engine, newest_job(engine))
        wait_until(lambda: d.last_outputs)
        for note in (60, 61, 62):
            hit(d, note)
        assert audio.calls == [("audition", job.outputs[0]), ("stop", "all"), ("capture", 2.0, "vary")]
        # the record pad lit while capturing and went dark when the file was written
        assert [(m.type, m.note) for m in d.ports.sent if m.note == 62] == [("note_on", 62), ("note_off", 62)]
        d.handle(mido.Message("start"))
        assert audio.clock.running
    finally:
        d.stop()
        engine.stop(5)
        engine.close()
