"""`transcribe`: basic-pitch's real ONNX model (from the installed wheel) on synthesized notes."""
from __future__ import annotations

import importlib.util
import io
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from server.backends.base import RunContext
from server.errors import DawgenError

# find_spec, not importorskip: importing basic_pitch outside the backend logs three TensorFlow/CoreML warnings
for _module, _why in (("onnxruntime", "the transcribe extra is not installed"), ("basic_pitch", "basic-pitch is not installed")):
    if importlib.util.find_spec(_module) is None:
        pytest.skip(f"{_why} (make install-transcribe)", allow_module_level=True)
mido = pytest.importorskip("mido")

from server.backends.transcribe import TranscribeBackend, wheel_model_path  # noqa: E402
from server.backends.transcribe.midifile import write_midi  # noqa: E402
from server.backends.transcribe.model import Note  # noqa: E402

RATE = 44100
ARPEGGIO = (60, 64, 67, 72)  # C4 E4 G4 C5
NOTE_SECONDS = 0.5
LEAD_IN = 0.25
ONSETS = tuple(LEAD_IN + i * NOTE_SECONDS for i in range(len(ARPEGGIO)))


def arpeggio(pitches=ARPEGGIO, rate=RATE, note=NOTE_SECONDS, lead_in=LEAD_IN, tail=0.5) -> np.ndarray:
    """Plucked harmonic tones (fundamental + 2 partials, 10 ms attack, decaying) one after another."""
    t = np.arange(int(rate * note)) / rate
    env = np.minimum(1.0, t / 0.01) * np.exp(-3.0 * t)
    tones = []
    for p in pitches:
        f = 440.0 * 2 ** ((p - 69) / 12)
        tones.append(0.3 * env * sum(a * np.sin(2 * np.pi * f * k * t) for k, a in ((1, 1.0), (2, 0.4), (3, 0.2))))
    return np.concatenate([np.zeros(int(rate * lead_in)), *tones, np.zeros(int(rate * tail))])


def write_arpeggio(path: Path, channels: int = 2, rate: int = RATE) -> Path:
    mono = arpeggio(rate=rate)
    sf.write(path, np.stack([mono] * channels, axis=1), rate, subtype="PCM_24")
    return path


def notes_of(data: bytes, bpm: float) -> list[tuple[float, float, int, int]]:
    """(start s, end s, pitch, velocity) from a MIDI file, at `bpm`."""
    midi = mido.MidiFile(file=io.BytesIO(data))
    seconds_per_tick = 60.0 / bpm / midi.ticks_per_beat
    out, on, now = [], {}, 0
    for msg in midi.tracks[1]:
        now += msg.time
        if msg.type == "note_on" and msg.velocity > 0:
            on[msg.note] = (now, msg.velocity)
        elif msg.type in ("note_off", "note_on"):
            start, velocity = on.pop(msg.note)
            out.append((start * seconds_per_tick, now * seconds_per_tick, msg.note, velocity))
    return sorted(out)


@pytest.fixture(scope="module")
def backend() -> TranscribeBackend:
    b = TranscribeBackend("transcribe", {})
    b.check_available()
    b.load()
    return b


@pytest.fixture(scope="module")
def arp_file(tmp_path_factory) -> Path:
    return write_arpeggio(tmp_path_factory.mktemp("tx") / "Synth Arp.wav")


def run(backend, **params):
    params.setdefault("time_signature", "4/4")
    backend.check_params("transcribe", params)
    return backend.run("transcribe", RunContext(params))


def test_recovers_the_notes_and_onsets_of_an_arpeggio(backend, arp_file):
    seen = []
    out = backend.run("transcribe", RunContext({"input": str(arp_file)}, lambda f, s: seen.append((f, s))))
    assert len(out) == 1
    notes = notes_of(out[0].data, 120.0)
    assert [n[2] for n in notes] == list(ARPEGGIO)
    for (start, end, _, velocity), onset in zip(notes, ONSETS):
        assert abs(start - onset) < 0.03
        assert end - start > 0.3 and 1 <= velocity <= 127
    meta = out[0].meta
    assert meta["name"] == "Synth Arp_transcribed" and meta["title"] == "Synth Arp (transcribed)"
    assert meta["notes"] == 4 and (meta["lowest"], meta["highest"]) == (60, 72)
    assert [s for _, s in seen][:1] == ["reading"] and "transcribing" in {s for _, s in seen}
    assert [f for f, _ in seen] == sorted(f for f, _ in seen)


def test_type_1_file_with_tempo_meter_key_and_named_track(backend, arp_file):
    out = run(backend, input=str(arp_file), bpm=90.0, time_signature="3/4", key="Am")
    midi = mido.MidiFile(file=io.BytesIO(out[0].data))
    assert midi.type == 1 and len(midi.tracks) == 2
    meta = {m.type: m for m in midi.tracks[0] if m.is_meta}
    assert meta["set_tempo"].tempo == mido.bpm2tempo(90.0)
    assert (meta["time_signature"].numerator, meta["time_signature"].denominator) == (3, 4)
    assert meta["key_signature"].key == "Am"
    assert midi.tracks[1].name == "Synth Arp (transcribed)"
    # the notes keep the audio's times at the file's tempo
    starts = [n[0] for n in notes_of(out[0].data, 90.0)]
    assert len(starts) == 4 and all(abs(s - t) < 0.03 for s, t in zip(starts, ONSETS))


