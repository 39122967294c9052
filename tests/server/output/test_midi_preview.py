"""`preview_audio`: a MIDI output gets a .wav beside it, rendered by the real fluidsynth."""
from __future__ import annotations

import io
import json
import shutil

import numpy as np
import pytest
import soundfile as sf

from server.backends.base import Midi
from server.errors import DawgenError
from server.jobs import Job
from server.output import midi_preview
from server.output.writer import OutputWriter

mido = pytest.importorskip("mido")
needs_fluidsynth = pytest.mark.skipif(
    shutil.which("fluidsynth") is None or midi_preview.find_soundfont() is None,
    reason="fluidsynth or a GM soundfont is missing (make test-deps installs fluidsynth)")

BPM = 120.0
NOTES = ((0.5, 1.0, 60), (1.5, 2.0, 67))  # (start s, end s, pitch): silence before, between and after


def midi_bytes(notes=NOTES, bpm=BPM) -> bytes:
    track = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm))])
    events = sorted([(s, 1, p) for s, _, p in notes] + [(e, 0, p) for _, e, p in notes])
    now = 0
    for seconds, on, pitch in events:
        tick = int(round(seconds * bpm / 60 * 480))
        track.append(mido.Message("note_on" if on else "note_off", note=pitch, velocity=100 if on else 0,
                                  time=tick - now))
        now = tick
    midi = mido.MidiFile(type=1, ticks_per_beat=480)
    midi.tracks.append(track)
    out = io.BytesIO()
    midi.save(file=out)
    return out.getvalue()


def job(**params):
    base = {"prompt": "", "sample_rate": 44100, "bit_depth": "24", "format": "wav", "dir": "", "preview_audio": True}
    return Job(id=Job.new_id(), verb="transcribe", model="transcribe", params={**base, **params})


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x)))) if x.size else 0.0


@needs_fluidsynth
def test_wav_beside_the_mid_with_sound_where_the_notes_are(tmp_path):
    writer = OutputWriter([tmp_path])
    j = job()
    out = Midi(data=midi_bytes(), meta={"name": "riff_transcribed"})
    mid = writer.write_job(j, [out], {})[0]
    assert mid.endswith("riff_transcribed.mid")
    wav = mid[:-4] + ".wav"
    audio, rate = sf.read(wav, always_2d=True)
    assert rate == 44100 and sf.info(wav).subtype == "PCM_24"
    mono = audio.mean(axis=1)

    def level(a, b):
        return rms(mono[int(a * rate):int(b * rate)])

    assert level(0.55, 0.95) > 1e-3 and level(1.55, 1.95) > 1e-3  # the notes sound
    assert level(0.0, 0.45) < level(0.55, 0.95) / 30  # silence before the first note
    side = json.loads(open(mid[:-4] + ".json").read())
    assert side["preview_audio"]["renderer"] == "fluidsynth" and side["file"] == "riff_transcribed.mid"
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".tmp")]
    # the same name again: both files move on to -2 together
    second = writer.write_job(job(), [out], {})[0]
    assert second.endswith("riff_transcribed-2.mid") and sf.info(second[:-4] + ".wav").frames > 0


@needs_fluidsynth
def test_rate_follows_the_request_up_to_96k(tmp_path):
    writer = OutputWriter([tmp_path])
    mid = writer.write_job(job(sample_rate=192000), [Midi(data=midi_bytes(), meta={"name": "hi"})], {})[0]
    assert sf.info(mid[:-4] + ".wav").samplerate == 96000


def test_no_preview_without_the_param(tmp_path):
    mid = OutputWriter([tmp_path]).write_job(job(preview_audio=False), [Midi(data=midi_bytes(), meta={"name": "x"})], {})[0]
    assert sorted(p.name for p in (tmp_path / mid).parent.iterdir()) == ["x.json", "x.mid"]


def test_missing_fluidsynth_is_refused_at_submit_and_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(midi_preview.shutil, "which", lambda name: None)
    with pytest.raises(DawgenError) as info:
        midi_preview.check_params({"preview_audio": True})
    assert info.value.code == "model_unavailable" and "apt install fluidsynth" in info.value.message
    midi_preview.check_params({"preview_audio": False})  # nothing asked, nothing checked
    with pytest.raises(DawgenError):
        OutputWriter([tmp_path]).write_job(job(), [Midi(data=midi_bytes(), meta={"name": "x"})], {})
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


@needs_fluidsynth
def test_soundfont_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(midi_preview.SOUNDFONT_ENV, str(tmp_path / "none.sf2"))
    with pytest.raises(DawgenError) as info:
        midi_preview.check_available()
    assert "none.sf2" in info.value.message and info.value.code == "model_unavailable"
    broken = tmp_path / "broken.sf2"
    broken.write_bytes(b"RIFF0000sfbk")
    monkeypatch.setenv(midi_preview.SOUNDFONT_ENV, str(broken))
    with pytest.raises(DawgenError) as info:
        midi_preview.render_wav(midi_bytes(), {"sample_rate": 44100})
    assert info.value.code == "write_failed" and "fluidsynth" in info.value.message
