"""The bark backend on a tiny random-weight Bark saved as suno/bark-small is laid out.

The tiny model's semantic stage stops after 24 tokens (~0.48 s of audio a pass), so several passes
take a second or two on a CPU.
"""
from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest

from server.backends.bark import BarkBackend, spec
from server.backends.bark.files import check_folder, load_voice
from server.backends.bark.run import CROSSFADE_S, join
from server.backends.base import RunContext
from server.errors import DawgenError, ErrorCode, JobCancelled
from server.params import validate
from tests.server.backends.bark_tiny import SEMANTIC_TOKENS, VOICES, tiny_bark
from tests.server.backends.daemon_side import assert_daemon_side_imports_none

RATE = 24000
HOP = 320
# one pass: at most SEMANTIC_TOKENS semantic tokens → 75/49.9 coarse frames each → HOP samples each
PASS_MAX = int(SEMANTIC_TOKENS * 75 / 49.9 + 1) * HOP
WORDS = "♪ la la la [laughs] hello world ♪"


@pytest.fixture(scope="session")
def tiny(tmp_path_factory) -> Path:
    pytest.importorskip("torch", reason="torch is not installed (make test installs it)")
    pytest.importorskip("transformers", reason="the bark extra is not installed")
    return tiny_bark(tmp_path_factory.getbasetemp())


def loaded(path: Path, name: str = "vox", **options) -> BarkBackend:
    backend = BarkBackend(name, {"path": str(path), **options})
    backend.check_available()
    backend.load()
    return backend


@pytest.fixture(scope="module")
def vox(tiny) -> BarkBackend:
    return loaded(tiny)


def run(backend: BarkBackend, progress=None, cancel=None, **raw):
    params = validate(backend.verbs["generate"], raw, "generate")
    params.setdefault("seed", 0)
    backend.check_params("generate", params)
    return backend.run("generate", RunContext(params, progress, cancel))


# -- folders and voices (no torch) ----------------------------------------------------------------
def fake_folder(folder: Path, model_type: str = "bark") -> Path:
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"model_type": model_type}))
    (folder / "model.safetensors").write_bytes(b"weights")
    (folder / "vocab.txt").write_text("[PAD]\n[UNK]\n")
    return folder


def voices_in(folder: Path, names=("v2/en_speaker_0", "announcer"), coarse_shape=(2, 5)) -> None:
    table = {"repo_or_path": "suno/bark-small"}
    for name in names:
        entry = {}
        for key, shape, top in (("semantic_prompt", (7,), 10_000), ("coarse_prompt", coarse_shape, 1024),
                                ("fine_prompt", (8, 5), 1024)):
            rel = f"speaker_embeddings/{name}_{key}.npy"
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            np.save(folder / rel, np.arange(int(np.prod(shape))).reshape(shape) % top)
            entry[key] = rel
        table[name] = entry
    (folder / "speaker_embeddings_path.json").write_text(json.dumps(table))


def test_bad_folders_are_named_clearly(tmp_path):
    with pytest.raises(DawgenError, match="does not exist") as info:
        check_folder(str(tmp_path / "nowhere"))
    assert info.value.code == ErrorCode.MODEL_UNAVAILABLE
    with pytest.raises(DawgenError, match="model_type 'musicgen' is not Bark"):
        check_folder(str(fake_folder(tmp_path / "mg", "musicgen")))
    for missing, named in (("config.json", "config.json"), ("model.safetensors", "model.safetensors"),
                           ("vocab.txt", "tokenizer.json (or vocab.txt): the folder has no BERT tokenizer")):
        folder = fake_folder(tmp_path / missing)
        (folder / missing).unlink()
        with pytest.raises(DawgenError, match=re.escape(f"missing file {folder / named}")):
            check_folder(str(folder))
    with pytest.raises(DawgenError, match="no `path` given"):
        BarkBackend("vox", {}).check_available()


def test_sharded_weights_need_every_shard(tmp_path):
    folder = fake_folder(tmp_path / "m")
    (folder / "model.safetensors").unlink()
    shards = ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]
    (folder / "model.safetensors.index.json").write_text(json.dumps({"weight_map": {"a": shards[0], "b": shards[1]}}))
    (folder / shards[0]).write_bytes(b"12345")
    with pytest.raises(DawgenError, match=re.escape(f"missing file {folder / shards[1]}")):
        check_folder(str(folder))
    (folder / shards[1]).write_bytes(b"123")
    assert check_folder(str(folder)).weight_files() == [folder / s for s in shards]
    assert BarkBackend("m", {"path": str(folder), "device": "cpu"}).memory_bytes() == 8


