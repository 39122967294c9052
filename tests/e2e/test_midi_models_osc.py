"""The midi models through a real `dawgen serve` over OSC, on the shipped weights: the daemon's model
process loads the built-in `midi` model (no config needed) and writes `.mid` files with sidecars."""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from bridge.client import ClientError
from tests.conftest import DaemonProcess

TIMEOUT = 90


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    pytest.importorskip("torch", reason="torch is not installed (make test installs it)")
    mido = pytest.importorskip("mido")
    del mido
    proc = DaemonProcess(tmp_path_factory.mktemp("midi-daemon")).start()  # the built-in model, no config
    yield proc
    proc.terminate()


def gen(client, verb: str, **params) -> list[Path]:
    return [Path(p) for p in client.generate({"model": "midi", **params}, verb=verb, timeout=TIMEOUT)]


def test_generate_drums_and_melody_then_continue(daemon, client):
    import mido

    (drums,) = gen(client, "midi/generate", kind="drums", bars=8, bpm=120, seed=5)
    assert drums.name == "drums_5_120bpm_8bars.mid"
    assert drums.parent == daemon.project / "dawgen" / time.strftime("%Y-%m-%d")
    mf = mido.MidiFile(drums)
    assert mf.type == 1 and mf.length == pytest.approx(16.0, abs=1e-3)
    assert {m.channel for tr in mf.tracks for m in tr if m.type == "note_on"} == {9}
    side = json.loads(drums.with_suffix(".json").read_text())
    assert side["file_format"] == "mid" and side["seed"] == 5 and side["model"]["backend"] == "midi"

    melodies = gen(client, "midi/generate", kind="melody", bars=4, bpm=90, key="Dm", scale="dorian", seed=7, count=2)
    assert [p.name for p in melodies] == ["melody_7_90bpm_dm_4bars.mid", "melody_8_90bpm_dm_4bars.mid"]
    for p in melodies:
        assert mido.MidiFile(p).length == pytest.approx(4 * 4 * 60 / 90, abs=1e-3)
        pcs = [m.note % 12 for tr in mido.MidiFile(p).tracks for m in tr if m.type == "note_on" and m.velocity]
        assert sum(pc in {2, 4, 5, 7, 9, 11, 0} for pc in pcs) / len(pcs) >= 0.9

    (cont,) = gen(client, "midi/continue", input=str(melodies[0]), bars=2, seed=1)
    assert cont.name == "melody-7-90bpm-dm-4bars_continued_1.mid"  # the input stem, slugified
    before = [(m.type, m.note, m.velocity) for m in mido.MidiFile(melodies[0]).tracks[1] if m.type.startswith("note")]
    after = [(m.type, m.note, m.velocity) for m in mido.MidiFile(cont).tracks[1] if m.type.startswith("note")]
    assert after[: len(before)] == before and len(after) > len(before)
    assert mido.MidiFile(cont).length == pytest.approx(6 * 4 * 60 / 90, abs=1e-3)


def test_no_model_named_goes_to_the_builtin_midi_model_with_an_audio_preview(daemon, client):
    import shutil

    import soundfile as sf

    if shutil.which("fluidsynth") is None:
        pytest.skip("fluidsynth is not installed (make test installs it)")
    paths = client.generate({"kind": "drums", "bars": 2, "bpm": 120, "seed": 9, "preview_audio": True},
                            verb="midi/generate", timeout=TIMEOUT)  # the default model (synth) makes no MIDI
    mid = Path(paths[0])
    wav = mid.with_suffix(".wav")
    assert mid.suffix == ".mid" and wav.is_file()
    audio, rate = sf.read(wav)
    assert rate == 48000 and abs(audio).max() > 0.01  # the drums are heard
    assert json.loads(mid.with_suffix(".json").read_text())["model"]["name"] == "midi"
    with pytest.raises(ClientError) as err:
        client.generate({"kind": "drums", "loudness": -14}, verb="midi/generate", timeout=TIMEOUT)
    assert err.value.code == "bad_request" and "loudness" in err.value.message  # no audio params on MIDI


def test_drumify_groove_and_interpolate(daemon, client):
    (drums,) = gen(client, "midi/generate", kind="drums", bars=2, bpm=100, seed=2)
    (mel,) = gen(client, "midi/generate", kind="melody", bars=2, bpm=100, seed=3)
    assert len(gen(client, "midi/drumify", input=str(mel), seed=1)) == 1
    assert len(gen(client, "midi/groove", input=str(drums), amount=0.5)) == 1
    (other,) = gen(client, "midi/generate", kind="drums", bars=2, bpm=100, seed=9)
    assert len(gen(client, "midi/interpolate", input=str(drums), input2=str(other), steps=3)) == 3


def test_a_missing_input_is_a_bad_request(daemon, client, tmp_path):
    with pytest.raises(ClientError) as err:
        gen(client, "midi/continue", input=str(tmp_path / "nope.mid"))
    assert err.value.code == "bad_request" and "no file" in err.value.message