def test_frequency_limits_section_and_thresholds(backend, arp_file):
    below_300 = notes_of(run(backend, input=str(arp_file), maximum_frequency=300.0)[0].data, 120.0)
    assert [n[2] for n in below_300] == [60]  # C4 = 262 Hz; E4 = 330 Hz is out
    above_300 = notes_of(run(backend, input=str(arp_file), minimum_frequency=300.0)[0].data, 120.0)
    assert [n[2] for n in above_300] == [64, 67, 72]
    part = notes_of(run(backend, input=str(arp_file), start=0.75, end=1.75)[0].data, 120.0)
    assert [n[2] for n in part] == [64, 67] and abs(part[0][0]) < 0.03  # times from the section's start
    long_only = run(backend, input=str(arp_file), minimum_note_ms=1000.0)[0]
    assert notes_of(long_only.data, 120.0) == [] and long_only.meta["notes"] == 0


def test_mono_48k_and_a_format_through_ffmpeg(backend, tmp_path):
    mono = write_arpeggio(tmp_path / "mono.flac", channels=1, rate=48000)
    assert [n[2] for n in notes_of(run(backend, input=str(mono))[0].data, 120.0)] == list(ARPEGGIO)
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is not installed (make test installs it)")
    m4a = tmp_path / "voice memo.m4a"
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(mono), "-c:a", "aac", "-b:a", "192k", str(m4a)], check=True)
    out = run(backend, input=str(m4a))[0]
    assert [n[2] for n in notes_of(out.data, 120.0)] == list(ARPEGGIO)
    assert out.meta["name"] == "voice memo_transcribed"


@pytest.mark.parametrize("value, words", [
    ("", "input: required"),
    ("relative/riff.wav", "relative path"),
    ("/nowhere/riff.wav", "/nowhere/riff.wav does not exist"),
])
def test_bad_input_is_a_bad_request_at_submit(backend, value, words):
    with pytest.raises(DawgenError) as info:
        backend.check_params("transcribe", {"input": value})
    assert info.value.code == "bad_request" and words in info.value.message


def test_unreadable_input_folder_and_frequency_order(backend, tmp_path, arp_file):
    junk = tmp_path / "notes.txt"
    junk.write_text("not audio")
    for path, words in ((junk, "not audio"), (tmp_path, "is not a file")):
        with pytest.raises(DawgenError) as info:
            backend.check_params("transcribe", {"input": str(path)})
        assert info.value.code == "bad_request" and words in info.value.message
    with pytest.raises(DawgenError) as info:
        backend.check_params("transcribe", {"input": str(arp_file), "minimum_frequency": 500.0,
                                            "maximum_frequency": 200.0})
    assert "minimum_frequency" in info.value.message


def test_path_option_uses_another_copy_and_a_wrong_file_is_unavailable(tmp_path, arp_file):
    copy = tmp_path / "my-nmp.onnx"
    shutil.copy(wheel_model_path(), copy)
    b = TranscribeBackend("tx2", {"path": str(copy)})
    b.check_available()
    assert b.memory_bytes() > copy.stat().st_size
    assert b.fingerprint()["weights_sha256"]
    notes = notes_of(b.run("transcribe", RunContext({"input": str(arp_file)}))[0].data, 120.0)
    assert [n[2] for n in notes] == list(ARPEGGIO)
    with pytest.raises(DawgenError) as info:
        TranscribeBackend("tx3", {"path": str(tmp_path / "missing.onnx")}).check_available()
    assert info.value.code == "model_unavailable" and "missing.onnx" in info.value.message
    bogus = tmp_path / "bogus.onnx"
    bogus.write_bytes(b"not a model")
    with pytest.raises(DawgenError) as info:
        TranscribeBackend("tx4", {"path": str(bogus)}).load()
    assert info.value.code == "model_unavailable" and "bogus.onnx" in info.value.message


def test_missing_library_names_the_install_route(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "onnxruntime" else real(name, *a))
    with pytest.raises(DawgenError) as info:
        TranscribeBackend("tx", {}).check_available()
    assert info.value.code == "model_unavailable"
    assert "onnxruntime" in info.value.message and "make install-transcribe" in info.value.message


def test_same_pitch_overlaps_become_repeated_notes():
    data = write_midi([Note(0.0, 1.0, 60, 80), Note(0.5, 1.5, 60, 90), Note(0.5, 0.6, 64, 70)],
                      "x", 120.0, (4, 4))
    assert notes_of(data, 120.0) == [(0.0, 0.5, 60, 80), (0.5, 0.6, 64, 70), (0.5, 1.5, 60, 90)]
