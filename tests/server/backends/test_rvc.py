"""The rvc backend: RVC voices (`.pth` + `added_*.index`) on rvc-next's classes, through the config path.

Every model is tiny with random weights (rvc_tiny.py) in the real formats: a voice `.pth` from a v2
config, a transformers HuBERT folder, an RMVPE state dict, a faiss index. Random weights convert
nothing into a voice, so these test the plumbing: lengths, rates, alignment with the accompaniment,
that the pitch reaches the NSF source (`pitch=12` raises the output an octave, measured with a pitch
tracker), weights-only loading, and the errors a producer sees.
"""
from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from server.backends.base import RunContext
from server.errors import DawgenError
from server.jobs import JobState, Request

from . import demucs_tiny, rvc_tiny

HAVE = all(importlib.util.find_spec(m) for m in ("torch", "transformers", "librosa", "rvc_next", "faiss", "parselmouth"))
pytestmark = pytest.mark.skipif(not HAVE, reason="the rvc extra is not installed (make install-rvc)")
RATE = 44100


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("rvc")
    out = rvc_tiny.make_model(root)
    out["alice_index"] = rvc_tiny.save_index(out["voices_dir"] / "alice", "alice")
    return out


def options(files, **extra) -> dict:
    return {"hubert": str(files["hubert"]), "rmvpe": str(files["rmvpe"]), "voices_dir": str(files["voices_dir"]),
            "device": "cpu", **extra}


@pytest.fixture(scope="module")
def rvc(files):
    from server.backends.rvc import RvcBackend

    b = RvcBackend("rvc", options(files))
    b.check_available()
    b.load()
    return b


def song(tmp_path, seconds=1.5, rate=RATE, channels=1, hz=220.0, name="take.wav") -> Path:
    path = tmp_path / name
    sf.write(path, rvc_tiny.sung_tone(seconds, rate, hz, channels), rate, subtype="FLOAT")
    return path


def convert(backend, path: Path, **params):
    (out,) = backend.run("convert", RunContext({"input": str(path), "voice": "alice", "index_rate": 0.0, **params}))
    return out


