"""The demucs backend: repo checks, params, and the streaming separation against demucs' apply_model.

The separation tests use tiny HTDemucs models with random weights (demucs_tiny.py) and a stand-in
model that splits the mix by fixed gains: with it, stems must equal the input times a gain, which
shows that they are sample-aligned and exactly as long as the input whatever its rate and channels.
"""
from __future__ import annotations

import importlib.util
import random
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from server.backends.demucs import DemucsBackend
from server.backends.demucs.repo import find_model
from server.backends.demucs.spec import Selection, parse_stems, selection
from server.engine import Engine
from server.errors import DawgenError
from server.jobs import Request
from server.journal import Journal
from server.registry import Registry

from . import demucs_tiny

HAVE_DEMUCS = importlib.util.find_spec("demucs") is not None and importlib.util.find_spec("torch") is not None
needs_demucs = pytest.mark.skipif(not HAVE_DEMUCS, reason="the demucs extra is not installed (pip install 'dawgen[demucs]')")


@pytest.fixture(scope="session")
def repo(tmp_path_factory) -> Path:
    if not HAVE_DEMUCS:
        pytest.skip("the demucs extra is not installed (pip install 'dawgen[demucs]')")
    return demucs_tiny.make_repo(tmp_path_factory.mktemp("demucs-repo"))


def config(tmp_path, models: dict) -> object:
    data = {"output": {"root": str(tmp_path / "out")}, "server": {"state_dir": str(tmp_path / "state"),
                                                                  "isolation": "thread"}, "models": models}
    from server.config import parse

    return parse(data)


# -- the model folder ------------------------------------------------------------------------------
@needs_demucs
def test_a_bag_and_its_weight_files_are_found_as_demucs_names_them(repo):
    model = find_model(str(repo), "tiny_bag")
    assert [f.name.split("-")[0] for f in model.files] == ["a1b2c3d4", "c9d0e1f2"]
    assert model.bag == repo / "tiny_bag.yaml"
    single = find_model(str(repo), "a1b2c3d4")  # a signature loads a single model, as in demucs
    assert single.bag is None and re.fullmatch(r"a1b2c3d4-[0-9a-f]{8}\.th", single.files[0].name)


def test_a_missing_folder_or_model_file_is_named(tmp_path):
    with pytest.raises(DawgenError, match="not a folder"):
        find_model(str(tmp_path / "nope"), "htdemucs")
    (tmp_path / "htdemucs.yaml").write_text("models: ['955717e8']\n")
    (tmp_path / "04573f0d-3a8e7d5b.th").write_bytes(b"x")
    with pytest.raises(DawgenError) as info:
        find_model(str(tmp_path), "htdemucs")
    assert info.value.code == "model_unavailable"
    assert "htdemucs.yaml names model 955717e8" in info.value.message and "955717e8-<checksum>.th" in info.value.message
    with pytest.raises(DawgenError, match=r"no model 'mdx'.*models there: 04573f0d, htdemucs"):
        find_model(str(tmp_path), "mdx")
    (tmp_path / "broken.yaml").write_text("weights: [1]\n")
    with pytest.raises(DawgenError, match="needs `models:"):
        find_model(str(tmp_path), "broken")


def test_without_the_extra_the_model_is_unavailable_and_the_rest_works(tmp_path, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "demucs" else real(name, *a))
    registry = Registry(config(tmp_path, {"stems": {"backend": "demucs", "path": str(tmp_path), "name": "x"}}))
    assert "pip install 'dawgen[demucs]'" in registry.problems()["stems"]
    with pytest.raises(DawgenError) as info:
        registry.resolve("stems")
    assert info.value.code == "model_unavailable"
    assert registry.resolve("synth").backend is not None


@needs_demucs
def test_unknown_config_keys_are_refused(tmp_path, repo):
    registry = Registry(config(tmp_path, {"stems": {"backend": "demucs", "path": str(repo), "name": "tiny",
                                                    "segmnt": 4}}))
    assert "models.stems.segmnt: unknown key" in registry.problems()["stems"]


# -- params -------------------------------------------------------------------------------------------
def test_modes_pick_the_outputs():
    sources = demucs_tiny.SOURCES4
    assert selection({}).outputs(sources) == [(s, [i]) for i, s in enumerate(sources)]
    assert selection({"stems": "vocals, drums"}).outputs(sources) == [("drums", [0]), ("vocals", [3])]
    assert selection({"mode": "only:bass"}).outputs(sources) == [("bass", [1])]
    assert selection({"mode": "without:vocals"}).outputs(sources) == [("no_vocals", [0, 1, 2])]
    assert parse_stems("ALL") is None
    with pytest.raises(ValueError, match="its stems: drums, bass, other, vocals"):
        Selection("only", ("guitar",)).outputs(sources)
    with pytest.raises(ValueError, match="only with mode `stems`"):
        selection({"mode": "without:vocals", "stems": "drums"})


