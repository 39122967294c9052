"""The mapping is a pure function from mido messages (and the time they arrive) to actions."""
import textwrap

import mido
import pytest

from bridge.midi.mapping import Fire, Led, Mapper, MappingError, SetParam, load_mapping, note_number, parse_mapping, port_matches

try:
    import tomllib
except ImportError:  # pragma: no cover
    import tomli as tomllib


def mapping(text: str):
    return parse_mapping(tomllib.loads(textwrap.dedent(text)), "test.toml")


PADS = mapping("""
    [settings]
    debounce_ms = 50

    [[bind]]
    name = "kick"
    note = 36
    channel = 10
    verb = "generate"
    params = { prompt = "punchy kick", count = 2 }

    [[bind]]
    name = "any-channel"
    note = 38
    verb = "generate"
    params = { prompt = "snare" }

    [[bind]]
    name = "on-release"
    note = 40
    on = "release"
    action = "cancel"

    [[bind]]
    name = "wild"
    cc = 21
    set = "temperature"
    min = 0.0
    max = 2.0

    [[bind]]
    name = "steps"
    cc = 22
    set = "steps"
    min = 4
    max = 64
    integer = true

    [[bind]]
    name = "button"
    cc = 64
    threshold = 100
    action = "regenerate"

    [[bind]]
    name = "preset"
    program = 5
    verb = "generate"
    params = { prompt = "pad" }
""")


def fired(actions):
    return [(a.binding.name, a.edge) for a in actions if isinstance(a, Fire)]


def test_note_on_fires_its_template_once_per_press():
    m = Mapper(PADS)
    actions = m.feed(mido.Message("note_on", note=36, velocity=100, channel=9), now=0.0)
    assert fired(actions) == [("kick", "press")]
    binding = actions[0].binding
    assert binding.verb == "generate" and dict(binding.params) == {"prompt": "punchy kick", "count": 2}
    assert actions[0].value == 100


def test_note_off_and_velocity_zero_are_releases_not_presses():
    m = Mapper(PADS)
    assert fired(m.feed(mido.Message("note_off", note=36, channel=9), 1.0)) == []
    assert fired(m.feed(mido.Message("note_on", note=36, velocity=0, channel=9), 2.0)) == []
    # a binding that listens to releases sees both forms
    assert fired(m.feed(mido.Message("note_on", note=40, velocity=0), 3.0)) == [("on-release", "release")]
    assert fired(m.feed(mido.Message("note_off", note=40, velocity=64), 4.0)) == [("on-release", "release")]
    assert fired(m.feed(mido.Message("note_on", note=40, velocity=90), 5.0)) == []


def test_channel_filter():
    m = Mapper(PADS)
    # file channel 10 = wire channel 9
    assert fired(m.feed(mido.Message("note_on", note=36, velocity=100, channel=0), 0.0)) == []
    assert fired(m.feed(mido.Message("note_on", note=36, velocity=100, channel=10), 1.0)) == []
    assert fired(m.feed(mido.Message("note_on", note=36, velocity=100, channel=9), 2.0)) == [("kick", "press")]
    # no channel given: every channel
    for ch in (0, 5, 15):
        assert fired(m.feed(mido.Message("note_on", note=38, velocity=1, channel=ch), 10.0 + ch)) == [("any-channel", "press")]


def test_debounce_drops_a_second_hit_within_the_window_only():
    m = Mapper(PADS)
    hit = mido.Message("note_on", note=36, velocity=100, channel=9)
    assert fired(m.feed(hit, 10.000)) == [("kick", "press")]
    assert fired(m.feed(hit, 10.030)) == []       # 30 ms later: a bounce (debounce 50 ms)
    assert fired(m.feed(hit, 10.049)) == []
    assert fired(m.feed(hit, 10.100)) == [("kick", "press")]  # 70 ms after the last fire
    # another pad is not held back by the first one's window
    assert fired(m.feed(mido.Message("note_on", note=38, velocity=100), 10.101)) == [("any-channel", "press")]


def test_cc_button_fires_on_crossing_its_threshold_not_on_every_value():
    m = Mapper(PADS)
    cc = lambda v: mido.Message("control_change", control=64, value=v)  # noqa: E731
    assert fired(m.feed(cc(99), 0.0)) == []            # below 100
    assert fired(m.feed(cc(100), 1.0)) == [("button", "press")]
    assert fired(m.feed(cc(127), 2.0)) == []           # still held: no second press
    assert fired(m.feed(cc(50), 3.0)) == []            # release (binding fires on press only)
    assert fired(m.feed(cc(127), 4.0)) == [("button", "press")]