def test_a_cache_entry_resolves_and_a_link_to_a_missing_blob_is_named(tmp_path):
    source = fake_folder(tmp_path / "src")
    repo = tmp_path / "hub" / "models--suno--bark-small"
    snap = repo / "snapshots" / "abc123"
    (repo / "blobs").mkdir(parents=True)
    snap.mkdir(parents=True)
    for file in source.iterdir():
        blob = repo / "blobs" / file.name.replace(".", "_")
        shutil.copyfile(file, blob)
        os.symlink(os.path.relpath(blob, snap), snap / file.name)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("abc123")
    assert check_folder(str(repo)).folder == snap
    os.unlink(os.path.realpath(snap / "model.safetensors"))
    with pytest.raises(DawgenError, match="a link to a blob that is not there"):
        check_folder(str(repo))


def test_only_complete_voices_inside_the_folder_are_offered(tmp_path):
    folder = fake_folder(tmp_path / "m")
    voices_in(folder, ("v2/en_speaker_0", "v2/en_speaker_1", "announcer"))
    (folder / "speaker_embeddings/v2/en_speaker_1_fine_prompt.npy").unlink()  # a cache without that download
    table = json.loads((folder / "speaker_embeddings_path.json").read_text())
    table["escape"] = {key: "../../etc/passwd" for key in ("semantic_prompt", "coarse_prompt", "fine_prompt")}
    (folder / "speaker_embeddings_path.json").write_text(json.dumps(table))
    files = check_folder(str(folder))
    assert sorted(files.voices) == ["announcer", "v2/en_speaker_0"] and files.listed == 4
    assert BarkBackend("m", {"path": str(folder)}).describe()["voices"] == ["announcer", "v2/en_speaker_0"]
    arrays = load_voice(files, "v2/en_speaker_0")
    assert arrays["semantic_prompt"].shape == (7,) and arrays["coarse_prompt"].shape == (2, 5)
    assert all(a.dtype == np.int64 for a in arrays.values())
    with pytest.raises(DawgenError) as info:
        load_voice(files, "v2/en_speaker_1")
    assert info.value.code == ErrorCode.BAD_REQUEST
    assert "announcer, v2/en_speaker_0" in info.value.message


def test_a_pickled_or_malformed_voice_is_refused(tmp_path):
    folder = fake_folder(tmp_path / "m")
    voices_in(folder, ("a", "b"), coarse_shape=(2, 5))
    np.save(folder / "speaker_embeddings/a_semantic_prompt.npy", np.array([{"x": 1}], dtype=object), allow_pickle=True)
    np.save(folder / "speaker_embeddings/b_coarse_prompt.npy", np.full((2, 5), 5000))  # past the codebook
    files = check_folder(str(folder))
    with pytest.raises(DawgenError, match="without pickle") as info:
        load_voice(files, "a")
    assert info.value.code == ErrorCode.MODEL_UNAVAILABLE
    with pytest.raises(DawgenError, match="outside 0..1023"):
        load_voice(files, "b")


def test_without_the_extra_the_model_is_unavailable_naming_it(tmp_path, monkeypatch):
    from server.config import ModelConfig, load
    from server.engine import Engine
    from server.journal import Journal

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "transformers" else real(name, *a))
    config = load(None, {"output.root": str(tmp_path / "out"), "server.isolation": "thread"})
    config.models["vox"] = ModelConfig("vox", "bark", {"path": str(fake_folder(tmp_path / "m"))})
    engine = Engine(config, journal=Journal(":memory:"))
    problem = engine.registry.problems()["vox"]
    assert "pip install 'dawgen[bark]'" in problem and "transformers" in problem


# -- generation on the tiny model -----------------------------------------------------------------
def test_output_is_24k_mono_within_one_pass_and_seeded(vox):
    first = run(vox, prompt=WORDS, voice="v2/en_speaker_0", seed=3)[0]
    assert first.sample_rate == RATE and first.channels == 1
    assert HOP <= first.frames <= PASS_MAX and first.frames % HOP == 0
    assert first.meta["passes"] == 1 and first.meta["voice"] == "v2/en_speaker_0"
    assert first.meta["texts"] == [WORDS]  # the ♪ marks and the [laughs] cue reach the model as written
    again = run(vox, prompt=WORDS, voice="v2/en_speaker_0", seed=3)[0]
    other = run(vox, prompt=WORDS, voice="v2/en_speaker_0", seed=4)[0]
    assert np.array_equal(first.samples, again.samples)
    n = min(first.frames, other.frames)
    assert np.abs(first.samples[:n] - other.samples[:n]).max() > 1e-4


def test_the_voice_preset_changes_the_output(vox):
    outs = [run(vox, prompt=WORDS, voice=v, seed=5)[0].samples for v in VOICES]
    for i in range(len(outs)):
        for j in range(i + 1, len(outs)):
            n = min(len(outs[i]), len(outs[j]))
            assert np.abs(outs[i][:n] - outs[j][:n]).max() > 1e-4, (VOICES[i], VOICES[j])