@pytest.fixture
def engine(tmp_path, repo):
    eng = Engine(config(tmp_path, {"stems": {"backend": "demucs", "path": str(repo), "name": "tiny"}}),
                 journal=Journal(":memory:"))
    eng.start(workers=False)  # submit-time checks only: no worker runs the jobs
    yield eng
    eng.close()


def submit_error(engine, **params) -> DawgenError:
    with pytest.raises(DawgenError) as info:
        engine.submit(Request("separate", {"model": "stems", **params}))
    return info.value


def test_bad_inputs_are_refused_at_submit_with_the_reason(engine, tmp_path):
    text = tmp_path / "notes.wav"
    text.write_text("not audio at all")
    empty = tmp_path / "empty.wav"
    sf.write(empty, np.zeros((0, 2), np.float32), 44100)
    song = tmp_path / "song.wav"
    sf.write(song, demucs_tiny.music(1.0), 44100)
    cases = {
        "input: required": {},
        f"{tmp_path / 'gone.wav'} does not exist": {"input": str(tmp_path / "gone.wav")},
        "relative path": {"input": "song.wav"},
        "is not a file": {"input": str(tmp_path)},
        "not audio that libsndfile or ffmpeg reads": {"input": str(text)},
        "holds no audio frames": {"input": str(empty)},
        "is not `stems`, `only:<stem>` or `without:<stem>`": {"input": str(song), "mode": "karaoke"},
        "only with mode `stems`": {"input": str(song), "mode": "only:vocals", "stems": "drums"},
        "below the minimum": {"input": str(song), "overlap": -0.5},
        "start: 5 s is past the end of input (1.000 s)": {"input": str(song), "start": 5},
        "end: 0.2 s is not after start (0.5 s)": {"input": str(song), "start": 0.5, "end": 0.2},
    }
    if shutil.which("ffprobe") is None:  # without ffmpeg the message says how to read other formats
        cases["install ffmpeg"] = cases.pop("not audio that libsndfile or ffmpeg reads")
    for message, params in cases.items():
        error = submit_error(engine, **params)
        assert error.code == "bad_request" and message in error.message, (params, error.message)
    job, _ = engine.submit(Request("separate", {"model": "stems", "input": str(song)}))
    assert "sample_rate" not in job.params  # the input's rate, not the engine's 48 kHz default


# -- the separation itself -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def torch():
    if not HAVE_DEMUCS:
        pytest.skip("the demucs extra is not installed (pip install 'dawgen[demucs]')")
    import torch

    return torch


class FixedDelays:
    """Stands in for `random` in apply_model and in ours: the same shift delays for both."""

    def __init__(self, offsets: list[int]) -> None:
        self.offsets = list(offsets)

    def randint(self, a: int, b: int) -> int:
        return self.offsets.pop(0)


def run_stream(model, x: np.ndarray, rate: int, outputs, shifts=1, overlap=0.25, rng=None, block=30000):
    from server.backends.audio_in import AudioSource  # noqa: F401 - same package, torch-free
    from server.backends.demucs.stream import MixFeed, Settings, Sink, separate

    channels = model.audio_channels
    ref = (x if x.shape[1] == channels else np.repeat(x[:, :1], channels, axis=1)).mean(axis=1, dtype=np.float64)
    mean, std = float(ref.mean()), float(ref.std(ddof=1)) + 1e-8
    frames = x.shape[0] if rate == model.samplerate else round(x.shape[0] * model.samplerate / rate)
    feed = MixFeed((x[i:i + block] for i in range(0, len(x), block)), frames, channels, rate, model.samplerate, mean, std)
    out_channels = 1 if x.shape[1] == 1 else channels
    sinks = [Sink(len(x), out_channels, channels, model.samplerate, rate) for _ in outputs]
    result = separate(model, feed, sinks, outputs, Settings(shifts, overlap), mean, std, rng or random.Random(0))
    return result, feed


def apply_model_reference(torch, model, x: np.ndarray, shifts: int, overlap: float):
    from demucs.apply import apply_model

    wav = torch.from_numpy(np.ascontiguousarray(x.T))
    ref = wav.mean(0)
    mean, std = ref.mean(), ref.std() + 1e-8
    with torch.inference_mode():
        out = apply_model(model, ((wav - mean) / std)[None], shifts=shifts, split=True, overlap=overlap)
    return (out * std + mean)[0].numpy()


