"""The roformer backend: UVR / MSST checkpoints (.ckpt + .yaml) through the user's `[models.NAME]` path.

The models are tiny RoFormers with random weights (roformer_tiny.py), built from audio-separator's
MSST classes and saved in the published layout: this is a plumbing test (loading, chunking, stem
names, lengths, alignment), not a quality one; a random model separates nothing. The chunked
separation is checked equal to MSST's own whole-track `demix` (replayed below with torch), which is
aligned with its input by construction.
"""
from __future__ import annotations

import importlib.util
import pickle
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from server.backends.base import RunContext
from server.engine import Engine
from server.errors import DawgenError
from server.jobs import Request
from server.journal import Journal
from server.registry import Registry

from . import demucs_tiny, roformer_tiny
from .test_demucs import config

HAVE = all(importlib.util.find_spec(m) for m in ("torch", "audio_separator", "beartype", "rotary_embedding_torch"))
pytestmark = pytest.mark.skipif(not HAVE, reason="the roformer extra is not installed (make install-roformer)")


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    return roformer_tiny.make_models(tmp_path_factory.mktemp("roformer"))


def backend(path: Path, **options):
    from server.backends.roformer import RoformerBackend

    b = RoformerBackend("uvr", {"path": str(path), "device": "cpu", **options})
    b.check_available()
    return b


def msst_demix(model, mix: np.ndarray, chunk: int, num_overlap: int) -> np.ndarray:
    """MSST utils/model_utils.py demix (mode generic, batch size 1) on the whole track, as written there."""
    import torch
    import torch.nn.functional as F

    mix_t = torch.from_numpy(mix)
    step, fade = chunk // num_overlap, chunk // 10
    border, length_init = chunk - step, mix_t.shape[-1]
    window = torch.ones(chunk)
    window[-fade:] *= torch.linspace(1, 0, fade)
    window[:fade] *= torch.linspace(0, 1, fade)
    if length_init > 2 * border and border > 0:
        mix_t = F.pad(mix_t[None], (border, border), mode="reflect")[0]
    result = counter = None
    i = 0
    with torch.inference_mode():
        while i < mix_t.shape[1]:
            part = mix_t[:, i:i + chunk]
            chunk_len = part.shape[-1]
            mode = "reflect" if chunk_len > chunk // 2 else "constant"
            part = F.pad(part[None], (0, chunk - chunk_len), mode=mode, value=0)[0] if chunk_len < chunk else part
            x = model(part[None]).reshape(-1, mix.shape[0], chunk)
            if result is None:
                result = torch.zeros(x.shape[0], mix.shape[0], mix_t.shape[1])
                counter = torch.zeros_like(result)
            i += step
            w = window.clone()
            if i - step == 0:
                w[:fade] = 1
            elif i >= mix_t.shape[1]:
                w[-fade:] = 1
            result[..., i - step:i - step + chunk_len] += x[..., :chunk_len] * w[:chunk_len]
            counter[..., i - step:i - step + chunk_len] += w[:chunk_len]
    out = np.nan_to_num((result / counter).numpy(), nan=0.0)
    return out[..., border:-border] if length_init > 2 * border and border > 0 else out


def run_stream(model, x: np.ndarray, chunk: int, num_overlap: int, residual: bool, block: int = 20000):
    from server.backends.chunks import MixFeed, Sink
    from server.backends.roformer.stream import plan, separate

    feed = MixFeed((x[i:i + block] for i in range(0, len(x), block)), len(x), 2, 44100, 44100, 0.0, 1.0)
    stems = 2
    sinks = [Sink(len(x), 2, 2, 44100, 44100) for _ in range(stems)]
    got = separate(model, feed, sinks, [[0], [1]], plan(len(x), chunk, num_overlap), residual, 0.0, 1.0)
    return got, feed


