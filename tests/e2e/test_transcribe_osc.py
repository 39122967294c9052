"""`transcribe` through a real `dawgen serve` over OSC: basic-pitch's ONNX model from the installed
wheel, named in a config file and loaded by the daemon's model process; MIDI plus its audio preview."""
from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from bridge.client import ClientError
from tests.conftest import DaemonProcess
from tests.server.backends.test_transcribe import ARPEGGIO, ONSETS, notes_of, write_arpeggio  # skips without the extra

mido = pytest.importorskip("mido")

TIMEOUT = 60


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    proc = DaemonProcess(tmp_path_factory.mktemp("transcribe-daemon"),
                         config_text='[models.transcribe]\nbackend = "transcribe"\n').start()
    yield proc
    proc.terminate()


@pytest.fixture(scope="module")
def riff(tmp_path_factory) -> Path:
    return write_arpeggio(tmp_path_factory.mktemp("inputs") / "Guitar Riff.wav")


def test_transcribe_writes_a_named_type_1_midi_file(daemon, client, riff):
    seen: list[str] = []
    ack = client.call("transcribe", {"model": "transcribe", "input": str(riff), "bpm": 100})
    paths = [Path(p) for p in client.wait(str(ack.args[1]), timeout=TIMEOUT,
                                            on_progress=lambda f, s, eta: seen.append(s))]
    assert [p.name for p in paths] == ["guitar-riff_transcribed.mid"]
    assert paths[0].parent == daemon.project / "dawgen" / time.strftime("%Y-%m-%d")
    midi = mido.MidiFile(paths[0])
    assert midi.type == 1 and midi.tracks[1].name == "Guitar Riff (transcribed)"
    assert [m.tempo for m in midi.tracks[0] if m.type == "set_tempo"] == [mido.bpm2tempo(100)]
    notes = notes_of(paths[0].read_bytes(), 100.0)
    assert [n[2] for n in notes] == list(ARPEGGIO)
    assert all(abs(n[0] - t) < 0.03 for n, t in zip(notes, ONSETS))
    side = json.loads(paths[0].with_suffix(".json").read_text())
    assert side["file_format"] == "mid" and side["model"]["backend"] == "transcribe"
    assert side["meta"]["notes"] == 4 and side["model"]["weights_sha256"]
    assert "transcribing" in seen
    assert not paths[0].with_suffix(".wav").exists()


@pytest.mark.skipif(shutil.which("fluidsynth") is None, reason="fluidsynth is not installed (make test-deps)")
def test_preview_audio_beside_the_mid(daemon, client, riff):
    paths = [Path(p) for p in client.generate({"model": "transcribe", "input": str(riff), "preview_audio": 1,
                                               "sample_rate": 44100, "dir": "previews"},
                                              verb="transcribe", timeout=TIMEOUT)]
    assert [p.name for p in paths] == ["guitar-riff_transcribed.mid"]
    wav = paths[0].with_suffix(".wav")
    audio, rate = sf.read(wav, always_2d=True)
    assert rate == 44100
    mono = audio.mean(axis=1)

    def level(a: float, b: float) -> float:
        return float(np.sqrt(np.mean(np.square(mono[int(a * rate):int(b * rate)]))))

    assert level(0.0, 0.2) < 1e-4  # nothing before the first note ...
    for onset in ONSETS:  # ... and sound in every note (the file is at 120 bpm: the audio's own times)
        assert level(onset + 0.05, onset + 0.4) > 1e-3
    assert sorted(p.name for p in paths[0].parent.iterdir()) == [
        "guitar-riff_transcribed.json", "guitar-riff_transcribed.mid", "guitar-riff_transcribed.wav"]


def test_bad_input_is_refused_when_submitted(client, tmp_path):
    with pytest.raises(ClientError) as info:
        client.call("transcribe", {"model": "transcribe", "input": str(tmp_path / "nowhere.wav")})
    assert info.value.code == "bad_request" and "nowhere.wav does not exist" in info.value.message
    with pytest.raises(ClientError) as info:
        client.call("transcribe", {"model": "transcribe", "input": str(tmp_path), "onset_threshold": 2})
    assert info.value.code == "bad_request" and "onset_threshold" in info.value.message