@pytest.mark.parametrize("shifts", [0, 1])
def test_streaming_equals_apply_model_on_the_whole_track(torch, shifts):
    model = demucs_tiny.build(demucs_tiny.SOURCES4, seed=5)
    x = demucs_tiny.music(4.3)
    random.seed(11)
    expected = apply_model_reference(torch, model, x, shifts, 0.25)
    got, _ = run_stream(model, x, 44100, [[k] for k in range(4)], shifts=shifts, rng=random.Random(11))
    assert all(g.shape == x.shape for g in got)
    np.testing.assert_allclose(np.stack([g.T for g in got]), expected, atol=2e-6)


def test_a_bag_with_weights_and_two_shifts_equals_apply_model(torch, monkeypatch):
    from demucs.apply import BagOfModels

    bag = BagOfModels([demucs_tiny.build(demucs_tiny.SOURCES4, seed=6), demucs_tiny.build(demucs_tiny.SOURCES4, seed=7, segment=3)],
                      weights=[[1.0, 0.5, 1.0, 2.0], [1.0, 1.0, 0.25, 1.0]])
    x = demucs_tiny.music(4.0)
    delays = [300, 20000, 7, 15000]  # apply_model draws them member by member, shift by shift
    monkeypatch.setattr("demucs.apply.random", FixedDelays(delays))
    expected = apply_model_reference(torch, bag, x, 2, 0.4)
    got, _ = run_stream(bag, x, 44100, [[k] for k in range(4)], shifts=2, overlap=0.4, rng=FixedDelays(delays))
    np.testing.assert_allclose(np.stack([g.T for g in got]), expected, atol=2e-6)


class GainSplitter:
    """A model stand-in: source k = the mix times GAINS[k] (demucs' model interface, instant)."""

    GAINS = (0.1, 0.2, 0.3, 0.4)

    def __new__(cls, segment: float = 2.0):
        import torch

        class Splitter(torch.nn.Module):
            sources, samplerate, audio_channels = list(demucs_tiny.SOURCES4), 44100, 2

            def __init__(self) -> None:
                super().__init__()
                self.segment = segment
                self.gains = torch.nn.Parameter(torch.tensor(cls.GAINS), requires_grad=False)

            def forward(self, mix):
                return mix[:, None] * self.gains[None, :, None, None]

        return Splitter().eval()


@pytest.mark.parametrize("rate,channels", [(48000, 2), (44100, 1), (22050, 3)])
def test_stems_are_sample_aligned_and_as_long_as_the_input(torch, rate, channels):
    t = np.arange(int(9.7 * rate) + 17) / rate
    envelope = np.clip(np.sin(2 * np.pi * 0.7 * t), 0, None) ** 2  # smooth onsets: band-limited
    x = np.stack([envelope * np.sin(2 * np.pi * (220 + 100 * c) * t) * 0.5 for c in range(channels)], axis=1)
    x = x.astype(np.float32)
    outputs = [[0], [3], [0, 1, 2]]
    got, _ = run_stream(GainSplitter(), x, rate, outputs, shifts=1)
    layout = x if channels <= 2 else x[:, :2]
    mean = float(layout.mean(axis=1).mean()) if channels > 1 else float(x.mean())
    for sources, stem in zip(outputs, got):
        gain = sum(GainSplitter.GAINS[k] for k in sources)
        assert stem.shape == layout.shape  # mono stays mono, more than 2 channels become the model's 2
        want = layout * gain + mean * (len(sources) - gain)  # demucs adds the track's mean back per stem
        assert np.abs(stem - want).max() < 2e-4 * np.abs(want).max()
        lag = np.argmax(np.correlate(stem[5000:20000, 0], want[5000:20000, 0], "full")) - (15000 - 1)
        assert lag == 0


def test_a_section_comes_out_aligned_with_where_it_starts(tmp_path, repo, torch):
    from server.backends.base import RunContext

    rate = 48000
    t = np.arange(6 * rate) / rate
    x = np.stack([np.sin(2 * np.pi * 330 * t) * np.sin(2 * np.pi * 0.4 * t) * 0.5] * 2, axis=1).astype(np.float32)
    path = tmp_path / "take.wav"
    sf.write(path, x, rate, subtype="FLOAT")
    backend = DemucsBackend("stems", {"path": str(repo), "name": "tiny", "device": "cpu"})
    backend.use_model(GainSplitter(), "cpu")  # the real loading is tested above
    out = backend.run("separate", RunContext({"input": str(path), "start": 1.25, "end": 4.0, "mode": "only:vocals"}))
    part = x[60000:192000]
    want = part * 0.4 + part.mean() * 0.6
    assert out[0].samples.shape == part.shape and out[0].sample_rate == rate
    assert np.abs(out[0].samples - want)[2000:-2000].max() < 1e-4  # the edges of the part carry soxr's ringing