@pytest.mark.parametrize("kind,seconds,overlap", [("bs", 3.1, 2), ("mel", 2.2, 4), ("bs", 0.7, 2)])
def test_chunked_separation_equals_msst_demix_on_the_whole_track(kind, seconds, overlap):
    model_type, spec = ("bs_roformer", roformer_tiny.BS_TINY) if kind == "bs" else \
        ("mel_band_roformer", {**roformer_tiny.MEL_TINY})
    model = roformer_tiny.build(model_type, spec, seed=3)
    x = demucs_tiny.music(seconds)
    chunk = 128 * 200  # 0.58 s: several chunks, a reflect-padded head and tail, a short last chunk
    expected = msst_demix(model, np.ascontiguousarray(x.T), chunk, overlap)
    residual = kind == "bs"
    got, _ = run_stream(model, x, chunk, overlap, residual)
    if residual:  # one target: the second stem is mix − target
        expected = np.concatenate([expected, x.T[None] - expected])
    assert all(g.shape == x.shape for g in got)  # exactly as long as the input
    np.testing.assert_allclose(np.stack([g.T for g in got]), expected, atol=2e-5)


def test_memory_stays_bounded_however_long_the_input():
    model = roformer_tiny.build("bs_roformer", roformer_tiny.BS_TINY)
    held = {}
    for seconds in (6, 24):
        got, feed = run_stream(model, demucs_tiny.music(seconds), 128 * 100, 2, True, block=4096)
        held[seconds] = feed.max_held
    assert abs(held[24] - held[6]) <= 4096 and held[24] < 3 * 128 * 100 + 4096


@pytest.mark.parametrize("name,stems", [("bs_vocals", ["vocals", "other"]), ("mel_2", ["bass", "drums"])])
def test_a_checkpoint_separates_a_file_into_stems_named_by_its_config(tmp_path, models, name, stems):
    rate = 48000  # not the model's 44.1 kHz: resampled both ways, so the test audio is band-limited
    t = np.arange(int(2.9 * rate)) / rate
    envelope = np.clip(np.sin(2 * np.pi * 0.9 * t), 0, None) ** 2
    x = np.stack([envelope * np.sin(2 * np.pi * f * t) * 0.5 for f in (220, 330)], axis=1).astype(np.float32)
    song = tmp_path / "My Song.wav"
    sf.write(song, x, rate, subtype="FLOAT")
    b = backend(models[name])
    out = b.run("separate", RunContext({"input": str(song)}))
    assert [o.meta["stem"] for o in out] == stems and b.config.model_type == ("bs_roformer" if name == "bs_vocals"
                                                                               else "mel_band_roformer")
    assert [o.meta["name"] for o in out] == [f"my-song_{s}" for s in stems] and out[0].meta["folder"] == "my-song"
    assert all(o.samples.shape == x.shape and o.sample_rate == rate and o.meta["post"] == "none" for o in out)
    if name == "bs_vocals":  # target + residual give the mix back, sample-aligned (soxr rings at the edges)
        assert np.abs(out[0].samples + out[1].samples - x)[500:-500].max() < 1e-3
    only = b.run("separate", RunContext({"input": str(song), "mode": f"only:{stems[1]}"}))
    without = b.run("separate", RunContext({"input": str(song), "mode": f"without:{stems[1]}"}))
    assert [o.meta["name"] for o in only + without] == [f"my-song_{stems[1]}", f"my-song_no_{stems[1]}"]
    np.testing.assert_allclose(only[0].samples, out[1].samples, atol=1e-6)
    np.testing.assert_allclose(without[0].samples, out[0].samples, atol=1e-6)  # two stems: without one is the other


def test_a_section_and_a_mono_file_keep_their_length(tmp_path, models):
    x = demucs_tiny.music(3.0, rate=44100, channels=1)
    song = tmp_path / "take.wav"
    sf.write(song, x, 44100)
    out = backend(models["mel_2"]).run("separate", RunContext({"input": str(song), "start": 0.5, "end": 2.25,
                                                               "segment": 1.0, "overlap": 0.5}))
    assert all(o.samples.shape == (77175, 1) for o in out)