def test_an_unknown_voice_is_a_bad_request_listing_the_voices(vox):
    with pytest.raises(DawgenError) as info:
        run(vox, prompt=WORDS, voice="v2/xx_speaker_9")
    assert info.value.code == ErrorCode.BAD_REQUEST
    assert all(v in info.value.message for v in VOICES)
    with pytest.raises(DawgenError) as info:
        vox.run("generate", RunContext({"prompt": WORDS, "voice": "nobody", "seed": 1}))  # past submit
    assert info.value.code == ErrorCode.BAD_REQUEST and "announcer" in info.value.message
    with pytest.raises(DawgenError, match="give the words") as info:
        run(vox, prompt="  ")
    assert info.value.code == ErrorCode.BAD_REQUEST


def test_long_words_are_made_pass_by_pass_and_joined_without_clicks(vox, monkeypatch):
    pieces = []
    real = vox.runner.one_pass

    def spy(*args, **kwargs):
        made = real(*args, **kwargs)
        pieces.append(made.audio)
        return made

    monkeypatch.setattr(vox.runner, "one_pass", spy)
    text = " ".join(f"Hello world number {i}, we sing tonight." for i in range(12))
    out = run(vox, prompt=text, seed=2)[0]
    passes = spec.split_passes(text)
    assert out.meta["passes"] == len(passes) == len(pieces) >= 2 and out.meta["texts"] == passes
    fade = int(CROSSFADE_S * RATE)
    assert out.frames == sum(len(p) for p in pieces) - fade * (len(pieces) - 1)
    assert out.frames <= len(passes) * PASS_MAX
    np.testing.assert_array_equal(out.samples[:, 0], join(pieces, fade))
    # no step at a join: a sample-to-sample change no larger than inside the passes, plus the ramp's
    steepest = max(np.abs(np.diff(p)).max() for p in pieces)
    peak = max(np.abs(p).max() for p in pieces)
    assert np.abs(np.diff(out.samples[:, 0])).max() <= steepest + 2 * peak / fade + 1e-6


def test_count_makes_takes_whose_seeds_regenerate_alone(vox):
    takes = run(vox, prompt=WORDS, voice="announcer", seed=10, count=2)
    assert [t.seed for t in takes] == [10, 11]
    alone = run(vox, prompt=WORDS, voice="announcer", seed=11)[0]
    assert np.array_equal(alone.samples, takes[1].samples)


def test_progress_goes_stage_by_stage_and_cancel_stops_at_the_next_token(vox):
    seen = []
    run(vox, progress=lambda f, s: seen.append((f, s)), prompt=WORDS, voice="announcer", seed=1)
    stages = [s for _, s in seen]
    order = [s for i, s in enumerate(stages) if i == 0 or stages[i - 1] != s]
    assert order == ["semantic", "coarse", "fine", "codec"]
    assert stages.count("semantic") >= SEMANTIC_TOKENS // 2 and stages.count("coarse") > 10
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    cancel, calls = threading.Event(), []

    def progress(fraction, stage):
        calls.append(stage)
        if len(calls) == 5:
            cancel.set()

    with pytest.raises(JobCancelled):
        run(vox, progress=progress, cancel=cancel, prompt=WORDS, seed=1)
    assert calls == ["semantic"] * 5  # the token after the cancel raised before reporting


def test_memory_estimate_before_and_after_loading(tiny, vox):
    before = BarkBackend("cold", {"path": str(tiny)}).memory_bytes()
    assert before == (tiny / "model.safetensors").stat().st_size
    assert 0.8 * before <= vox.memory_bytes() <= 1.2 * before


class _Evil:
    def __reduce__(self):
        return (print, ("a model file ran code",))


def test_a_pytorch_model_bin_that_would_run_code_is_refused(tiny, tmp_path, capsys):
    import torch
    from safetensors.torch import load_file

    folder = tmp_path / "evil"
    shutil.copytree(tiny, folder)
    state = load_file(str(folder / "model.safetensors"))
    (folder / "model.safetensors").unlink()
    torch.save({**state, "payload": _Evil()}, folder / "pytorch_model.bin")
    backend = BarkBackend("evil", {"path": str(folder), "warmup": False})
    with pytest.raises(DawgenError) as info:
        backend.load()
    assert info.value.code == ErrorCode.MODEL_UNAVAILABLE and "pytorch_model.bin" in info.value.message
    assert "ran code" not in capsys.readouterr().out