def test_memory_stays_bounded_however_long_the_input(torch):
    held, block = {}, 1 << 16
    for seconds in (20, 90):
        x = demucs_tiny.music(seconds, rate=48000)
        got, feed = run_stream(GainSplitter(segment=4.0), x, 48000, [[3]], shifts=2, block=block)
        assert got[0].shape == x.shape
        held[seconds] = feed.max_held
    # a few segments of mix at the model's rate (4 s each here), never the track: the same for 20 s
    # and 90 s give or take one block read from the file
    assert abs(held[90] - held[20]) <= block and held[90] < 4 * 4 * 44100


def test_a_raising_progress_stops_between_segments(torch):
    from server.backends.demucs.stream import MixFeed, Settings, Sink, separate

    calls = []

    def progress(fraction: float) -> None:
        calls.append(fraction)
        if len(calls) == 3:
            raise KeyboardInterrupt  # stands in for JobCancelled, raised by RunContext.progress

    x = demucs_tiny.music(10.0)
    feed = MixFeed(iter([x]), len(x), 2, 44100, 44100, 0.0, 1.0)
    with pytest.raises(KeyboardInterrupt):
        separate(GainSplitter(), feed, [Sink(len(x), 2, 2, 44100, 44100)], [[0]], Settings(1), 0.0, 1.0,
                 random.Random(0), progress)
    assert calls == sorted(calls) and calls[0] == 0.0 and len(calls) == 3


@needs_demucs
def test_backend_loads_from_the_folder_and_separates_a_file(tmp_path, repo, torch):
    song = tmp_path / "My Song.wav"
    sf.write(song, demucs_tiny.music(3.0, rate=48000), 48000, subtype="PCM_24")
    backend = DemucsBackend("stems", {"path": str(repo), "name": "tiny_6s", "device": "cpu"})
    backend.check_available()
    from server.backends.base import RunContext

    outputs = backend.run("separate", RunContext({"input": str(song), "mode": "without:piano"}))
    assert [o.meta["name"] for o in outputs] == ["my-song_no_piano"] and outputs[0].meta["folder"] == "my-song"
    assert outputs[0].sample_rate == 48000 and outputs[0].samples.shape == (3 * 48000, 2)
    assert outputs[0].meta["post"] == "none" and len(outputs[0].meta["sources"]) == 6
    fp = backend.fingerprint()
    assert list(fp["weights_sha256"]) == [f.name for f in find_model(str(repo), "tiny_6s").files]
    with pytest.raises(DawgenError, match="at most 2 s"):
        backend.run("separate", RunContext({"input": str(song), "segment": 4.0}))


def test_a_hugging_face_snapshot_in_safetensors_loads_too(tmp_path, torch):
    model = demucs_tiny.build(demucs_tiny.SOURCES4, seed=8)
    demucs_tiny.save_safetensors(model, tmp_path, "955717e8")
    demucs_tiny.write_bag(tmp_path, "htdemucs", ["955717e8"])
    found = find_model(str(tmp_path), "htdemucs")
    assert found.safetensors and [f.name for f in found.files] == ["955717e8.safetensors"]
    backend = DemucsBackend("stems", {"path": str(tmp_path), "name": "htdemucs", "device": "cpu"})
    backend.check_available()
    backend.load()
    loaded = backend.model.models[0]
    assert all(torch.equal(a, b) for a, b in zip(loaded.state_dict().values(), model.state_dict().values()))


def test_a_corrupt_weight_file_is_a_clear_load_error(tmp_path, torch):
    (tmp_path / "deadbeef.th").write_bytes(b"not a torch file")
    backend = DemucsBackend("stems", {"path": str(tmp_path), "name": "deadbeef", "device": "cpu"})
    backend.check_available()
    with pytest.raises(DawgenError) as info:
        backend.load()
    assert info.value.code == "model_unavailable" and "deadbeef" in info.value.message


@needs_demucs
def test_protocol_doc_describes_separate_with_its_exact_parameters():
    from bridge.protocol_doc import param_row
    from server.backends.demucs.spec import SEPARATE_PARAMS

    # the doc test compares tables of the default config (synth only); this one is checked here
    doc = (Path(__file__).resolve().parents[3] / "docs" / "PROTOCOL.md").read_text()
    section = doc.split("#### `/dawgen/separate` (demucs)", 1)[1].split("\n#", 1)[0]
    rows = [line.strip() for line in section.splitlines() if line.startswith("| `")]
    assert rows == [param_row(s) for s in SEPARATE_PARAMS]