def test_progress_is_reported_per_chunk_and_cancels(tmp_path, models):
    song = tmp_path / "s.wav"
    sf.write(song, demucs_tiny.music(3.0), 44100)
    seen: list[float] = []

    def progress(fraction: float, stage: str) -> None:
        if stage == "separating":
            seen.append(fraction)
            if len(seen) == 3:
                raise KeyboardInterrupt  # stands in for JobCancelled

    with pytest.raises(KeyboardInterrupt):
        backend(models["bs_vocals"]).run("separate", RunContext({"input": str(song)}, progress))
    assert seen == sorted(seen) and len(seen) == 3


def test_a_checkpoint_that_runs_code_is_refused(tmp_path, models):
    import shutil

    class Boom:
        def __reduce__(self):
            return (print, ("owned",))

    bad = tmp_path / "evil.ckpt"
    bad.write_bytes(pickle.dumps({"state_dict": Boom()}))
    shutil.copy(models["bs_vocals"].with_suffix(".yaml"), tmp_path / "evil.yaml")
    b = backend(bad)
    with pytest.raises(DawgenError) as info:
        b.load()
    assert info.value.code == "model_unavailable" and "builtins.print" in info.value.message
    assert "allow_pickle" in info.value.message


def test_a_missing_or_wrong_config_is_named(tmp_path, models):
    import shutil

    lone = tmp_path / "lone.ckpt"
    shutil.copy(models["mel_2"], lone)
    with pytest.raises(DawgenError, match=r"lone\.yaml is not a file"):
        backend(lone)
    (tmp_path / "other.yaml").write_text(roformer_tiny.yaml_text(roformer_tiny.MEL_TINY, ["bass", "drums"], None, 44032))
    assert backend(lone, config=str(tmp_path / "other.yaml")).config.stems == ["bass", "drums"]
    (tmp_path / "lone.yaml").write_text(roformer_tiny.yaml_text(roformer_tiny.MEL_TINY, ["bass"], None, 44032))
    with pytest.raises(DawgenError, match="num_stems 2 but its config names 1"):
        backend(lone)
    (tmp_path / "lone.yaml").write_text(roformer_tiny.yaml_text(roformer_tiny.BS_TINY, ["bass", "x"], "bass", 44032))
    with pytest.raises(DawgenError, match="does not match its config"):  # a BS config over Mel-Band weights
        backend(lone).load()


@pytest.fixture
def engine(tmp_path, models):
    eng = Engine(config(tmp_path, {"uvr": {"backend": "roformer", "path": str(models["bs_vocals"])}}),
                 journal=Journal(":memory:"))
    eng.start(workers=False)
    yield eng
    eng.close()


def test_submit_refuses_count_and_stems_the_model_does_not_have(engine, tmp_path):
    song = tmp_path / "s.wav"
    sf.write(song, demucs_tiny.music(1.0), 44100)
    for params, message in [({"count": 2}, "count"), ({"mode": "only:drums"}, "its stems: vocals, other"),
                            ({"shifts": 2}, "shifts")]:
        with pytest.raises(DawgenError) as info:
            engine.submit(Request("separate", {"model": "uvr", "input": str(song), **params}))
        assert info.value.code == "bad_request" and message in info.value.message
    engine.submit(Request("separate", {"model": "uvr", "input": str(song), "mode": "without:vocals"}))


def test_the_registry_lists_the_model_with_its_keys(tmp_path, models):
    registry = Registry(config(tmp_path, {"uvr": {"backend": "roformer", "path": str(models["mel_2"]),
                                                  "model_type": "mel_band_roformer", "chunk": 3}}))
    assert "models.uvr.chunk: unknown key" in registry.problems()["uvr"]