def test_knobs_map_the_cc_range_onto_the_parameter_range():
    m = Mapper(PADS)
    values = {}
    for v in (0, 64, 127):
        (action,) = m.feed(mido.Message("control_change", control=21, value=v), float(v))
        assert isinstance(action, SetParam) and action.param == "temperature"
        values[v] = action.value
    assert values[0] == 0.0 and values[127] == 2.0 and values[64] == pytest.approx(128 / 127)
    (action,) = m.feed(mido.Message("control_change", control=22, value=127), 0.0)
    assert action.value == 64 and isinstance(action.value, int)
    (action,) = m.feed(mido.Message("control_change", control=22, value=0), 0.001)  # knobs are not debounced
    assert action.value == 4


def test_program_change_and_messages_that_map_to_nothing():
    m = Mapper(PADS)
    assert fired(m.feed(mido.Message("program_change", program=5), 0.0)) == [("preset", "press")]
    assert m.feed(mido.Message("program_change", program=6), 1.0) == []
    assert m.feed(mido.Message("pitchwheel", pitch=100), 2.0) == []
    assert m.feed(mido.Message("clock"), 3.0) == []
    assert m.feed(mido.Message("note_on", note=99, velocity=100), 4.0) == []


def test_port_filter_and_name_patterns():
    m = Mapper(mapping("""
        [[bind]]
        name = "a"
        note = 36
        port = "nanoPAD*"
        verb = "generate"
    """))
    hit = mido.Message("note_on", note=36, velocity=100)
    assert fired(m.feed(hit, 0.0, port="nanoPAD2:nanoPAD2 MIDI 1 20:0")) == [("a", "press")]
    assert fired(m.feed(hit, 1.0, port="Launchpad X")) == []
    assert port_matches("nanopad", "nanoPAD2 MIDI 1") and not port_matches("nano*", "my nanoPAD")
    assert port_matches("", "anything")


def test_led_defaults_to_the_pad_that_was_hit():
    by_name = {b.name: b for b in PADS.bindings}
    assert by_name["kick"].led == Led("note", 36, 9, 127)
    assert by_name["button"].led == Led("cc", 64, 0, 127)
    assert by_name["wild"].led is None and by_name["preset"].led is None
    m = mapping("""
        [settings]
        feedback = false
        [[bind]]
        name = "p"
        program = 1
        led_note = 44
        led_channel = 2
        led_on = 5
        verb = "generate"
    """)
    assert m.bindings[0].led == Led("note", 44, 1, 5) and m.feedback is False


def test_note_names():
    assert note_number("C4", "x") == 60 and note_number("C1", "x") == 24 and note_number("F#1", "x") == 30
    assert note_number("Bb2", "x") == 46 and note_number(36, "x") == 36
    with pytest.raises(MappingError):
        note_number("H2", "x")
    with pytest.raises(MappingError):
        note_number(128, "x")


@pytest.mark.parametrize("body, words", [
    ('name = "a"\nverb = "generate"', "exactly one of note, cc, program"),
    ('name = "a"\nnote = 1\ncc = 2\nverb = "generate"', "exactly one of note, cc, program"),
    ('note = 1\nverb = "generate"', "name is required"),
    ('name = "a"\nnote = 1', "needs verb"),
    ('name = "a"\nnote = 1\nset = "temperature"', "needs a cc"),
    ('name = "a"\nnote = 1\nchannel = 17\nverb = "generate"', "channel: 17 is not an integer in 1..16"),
    ('name = "a"\nnote = 1\nverbb = "generate"', "verbb: unknown key"),
    ('name = "a"\nnote = 1\naction = "explode"', "is not one of"),
    ('name = "a"\nnote = 1\non = "hold"\nverb = "generate"', "on: 'hold' is not one of"),
    ('name = "a"\nnote = "C4"\nverb = "generate"\nparams = { prompt = ["x"] }', "params: values must be"),
])
def test_mapping_errors_name_the_binding_and_key(body, words):
    with pytest.raises(MappingError) as info:
        mapping("[[bind]]\n" + body)
    assert words in str(info.value) and "test.toml: bind #1" in str(info.value)


def test_duplicate_names_and_unknown_sections_are_errors(tmp_path):
    with pytest.raises(MappingError, match="used twice"):
        mapping('[[bind]]\nname = "a"\nnote = 1\nverb = "g"\n[[bind]]\nname = "a"\nnote = 2\nverb = "g"')
    with pytest.raises(MappingError, match="unknown section"):
        mapping('[bindings]\nx = 1')
    bad = tmp_path / "m.toml"
    bad.write_text("[[bind]\n")
    with pytest.raises(MappingError, match="not valid TOML"):
        load_mapping(bad)
    assert load_mapping(tmp_path / "missing.toml").bindings == ()
