"""`transcribe=` on separate jobs: a MIDI file per chosen stem beside the stems, with the built-in
`transcribe` model (basic-pitch's real weights) after a tiny random demucs model (a plumbing test:
the stems are not musical, the MIDI files are whatever basic-pitch hears in them)."""
from __future__ import annotations

import importlib.util
import io

import numpy as np
import pytest
import soundfile as sf

from server.backends.base import Audio, Midi, RunContext
from server.errors import DawgenError
from server.registry import Registry

from . import demucs_tiny
from .test_demucs import config

HAVE = all(importlib.util.find_spec(m) for m in ("torch", "demucs", "basic_pitch", "onnxruntime", "mido"))
pytestmark = pytest.mark.skipif(not HAVE, reason="needs the demucs and transcribe extras")


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    return demucs_tiny.make_repo(tmp_path_factory.mktemp("demucs-repo"))


def test_separate_with_transcribe_writes_a_midi_per_chosen_stem_beside_it(tmp_path, repo):
    import mido

    song = tmp_path / "Song.wav"
    sf.write(song, demucs_tiny.music(3.0), 44100)
    registry = Registry(config(tmp_path, {"stems": {"backend": "demucs", "path": str(repo), "name": "tiny"}}))
    backend = registry.backend("stems")
    out = backend.run("separate", RunContext({"input": str(song), "transcribe": "bass,vocals", "bpm": 100}))
    audio, midi = [o for o in out if isinstance(o, Audio)], [o for o in out if isinstance(o, Midi)]
    assert [a.meta["stem"] for a in audio] == demucs_tiny.SOURCES4
    assert [m.meta["name"] for m in midi] == ["song_bass_transcribed", "song_vocals_transcribed"]
    assert all(m.meta["folder"] == "song" and m.meta["bpm"] == 100 for m in midi)
    assert [m.meta["stem"] for m in midi] == ["bass", "vocals"]
    for m in midi:
        parsed = mido.MidiFile(file=io.BytesIO(m.data))
        assert parsed.type == 1 and abs(m.meta["seconds"] - 3.0) < 1e-3
    everything = backend.run("separate", RunContext({"input": str(song), "mode": "without:vocals", "transcribe": "all"}))
    assert [o.meta["name"] for o in everything] == ["song_no_vocals", "song_no_vocals_transcribed"]
    with pytest.raises(DawgenError, match=r"transcribe: guitar is not among this job's stems \(written: bass\)"):
        backend.run("separate", RunContext({"input": str(song), "mode": "only:bass", "transcribe": "guitar"}))


def test_transcribe_is_refused_at_submit_when_the_model_is_unavailable(tmp_path, repo, monkeypatch):
    from server.backends import stem_midi

    registry = Registry(config(tmp_path, {"stems": {"backend": "demucs", "path": str(repo), "name": "tiny"},
                                          "transcribe": {"backend": "transcribe", "path": str(tmp_path / "no.onnx")}}))
    with pytest.raises(ValueError, match="transcribe: the `transcribe` model is unavailable: .*no.onnx is not a file"):
        stem_midi.check_available(registry)
    song = tmp_path / "s.wav"
    sf.write(song, np.zeros((44100, 2), np.float32), 44100)
    with pytest.raises(DawgenError) as info:
        registry.backend("stems").check_params("separate", {"input": str(song), "transcribe": "bass"})
    assert info.value.code == "bad_request"
