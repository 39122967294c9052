"""The harmony verbs (issue #26) through a real `dawgen serve` over OSC, on the shipped weights: a
trio and a harmonisation written with chord markers and sidecars, made again bit for bit from the
provenance (what `dawgen regen` sends), an audio preview, and an empty chord clip refused."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bridge.client import ClientError
from bridge.regen import load_provenance, request_from
from tests.conftest import DaemonProcess

TIMEOUT = 90


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    pytest.importorskip("torch", reason="torch is not installed (make test installs it)")
    pytest.importorskip("mido")
    proc = DaemonProcess(tmp_path_factory.mktemp("harmony-daemon")).start()  # the built-in midi model
    yield proc
    proc.terminate()


def gen(client, verb: str, **params) -> list[Path]:
    return [Path(p) for p in client.generate({"model": "midi", **params}, verb=verb, timeout=TIMEOUT)]


def markers(path: Path) -> list[str]:
    import mido

    return [m.text for m in mido.MidiFile(path).tracks[0] if m.type == "marker"]


def test_trio_then_bassline_over_its_chords_and_regen(daemon, client):
    import mido

    (trio,) = gen(client, "midi/generate", kind="trio", bars=4, bpm=110, key="Am", seed=4)
    mf = mido.MidiFile(trio)
    names = [m.name for tr in mf.tracks[1:] for m in tr if m.type == "track_name"]
    assert mf.type == 1 and names == ["Melody", "Bass", "Drums"]
    assert mf.length == pytest.approx(4 * 4 * 60 / 110, abs=1e-3)
    drums = {m.channel for m in mf.tracks[3] if m.type == "note_on"}
    assert drums == {9}
    side = json.loads(trio.with_suffix(".json").read_text())
    assert [c["symbol"] for c in side["meta"]["chords"]] == markers(trio) and markers(trio)

    (bass,) = gen(client, "midi/bassline", chords="Dm7 G7 Cmaj7 Cmaj7", bpm=90, seed=2)
    assert markers(bass) == ["Dm7", "G7", "Cmaj7"]
    assert mido.MidiFile(bass).length == pytest.approx(4 * 4 * 60 / 90, abs=1e-3)

    verb, params = request_from(load_provenance(trio))
    (again,) = [Path(p) for p in client.generate({**params, "dir": "again"}, verb=verb, timeout=TIMEOUT)]
    assert verb == "midi/generate" and again != trio and again.read_bytes() == trio.read_bytes()


def test_harmonize_a_melody_with_a_preview_and_refuse_an_empty_chord_clip(daemon, client, tmp_path):
    import mido

    (mel,) = gen(client, "midi/generate", kind="melody", bars=2, bpm=100, key="G", seed=3)
    preview = shutil.which("fluidsynth") is not None
    (satb,) = gen(client, "midi/harmonize", input=str(mel), voices=4, seed=1, preview_audio=preview)
    assert mido.MidiFile(satb).length == pytest.approx(mido.MidiFile(mel).length, abs=1e-3)
    assert len(markers(satb)) >= 2
    if preview:
        assert satb.with_suffix(".wav").is_file()
    empty = tmp_path / "empty.mid"
    mf = mido.MidiFile(type=1)
    mf.tracks.append(mido.MidiTrack([mido.MetaMessage("end_of_track", time=1920)]))
    mf.save(str(empty))
    with pytest.raises(ClientError) as err:
        gen(client, "midi/improvise", input=str(empty))
    assert err.value.code == "bad_request" and "has no notes" in err.value.message
