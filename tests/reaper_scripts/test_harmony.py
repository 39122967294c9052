"""The REAPER harmony actions (issue #26) against a real daemon and the built-in `midi` model, through
the path they take inside REAPER (harness.lua: the fake project, a real /bin/sh running `dawgen send`):
the selected MIDI item written as a .mid the daemon reads, results inserted below it with their chord
symbols as take markers, a trio split into three items."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.reaper_scripts.test_integration import LUA, run_action, sent_params

pytestmark = pytest.mark.skipif(LUA is None, reason="lua5.4 is not installed (`make test-deps` installs it)")

BARS_2 = 2 * 4 * 60 / 93  # the harness's time selection: 2 bars of 4/4 at 93 bpm


def skip_without_harmony_engine() -> None:
    """Skip (saying why) while the tree has no harmony engine or no shipped weights for it: these tests
    run the real built-in `midi` model, never a stand-in."""
    pytest.importorskip("torch", reason="torch is not installed (make test installs it)")
    pytest.importorskip("server.backends.midi.harmony.verbs", reason="the harmony engine (issue #26) has not landed")
    from server.backends.midi.store import MODEL_KINDS, SHIPPED, read_index

    missing = sorted(set(MODEL_KINDS) - set(read_index(SHIPPED)["models"]))
    if missing:
        pytest.skip(f"the built-in midi model ships no weights for {', '.join(missing)} yet")


@pytest.fixture
def engine():
    skip_without_harmony_engine()
    return pytest.importorskip("mido")


def markers(path: str) -> list[str]:
    import mido

    return [m.text for t in mido.MidiFile(path).tracks for m in t if m.type == "marker"]


def spool_files(tmp_path: Path) -> list[Path]:
    return [p for p in (tmp_path / "reaper-resource" / "Data" / "dawgen-jobs").rglob("*") if p.is_file()]


def test_chords_from_symbols_land_at_the_cursor_with_take_markers(engine, daemon, tmp_path):
    facts = run_action(tmp_path, "harmony", port=str(daemon.port), project=str(daemon.project),
                       answers="chords|C|Dm7 G7 Cmaj7 Cmaj7|bar|seventh|0.5|1|5")
    params = sent_params(facts["ARGV"][0])
    assert (params["kind"], params["chords"], params["bars"], params["voicing"]) == ("chords", "Dm7 G7 Cmaj7 Cmaj7", "2", "seventh")
    assert "BOX" not in facts, facts.get("BOX")
    [(path, track, position, _depth)] = facts["INSERT"]
    assert path.endswith(".mid") and track == "Bass" and float(position) == 10.0
    assert engine.MidiFile(path).length == pytest.approx(BARS_2, abs=1e-3)
    assert markers(path) == ["Dm7", "G7"], "the symbols, cut to the 2 bars"
    assert [(m[1], float(m[2])) for m in facts["MARKER"]] == [("Dm7", 0.0), ("G7", pytest.approx(4 * 60 / 93, abs=1e-6))]


def test_harmonize_sends_the_item_and_puts_chords_below_it(engine, daemon, tmp_path):
    facts = run_action(tmp_path, "harmonize", port=str(daemon.port), project=str(daemon.project), midi_item="melody",
                       answers="||triad|0.5|1|3")
    params = sent_params(facts["ARGV"][0])
    assert params["input"].endswith("/song-melody.mid") and params["bpm"] == "93"
    assert "BOX" not in facts, facts.get("BOX")
    [(path, track, position, _depth)] = facts["INSERT"]
    assert track == "Song melody chords" and float(position) == 4.0
    assert engine.MidiFile(path).length == pytest.approx(BARS_2, abs=1e-3), "as long as the item"
    symbols = markers(path)
    assert symbols and [m[1] for m in facts["MARKER"]] == symbols
    assert not spool_files(tmp_path), "the written item and the spool are gone"


def test_bass_line_over_a_chord_item(engine, daemon, tmp_path):
    facts = run_action(tmp_path, "bassline", port=str(daemon.port), project=str(daemon.project), midi_item="chords",
                       answers="0.5|1|1|7")
    assert "BOX" not in facts, facts.get("BOX")
    [(path, track, position, _depth)] = facts["INSERT"]
    assert track == "Song chords bass" and float(position) == 4.0
    notes = [m for t in engine.MidiFile(path).tracks for m in t if m.type == "note_on" and m.velocity]
    assert notes


def test_melody_over_a_chord_item(engine, daemon, tmp_path):
    facts = run_action(tmp_path, "improvise", port=str(daemon.port), project=str(daemon.project), midi_item="chords",
                       answers="0.5|1|1|7")
    assert "BOX" not in facts, facts.get("BOX")
    [(path, track, _position, _depth)] = facts["INSERT"]
    assert track == "Song chords melody" and Path(path).is_file()


def test_trio_becomes_a_folder_of_three_parts(engine, daemon, tmp_path):
    facts = run_action(tmp_path, "trio", port=str(daemon.port), project=str(daemon.project), answers="C||bar|0.5|1|4")
    assert sent_params(facts["ARGV"][0])["kind"] == "trio"
    assert "BOX" not in facts, facts.get("BOX")
    tracks = [t[0] for t in facts["TRACK"]]
    assert tracks[:3] == ["Drums", "Bass", "dawgen trio"]
    assert [t.lower() for t in tracks[3:6]] == ["melody", "bass", "drums"], "named as the file's tracks"
    parts = facts["INSERT"]
    assert [p[1] for p in parts] == tracks[3:6]
    for path, *_ in parts:
        midi = engine.MidiFile(path)
        assert len(midi.tracks) == 2 and midi.length == pytest.approx(BARS_2, abs=1e-3)
    drums = engine.MidiFile(parts[2][0])
    assert {m.channel for m in drums.tracks[1] if m.type == "note_on"} == {9}, "drums on channel 10"
