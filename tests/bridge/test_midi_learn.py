"""Learn mode edits the user's mapping file: the binding changes, nothing else does, atomically."""
import os

import mido
import pytest

from bridge.midi.learn import learn, learn_text, trigger_of, write_atomic
from bridge.midi.mapping import Mapper, MappingError, load_mapping

USER_FILE = """# my nanoPAD
[settings]
debounce_ms = 40   # my pads bounce

[[bind]]
name = "kick"      # the big pad
note = 36
channel = 10
verb = "generate"
params = { prompt = "punchy kick" }

[[bind]]
name = "wild"
cc = 21
set = "temperature"
max = 2.0
"""


def test_trigger_of_messages():
    assert trigger_of(mido.Message("note_on", note=40, velocity=3, channel=2)) == {"note": 40, "channel": 3}
    assert trigger_of(mido.Message("control_change", control=7, value=0)) == {"cc": 7, "channel": 1}
    assert trigger_of(mido.Message("program_change", program=9, channel=15)) == {"program": 9, "channel": 16}
    for msg in (mido.Message("note_on", note=40, velocity=0), mido.Message("note_off", note=40),
                mido.Message("clock"), mido.Message("pitchwheel")):
        assert trigger_of(msg) is None


def test_relearning_an_existing_binding_rewrites_only_its_trigger(tmp_path):
    path = tmp_path / "m.toml"
    path.write_text(USER_FILE)
    trigger, created = learn(path, "kick", mido.Message("note_on", note=48, velocity=100, channel=0))
    assert not created and trigger == {"note": 48, "channel": 1}
    text = path.read_text()
    assert "# my nanoPAD" in text and "# my pads bounce" in text and "# the big pad" in text
    assert "note = 36" not in text and "channel = 10" not in text
    kick = {b.name: b for b in load_mapping(path).bindings}["kick"]
    assert (kick.kind, kick.number, kick.channel, kick.verb, dict(kick.params)) == \
        ("note", 48, 0, "generate", {"prompt": "punchy kick"})
    # the relearned pad now triggers, the old one does not
    m = Mapper(load_mapping(path))
    assert [a.binding.name for a in m.feed(mido.Message("note_on", note=48, velocity=9), 0.0)] == ["kick"]
    assert m.feed(mido.Message("note_on", note=36, velocity=9, channel=9), 1.0) == []


def test_learning_a_new_name_appends_a_binding(tmp_path):
    path = tmp_path / "m.toml"
    path.write_text(USER_FILE)
    _, created = learn(path, "dark 808", mido.Message("note_on", note=37, velocity=1, channel=9))
    assert created
    _, created = learn(path, "tone", mido.Message("control_change", control=74, value=3))
    assert created
    by_name = {b.name: b for b in load_mapping(path).bindings}
    assert list(by_name) == ["kick", "wild", "dark 808", "tone"]
    assert by_name["dark 808"].verb == "generate" and dict(by_name["dark 808"].params) == {"prompt": "dark 808"}
    assert (by_name["tone"].action, by_name["tone"].param, by_name["tone"].number) == ("set", "tone", 74)
    assert path.read_text().startswith(USER_FILE.rstrip("\n"))


def test_learning_into_a_missing_file_creates_it(tmp_path):
    path = tmp_path / "sub" / "mapping.toml"
    learn(path, 'quote " and \\ name', mido.Message("program_change", program=3))
    (b,) = load_mapping(path).bindings
    assert b.name == 'quote " and \\ name' and b.kind == "program" and b.number == 3


def test_a_broken_file_is_not_touched(tmp_path):
    path = tmp_path / "m.toml"
    path.write_text("[[bind]\nname = 'x'\n")
    before = path.read_bytes()
    with pytest.raises(MappingError, match="not valid TOML"):
        learn(path, "x", mido.Message("note_on", note=1, velocity=1))
    assert path.read_bytes() == before


def test_an_unusual_layout_is_refused_rather_than_guessed():
    # the binding is written as an inline array, not [[bind]] tables: text editing cannot find it
    text = 'bind = [ { name = "kick", note = 36, verb = "generate" } ]\n'
    with pytest.raises(MappingError, match="by hand"):
        learn_text(text, "kick", {"note": 40, "channel": 1})


def test_write_atomic_leaves_no_temporary_file_and_keeps_the_mode(tmp_path):
    path = tmp_path / "m.toml"
    path.write_text("old")
    os.chmod(path, 0o640)
    write_atomic(path, "new")
    assert path.read_text() == "new" and (path.stat().st_mode & 0o777) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["m.toml"]