def test_a_pytorch_model_bin_loads_weights_only(tiny, tmp_path):
    """A folder with a pickle (pytorch_model.bin) loads through torch's weights-only reader."""
    import torch
    from safetensors.torch import load_file

    folder = tmp_path / "bin"
    shutil.copytree(tiny, folder)
    state = load_file(str(folder / "model.safetensors"))
    (folder / "model.safetensors").unlink()
    torch.save(state, folder / "pytorch_model.bin")
    backend = loaded(folder, "bin", warmup=False)
    assert run(backend, prompt=WORDS, voice="announcer", seed=1)[0].frames > 0


# -- through the engine: DAW-ready files, provenance, regen ---------------------------------------
def test_the_engine_writes_daw_ready_files_with_provenance_that_regen_remakes(tiny, tmp_path):
    import soundfile as sf

    from bridge.regen import load_provenance, request_from
    from server.config import ModelConfig, load
    from server.engine import Engine
    from server.jobs import JobState, Request
    from tests.waiting import wait_until

    config = load(None, {"output.root": str(tmp_path / "out"), "server.state_dir": str(tmp_path / "state"),
                         "server.isolation": "thread"})
    config.models["vox"] = ModelConfig("vox", "bark", {"path": str(tiny), "voice": "announcer", "warmup": False})
    engine = Engine(config)
    engine.start()

    def finished(request: Request):
        job, _ = engine.submit(request)
        return wait_until(lambda: (lambda j: j if j.state.finished else None)(engine.status(job.id)[0]),
                          timeout=120, what="the bark job")

    try:
        with pytest.raises(DawgenError) as info:  # refused at submit, the daemon keeps going
            engine.submit(Request("generate", {"model": "vox", "prompt": "hi", "voice": "nobody"}))
        assert info.value.code == ErrorCode.BAD_REQUEST and "v2/en_speaker_0" in info.value.message
        params = {"model": "vox", "prompt": "Hello world. " * 20, "seed": 7, "count": 2, "bit_depth": "32f"}
        job = finished(Request("generate", params))
        assert job.state is JobState.DONE and len(job.outputs) == 2
        audio, rate = sf.read(job.outputs[1], always_2d=True)
        assert rate == config.output.sample_rate and audio.shape[0] > 0.9 * rate  # resampled from 24 kHz
        assert audio.shape[1] == 1 and np.abs(audio).max() > 0.1  # mono, brought up from the tiny model's level
        side = load_provenance(job.outputs[1])
        assert side["model"]["backend"] == "bark" and side["model"]["weights_sha256"] and side["seed"] == 8
        assert side["meta"]["voice"] == "announcer" and side["meta"]["passes"] >= 2
        verb, again = request_from(side)
        assert (verb, again["count"], again["seed"]) == ("generate", 1, 8)
        remade = finished(Request(verb, {**again, "dir": "again"}))
        assert remade.state is JobState.DONE
        assert np.array_equal(sf.read(remade.outputs[0], always_2d=True)[0], audio)
    finally:
        engine.stop(5)
        engine.close()


def test_the_least_recently_used_bark_model_makes_room(tiny):
    """The registry's budget with the tiny model loaded as the daemon's model process loads it."""
    from server.config import parse
    from server.registry import Registry

    models = {name: {"backend": "bark", "path": str(tiny), "device": "cpu", "warmup": False} for name in "abc"}

    def registry(budget: str) -> Registry:
        return Registry(parse({"server": {"memory_budget": {"cpu": budget}}, "models": models}))

    probe = registry("64GB")
    probe.backend("a")
    loaded = probe.resolve("a").backend.memory_bytes()
    r = registry(f"{int(loaded * 2.6)}B")  # two fit, three do not
    r.backend("a")
    r.backend("b")
    r.backend("a")
    r.backend("c")
    assert set(r.warm()) >= {"a", "c"} and "b" not in r.warm()
    with pytest.raises(DawgenError) as err:
        registry(f"{loaded // 4}B").backend("a")
    assert err.value.code == "out_of_memory"


def test_protocol_doc_holds_the_bark_parameter_table():
    from bridge.protocol_doc import param_row

    doc = (Path(__file__).resolve().parents[3] / "docs" / "PROTOCOL.md").read_text().splitlines()
    heading = "#### `/dawgen/generate` with a `bark` model"
    assert heading in doc
    rows = []
    for line in doc[doc.index(heading) + 1:]:
        if line.startswith("#"):
            break
        if line.startswith("| `"):
            rows.append(line)
    assert rows == [param_row(s) for s in spec.GENERATE_PARAMS]


def test_the_daemon_side_never_imports_torch(tiny):
    """Registry, submit-time checks (voices included) and `models` run in the daemon process: no torch."""
    assert_daemon_side_imports_none("bark", {"path": str(tiny)}, "generate", {"prompt": "hi", "voice": "announcer"},
                                    ("torch", "transformers"))