def tracked_hz(y: np.ndarray, rate: int, yin: bool = False) -> float:
    """Median pitch of the middle of `y` by pYIN (its voiced frames), or by plain YIN: librosa's
    trackers, independent of the ones the conversion used. pYIN errs an octave on some random-weight
    timbres, YIN on the pm output's onsets: each test names the one that tracks its sound."""
    import librosa

    mid = y[len(y) // 4: 3 * len(y) // 4]
    if yin:
        return float(np.median(librosa.yin(mid, fmin=60, fmax=2000, sr=rate, frame_length=4096)))
    f0, voiced, _ = librosa.pyin(mid, fmin=60, fmax=2000, sr=rate, frame_length=4096)
    assert voiced.mean() > 0.8  # a pitched sound, not noise
    return float(np.nanmedian(f0))


def test_voices_are_found_with_their_index_and_listed(rvc, files):
    voices = rvc.voices()
    assert sorted(voices) == ["alice", "bob"]
    assert voices["alice"].index == files["alice_index"] and voices["bob"].index is None
    assert rvc.describe()["voices"] == ["alice", "bob"]
    assert rvc.memory_bytes() > sum(p.stat().st_size for p in files["hubert"].glob("*.safetensors"))


@pytest.mark.parametrize("rate,channels,voice", [(RATE, 1, "alice"), (48000, 2, "bob")])
def test_the_result_is_as_long_as_the_input_at_its_rate(rvc, tmp_path, rate, channels, voice):
    path = song(tmp_path, 1.3, rate, channels)
    frames = sf.info(path).frames
    out = convert(rvc, path, voice=voice)
    assert out.samples.shape == (frames, channels) and out.sample_rate == rate
    assert out.meta["post"] == "none" and out.meta["name"] == f"take_{voice}"
    assert out.meta["voice_sha256"] == hashlib.sha256(rvc.voices()[voice].pth.read_bytes()).hexdigest()
    assert np.sqrt(np.mean(out.samples ** 2)) > 0.01  # sound, not silence
    if channels == 2:
        assert np.array_equal(out.samples[:, 0], out.samples[:, 1])


def test_pitch_12_raises_the_output_an_octave(rvc, tmp_path):
    path = song(tmp_path, 2.0, RATE)
    # pm follows the sung tone itself: the output sings what the tracker hears in the input, +12 an octave higher
    sung = tracked_hz(rvc_tiny.sung_tone(2.0, RATE)[:, 0], RATE)
    base = tracked_hz(convert(rvc, path, f0_method="pm", pitch=0).samples[:, 0], RATE)
    up = tracked_hz(convert(rvc, path, f0_method="pm", pitch=12).samples[:, 0], RATE)
    assert abs(base / sung - 1) < 0.05 and abs(up / base - 2) < 0.06, (sung, base, up)
    # RMVPE with random weights hears some pitch; what it hears, the voice sings, and +12 doubles it
    base = tracked_hz(convert(rvc, path, pitch=0).samples[:, 0], RATE, yin=True)
    up = tracked_hz(convert(rvc, path, pitch=12).samples[:, 0], RATE, yin=True)
    assert abs(up / base - 2) < 0.06, (base, up)
    x16 = rvc_tiny.sung_tone(2.0, 16000)[:, 0]
    heard = float(np.median(rvc._runtime.providers["rmvpe"].compute(x16, len(x16) // 160)))
    assert abs(base / heard - 1) < 0.05, (base, heard)


def test_the_same_request_gives_the_same_file_and_the_index_changes_it(rvc, tmp_path):
    path = song(tmp_path, 1.0, RATE)
    a = convert(rvc, path).samples
    assert np.array_equal(a, convert(rvc, path).samples)
    indexed = convert(rvc, path, index_rate=1.0)
    assert indexed.meta["index"] == rvc.voices()["alice"].index.name
    # the tiny voice's content path is scaled down (rvc_tiny), so the index moves the result a little
    assert np.abs(a - indexed.samples).max() > 1e-5


def test_vocals_only_adds_the_accompaniment_back_sample_aligned(files, tmp_path):
    from server.backends.demucs import DemucsBackend
    from server.registry import Registry

    from .test_demucs import config

    repo = tmp_path / "demucs"
    demucs_tiny.save(demucs_tiny.build(demucs_tiny.SOURCES4), repo, "a1b2c3d4")
    demucs_tiny.write_bag(repo, "tiny", ["a1b2c3d4"])
    registry = Registry(config(tmp_path, {"stems": {"backend": "demucs", "path": str(repo), "name": "tiny"},
                                          "rvc": {"backend": "rvc", **options(files)}}))
    assert not registry.problems().get("rvc")
    rate = 44100
    mix = np.concatenate([rvc_tiny.sung_tone(2.0, rate, 220.0, 2),
                          np.zeros((777, 2), np.float32)]) + demucs_tiny.music(2.0 + 777 / rate)[:, :2] * 0.5
    path = tmp_path / "mix.wav"
    sf.write(path, mix.astype(np.float32), rate, subtype="FLOAT")
    rvc = registry.backend("rvc")
    rvc.check_params("convert", {"input": str(path), "voice": "alice", "vocals_only": True})
    out = convert(rvc, path, vocals_only=True)
    assert out.samples.shape == mix.shape and out.sample_rate == rate
    # the same separation and the conversion of its vocals alone, done by hand
    vocals = DemucsBackend.run(registry.backend("stems"), "separate",
                               RunContext({"input": str(path), "mode": "only:vocals"}))[0].samples
    vpath = tmp_path / "vocals.wav"
    sf.write(vpath, vocals, rate, subtype="FLOAT")
    converted = convert(rvc, vpath).samples
    accompaniment = out.samples - converted
    want = sf.read(path, dtype="float32")[0] - vocals
    assert np.abs(accompaniment - want).max() < 1e-5  # sample for sample: a lag of one would show here
    seg = slice(rate // 2, rate // 2 + 4000)
    lag = np.argmax(np.correlate(accompaniment[seg, 0], want[seg, 0], "full")) - (4000 - 1)
    assert lag == 0


def test_a_voice_that_pickles_code_is_refused_and_runs_nothing(files, tmp_path):
    from server.backends.rvc import RvcBackend

    marker = tmp_path / "owned"

    class Boom:
        def __reduce__(self):
            return (Path.mkdir, (marker,))

    import torch

    evil = tmp_path / "voices" / "evil.pth"
    evil.parent.mkdir()
    state = rvc_tiny.voice_state(rvc_tiny.V2_40K_TINY)
    state["info"] = Boom()
    torch.save(state, evil)
    b = RvcBackend("rvc", options(files, voices_dir=str(evil.parent)))
    b.load()
    path = song(tmp_path, 0.5)
    with pytest.raises(DawgenError) as info:
        b.run("convert", RunContext({"input": str(path), "voice": "evil"}))
    assert info.value.code == "model_unavailable" and "pathlib" in info.value.message
    assert not marker.exists()


def test_an_unknown_voice_is_a_bad_request_listing_the_voices(rvc, tmp_path):
    path = song(tmp_path, 0.5)
    with pytest.raises(DawgenError) as info:
        rvc.check_params("convert", {"input": str(path), "voice": "carol"})
    assert info.value.code == "bad_request" and "voices: alice, bob" in info.value.message
    with pytest.raises(DawgenError, match="voice: required"):
        rvc.check_params("convert", {"input": str(path)})


def test_config_voices_table_and_its_errors(files, tmp_path):
    from server.backends.rvc import RvcBackend

    bob = str(files["voices_dir"] / "bob.pth")
    b = RvcBackend("rvc", options(files, voices_dir="", voices={"robert": {"pth": bob, "index": str(files["alice_index"])}}))
    assert b.voices()["robert"].index == files["alice_index"]
    with pytest.raises(DawgenError, match=r"voices\.x: .*missing\.pth is not a file"):
        RvcBackend("rvc", options(files, voices={"x": str(tmp_path / "missing.pth")})).check_available()
    with pytest.raises(DawgenError, match="needs `hubert`"):
        RvcBackend("rvc", {"voices_dir": str(files["voices_dir"])}).check_available()
    no_rmvpe = RvcBackend("rvc", {**options(files), "rmvpe": ""})
    with pytest.raises(DawgenError, match="no `rmvpe` file"):
        no_rmvpe.check_params("convert", {"input": str(song(tmp_path, 0.5)), "voice": "alice"})


def test_without_rvc_next_the_model_names_the_extra(files, monkeypatch):
    from server.backends.rvc import RvcBackend

    monkeypatch.setattr("server.backends.base.module_installed", lambda name: name != "rvc_next")
    with pytest.raises(DawgenError, match=r"needs rvc_next .*make install-rvc") as info:
        RvcBackend("rvc", options(files)).check_available()
    assert info.value.code == "model_unavailable"


def test_without_parselmouth_f0_method_pm_names_the_extra(rvc, tmp_path, monkeypatch):
    monkeypatch.setattr("server.backends.rvc.module_installed", lambda name: name != "parselmouth")
    with pytest.raises(DawgenError, match=r"f0_method=pm needs praat-parselmouth .*make install-rvc") as info:
        convert(rvc, song(tmp_path, 0.5), f0_method="pm")
    assert info.value.code == "model_unavailable"


def test_through_the_engine(files, tmp_path):
    from server.config import parse
    from server.engine import Engine

    cfg = parse({"output": {"root": str(tmp_path / "out")},
                 "server": {"state_dir": str(tmp_path / "state"), "isolation": "immediate"},
                 "models": {"rvc": {"backend": "rvc", **options(files)}}})
    eng = Engine(cfg)
    eng.start()
    try:
        path = song(tmp_path, 1.0, 48000, 2)
        job, _ = eng.submit(Request("convert", {"model": "rvc", "input": str(path), "voice": "bob", "pitch": 12}))
        assert job.state is JobState.DONE, job.error_message
        wavs = [p for p in job.outputs if p.endswith(".wav")]
        data, rate = sf.read(wavs[0])
        assert rate == 48000 and data.shape == (48000, 2)
        with pytest.raises(DawgenError) as info:
            eng.submit(Request("convert", {"model": "rvc", "input": str(path), "voice": "nobody"}))
        assert info.value.code == "bad_request" and "alice, bob" in info.value.message
        with pytest.raises(DawgenError) as info:
            eng.submit(Request("convert", {"model": "rvc", "input": str(path), "voice": "bob", "vocals_only": True}))
        assert info.value.code == "bad_request" and "no configured model does `separate`" in info.value.message
    finally:
        eng.stop(5)
        eng.close()


def test_path_in_rvc_asset_layout_and_the_hf_cache_layout_find_hubert_and_rmvpe(files, tmp_path):
    from server.backends.rvc import RvcBackend
    from server.backends.rvc.models import hubert_folder

    assets = tmp_path / "assets"
    (assets / "rmvpe").mkdir(parents=True)
    (assets / "hubert_base").symlink_to(files["hubert"])
    (assets / "rmvpe" / "rmvpe.pt").symlink_to(files["rmvpe"])  # rvc-next's layout; RVC WebUI's is path/rmvpe.pt
    b = RvcBackend("rvc", {"path": str(assets), "voices_dir": str(files["voices_dir"])})
    b.check_available()
    assert b.hubert_path == str(assets / "hubert_base") and b.rmvpe_path == str(assets / "rmvpe" / "rmvpe.pt")
    # a Hugging Face cache folder: refs/main names the snapshot that holds config.json
    repo = tmp_path / "models--org--contentvec"
    (repo / "snapshots" / "abc123").mkdir(parents=True)
    (repo / "snapshots" / "abc123" / "config.json").write_text("{}")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("abc123")
    assert hubert_folder(str(repo)) == repo / "snapshots" / "abc123"
    with pytest.raises(DawgenError, match="holds no config.json"):
        hubert_folder(str(tmp_path))


def test_cancel_stops_the_job_before_converting(rvc, tmp_path):
    import threading

    from server.errors import JobCancelled

    cancel = threading.Event()
    stages = []

    def progress(fraction, stage):
        stages.append(stage)
        if stage == "loading voice":
            cancel.set()

    with pytest.raises(JobCancelled):
        rvc.run("convert", RunContext({"input": str(song(tmp_path, 0.5)), "voice": "alice"}, progress, cancel))
    assert stages == ["reading", "loading voice"]


def test_long_input_is_converted_in_chunks_without_drifting(rvc, tmp_path, monkeypatch):
    """A note change lands at the same time whether rvc-next converts the input whole or in chunks
    joined at quiet points (a join that lost a 10 ms frame would move it)."""
    import librosa
    from rvc_next.engine.convert.offline import OfflineConverter

    from server.backends.rvc import convert as conversion

    x = np.concatenate([rvc_tiny.sung_tone(5.3, RATE, 220.0), rvc_tiny.sung_tone(0.9, RATE, 330.0)])
    path = tmp_path / "two-notes.wav"
    sf.write(path, x, RATE, subtype="FLOAT")

    def change(y: np.ndarray) -> float:
        f0 = librosa.yin(y, fmin=100, fmax=1000, sr=RATE, frame_length=2048, hop_length=64)
        t = np.arange(len(f0)) * 64 / RATE
        near = (t > 5.0) & (t < 5.6)
        return float(t[near][np.argmax(f0[near] > 275)])

    whole = convert(rvc, path, f0_method="pm").samples[:, 0]
    chunks = []
    real_vc = OfflineConverter._vc
    monkeypatch.setattr(OfflineConverter, "_vc", lambda self, *a, **k: chunks.append(1) or real_vc(self, *a, **k))
    monkeypatch.setattr(conversion, "CHUNKS", (1, 1, 1, 2))  # x_pad, x_query, x_center, x_max (s)
    joined = convert(rvc, path, f0_method="pm").samples[:, 0]
    assert len(chunks) >= 5 and joined.shape == whole.shape == (x.shape[0],)
    assert abs(change(whole) - change(x[:, 0])) < 0.006 and abs(change(joined) - change(whole)) < 0.006


def test_an_index_without_faiss_names_it_and_index_rate_0_needs_none(rvc, tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "faiss", None)  # import faiss now raises ImportError
    rvc.unload()
    rvc.load()
    path = song(tmp_path, 0.5)
    with pytest.raises(DawgenError, match=r"needs faiss .*index_rate=0") as info:
        convert(rvc, path, index_rate=0.5)
    assert info.value.code == "model_unavailable"
    assert convert(rvc, path, index_rate=0.0).meta["index"] is None
