"""The diffusers backend on tiny random-weight AudioLDM2, MusicLDM and Stable Audio Open pipelines,
saved as users' folders are (AudioLDM2 in the published layout) and loaded back offline.
(Generation through a real daemon is tests/e2e/test_diffusers_osc.py.)"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from server.backends.base import RunContext
from server.backends.diffusers import DiffusersBackend, spec
from server.backends.diffusers.files import check_folder
from server.errors import DawgenError, ErrorCode, JobCancelled
from server.params import validate
from tests.server.backends.daemon_side import assert_daemon_side_imports_none
from tests.server.backends.diffusers_tiny import tiny_models

RATE = 16000
FAMILIES = ("audioldm2", "musicldm", "stable-audio")


@pytest.fixture(scope="session")
def tiny(tmp_path_factory) -> dict[str, Path]:
    pytest.importorskip("torch", reason="torch is not installed (make test installs it)")
    pytest.importorskip("diffusers", reason="the diffusers extra is not installed")
    pytest.importorskip("torchsde", reason="the diffusers extra is not installed")
    return tiny_models(tmp_path_factory.getbasetemp())


@pytest.fixture(scope="module")
def models(tiny) -> dict[str, DiffusersBackend]:
    out = {}
    for name in FAMILIES:
        backend = DiffusersBackend(name, {"path": str(tiny[name]), "device": "cpu"})
        backend.check_available()
        backend.load()
        out[name] = backend
    return out


def run(backend: DiffusersBackend, verb: str = "generate", progress=None, cancel=None, **raw):
    raw.setdefault("steps", 3)
    params = validate(backend.verbs[verb], raw, verb)
    params.setdefault("seed", 0)
    return backend.run(verb, RunContext(params, progress, cancel))


def write_clip(path: Path, seconds: float, rate: int = 44100, freq: float = 330.0) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    clip = np.stack([0.5 * np.sin(2 * np.pi * freq * t), 0.3 * np.sin(2 * np.pi * freq * 1.5 * t)], axis=1)
    sf.write(path, clip.astype(np.float32), rate, subtype="FLOAT")
    return clip


# -- folders (no torch) -------------------------------------------------------------------------
def fake_folder(folder: Path, pipeline: str = "StableAudioPipeline") -> Path:
    components = {"vae": ("diffusers", "AutoencoderOobleck"), "transformer": ("diffusers", "StableAudioDiTModel"),
                  "scheduler": ("diffusers", "CosineDPMSolverMultistepScheduler"),
                  "tokenizer": ("transformers", "T5TokenizerFast")}
    folder.mkdir(parents=True)
    (folder / "model_index.json").write_text(json.dumps({"_class_name": pipeline, **components}))
    for name in components:
        (folder / name).mkdir()
    (folder / "vae" / "config.json").write_text(json.dumps({"sampling_rate": 44100, "downsampling_ratios": [2, 4, 4, 8, 8]}))
    (folder / "transformer" / "config.json").write_text(json.dumps({"sample_size": 1024}))
    for name in ("vae", "transformer"):
        (folder / name / "diffusion_pytorch_model.safetensors").write_bytes(b"w")
    (folder / "scheduler" / "scheduler_config.json").write_text("{}")
    (folder / "tokenizer" / "tokenizer_config.json").write_text("{}")
    return folder


def fake_cache(tmp_path: Path, source: Path) -> Path:
    """huggingface_hub's layout: blobs by hash, snapshot files as relative links to them."""
    repo = tmp_path / "hub" / "models--stabilityai--stable-audio-open-1.0"
    snap = repo / "snapshots" / "abc123"
    (repo / "blobs").mkdir(parents=True)
    for file in source.rglob("*"):
        if file.is_file():
            blob = repo / "blobs" / hashlib.sha256(file.read_bytes()).hexdigest()
            shutil.copyfile(file, blob)
            target = snap / file.relative_to(source)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.symlink(os.path.relpath(blob, target.parent), target)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("abc123")
    return repo


def test_the_pipeline_class_sets_verbs_limits_and_defaults(tmp_path):
    files = check_folder(str(fake_folder(tmp_path / "sao")))
    assert files.family.pipeline == "StableAudioPipeline" and files.sample_rate == 44100
    assert files.window_seconds == pytest.approx(1024 * 2048 / 44100)  # SAO 1.0's 47.55 s
    assert spec.sampling(files, {}) == spec.Sampling(100, 7.0)
    assert spec.sampling(files, {"steps": 8, "guidance": 1.0}) == spec.Sampling(8, 1.0)
    assert spec.seconds(files, {"bars": 2, "bpm": 120}) == pytest.approx(4.0)
    with pytest.raises(ValueError, match="longer than this model makes"):
        spec.seconds(files, {"seconds": 60.0})
    assert set(DiffusersBackend("s", {"path": str(tmp_path / "sao")}).verbs) == {"generate", "vary"}
    assert "torchsde" in DiffusersBackend("s", {"path": str(tmp_path / "sao")}).requires


def test_bad_folders_are_named(tmp_path):
    with pytest.raises(DawgenError, match="does not exist"):
        check_folder(str(tmp_path / "nowhere"))
    (tmp_path / "musicgen").mkdir()
    (tmp_path / "musicgen" / "config.json").write_text("{}")
    with pytest.raises(DawgenError, match="missing file .*model_index.json"):
        check_folder(str(tmp_path / "musicgen"))
    with pytest.raises(DawgenError, match="'StableDiffusionPipeline'; the diffusers backend runs AudioLDM2Pipeline"):
        check_folder(str(fake_folder(tmp_path / "sd", "StableDiffusionPipeline")))
    folder = fake_folder(tmp_path / "cut")
    (folder / "transformer" / "diffusion_pytorch_model.safetensors").unlink()
    with pytest.raises(DawgenError, match="missing weights in .*transformer") as info:
        check_folder(str(folder))
    assert info.value.code == ErrorCode.MODEL_UNAVAILABLE
    (folder / "vae" / "config.json").unlink()
    with pytest.raises(DawgenError, match="missing file .*vae/config.json"):
        check_folder(str(folder))
    shutil.rmtree(folder / "vae")
    with pytest.raises(DawgenError, match="missing folder .*vae"):
        check_folder(str(folder))


def test_a_cache_entry_resolves_and_a_missing_blob_is_named(tmp_path):
    repo = fake_cache(tmp_path, fake_folder(tmp_path / "src"))
    assert check_folder(str(repo)).folder == repo / "snapshots" / "abc123"
    weights = repo / "snapshots" / "abc123" / "transformer" / "diffusion_pytorch_model.safetensors"
    os.unlink(os.path.realpath(weights))
    with pytest.raises(DawgenError, match="links to a blob that is not there"):
        check_folder(str(repo))


def test_without_the_extra_the_model_is_unavailable_naming_it(tmp_path, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "diffusers" else real(name, *a))
    backend = DiffusersBackend("sao", {"path": str(fake_folder(tmp_path / "sao"))})
    with pytest.raises(DawgenError) as info:
        backend.check_available()
    assert info.value.code == ErrorCode.MODEL_UNAVAILABLE
    assert "diffusers" in info.value.message and "pip install 'dawgen[diffusers]'" in info.value.message


def test_protocol_doc_describes_both_verbs_with_their_exact_parameters():
    from bridge.protocol_doc import param_row

    doc = (Path(__file__).resolve().parents[3] / "docs" / "PROTOCOL.md").read_text()
    for heading, specs in (("#### `/dawgen/generate` with a `diffusers` model", spec.GENERATE_PARAMS),
                           ("#### `/dawgen/vary` (diffusers, Stable Audio Open only)", spec.VARY_PARAMS)):
        assert heading in doc, heading
        section = doc.split(heading, 1)[1].split("\n#", 1)[0]
        rows = [line.strip() for line in section.splitlines() if line.startswith("| `")]
        assert rows == [param_row(s) for s in specs], heading


# -- generation on the tiny pipelines -------------------------------------------------------------
@pytest.mark.parametrize("family", FAMILIES)
def test_count_is_one_batch_whose_rows_are_their_own_seeds(models, family):
    backend = models[family]
    batch = run(backend, prompt="dark techno", seconds=0.5, count=2, seed=10)
    channels = 2 if family == "stable-audio" else 1
    assert [a.seed for a in batch] == [10, 11]
    assert all(a.sample_rate == RATE and a.samples.shape == (8000, channels) for a in batch)
    assert batch[0].meta["pipeline"] == backend.fingerprint()["pipeline"] and batch[0].meta["steps"] == 3
    single = run(backend, prompt="dark techno", seconds=0.5, seed=11)[0]
    np.testing.assert_allclose(single.samples, batch[1].samples, atol=1e-4)  # `dawgen regen` of row 1
    assert np.abs(batch[0].samples - batch[1].samples).max() > 0.05


@pytest.mark.parametrize("family", FAMILIES)
def test_same_seed_same_audio_and_seed_prompt_negative_prompt_change_it(models, family):
    backend = models[family]
    first = run(backend, prompt="warm piano", seconds=0.3, seed=7)[0].samples
    assert np.array_equal(first, run(backend, prompt="warm piano", seconds=0.3, seed=7)[0].samples)
    for other in ({"seed": 8}, {"prompt": "noisy drums"}, {"negative_prompt": "low quality"}):
        changed = run(backend, **{"prompt": "warm piano", "seconds": 0.3, "seed": 7, **other})[0].samples
        assert np.abs(first - changed).max() > 0.01, other


@pytest.mark.parametrize("family, seconds", [("audioldm2", 1.234), ("musicldm", 0.05), ("stable-audio", 2.048)])
def test_lengths_are_exact(models, family, seconds):
    out = run(models[family], prompt="pad", seconds=seconds, steps=2)[0]
    assert out.frames == int(round(seconds * RATE))


def test_length_limits_are_checked_at_submit(models):
    with pytest.raises(DawgenError, match="longer than this model makes") as info:
        models["stable-audio"].check_params("generate", {"seconds": 2.5})
    assert info.value.code == ErrorCode.BAD_REQUEST
    with pytest.raises(DawgenError, match="shorter than"):
        models["audioldm2"].check_params("generate", {"seconds": 0.01})


def test_progress_every_step_and_cancel_at_the_next_step(models):
    seen = []
    run(models["audioldm2"], progress=lambda f, s: seen.append((f, s)), prompt="rain", seconds=0.2, steps=4)
    generating = [f for f, s in seen if s == "generating"]
    assert len(generating) == 5 and generating == sorted(generating) and seen[-1] == (1.0, "decoding")
    for family in FAMILIES:
        cancel, calls = threading.Event(), []

        def progress(fraction, stage, calls=calls, cancel=cancel):
            calls.append(fraction)
            if len(calls) == 3:  # the start and two steps
                cancel.set()

        with pytest.raises(JobCancelled):
            run(models[family], progress=progress, cancel=cancel, prompt="drone", seconds=0.3, steps=20)
        assert len(calls) == 3, family  # the step after the cancel raised before reporting anything


def test_vary_is_offered_only_where_the_pipeline_takes_audio_in(models, tmp_path):
    assert set(models["stable-audio"].verbs) == {"generate", "vary"}
    write_clip(tmp_path / "clip.wav", 1.0)
    for family in ("audioldm2", "musicldm"):
        assert set(models[family].verbs) == {"generate"}
        with pytest.raises(DawgenError) as info:
            models[family].run("vary", RunContext({"input": str(tmp_path / "clip.wav"), "seed": 1}))
        assert info.value.code == ErrorCode.UNKNOWN_VERB and "does not do 'vary'" in info.value.message


def test_vary_starts_from_the_input_by_strength(models, tmp_path):
    sao = models["stable-audio"]
    write_clip(tmp_path / "tone.wav", 1.5, rate=44100)
    noise = (0.3 * np.random.default_rng(0).standard_normal((int(1.5 * 22050), 1))).astype(np.float32)
    sf.write(tmp_path / "noise.wav", noise, 22050)
    tone, other = str(tmp_path / "tone.wav"), str(tmp_path / "noise.wav")
    same = run(sao, "vary", input=tone, strength=0.0, seed=1)[0]
    assert same.frames == int(1.5 * RATE) and same.channels == 2 and same.meta["post"] == "none"
    assert same.meta["strength"] == 0.0 and same.samples.std() > 0.1  # the input itself, at the model's rate

    def apart(strength: float) -> float:
        """How far the results from two different inputs are: the input's weight in the result."""
        a = run(sao, "vary", input=tone, strength=strength, seed=3, steps=4)[0].samples
        b = run(sao, "vary", input=other, strength=strength, seed=3, steps=4)[0].samples
        assert a.shape == b.shape == same.samples.shape
        return float(np.sqrt(np.mean((a - b) ** 2)))

    near, far = apart(0.2), apart(1.0)  # from sigma 1.3 the input shows; from sigma 500 it barely does
    assert near > 20 * far, (near, far)
    batch = run(sao, "vary", input=tone, strength=0.6, seed=20, count=2, seconds=1.0)
    assert [a.frames for a in batch] == [RATE, RATE] and [a.seed for a in batch] == [20, 21]
    single = run(sao, "vary", input=tone, strength=0.6, seed=21, seconds=1.0)[0]
    np.testing.assert_allclose(single.samples, batch[1].samples, atol=1e-4)
    assert np.abs(batch[0].samples - batch[1].samples).max() > 0.01


def test_a_cancelled_vary_leaves_the_text_to_audio_scheduler(models, tmp_path):
    sao = models["stable-audio"]
    scheduler = sao._loaded_model.pipe.scheduler
    write_clip(tmp_path / "clip.wav", 0.5)
    cancel = threading.Event()
    with pytest.raises(JobCancelled):
        run(sao, "vary", progress=lambda f, s: cancel.set(), cancel=cancel, input=str(tmp_path / "clip.wav"))
    assert sao._loaded_model.pipe.scheduler is scheduler and scheduler.config.sigma_max == 500.0


def test_the_published_audioldm2_layout_names_gpt2model_and_loads(tiny, models):
    index = json.loads((tiny["audioldm2"] / "model_index.json").read_text())
    assert index["language_model"] == ["transformers", "GPT2Model"]
    assert type(models["audioldm2"]._loaded_model.pipe.language_model).__name__ == "GPT2LMHeadModel"


def test_memory_estimate_before_and_after_loading(tiny, models):
    for family in FAMILIES:
        fresh = DiffusersBackend(family, {"path": str(tiny[family]), "device": "cpu"})
        fresh.check_available()
        estimate, loaded = fresh.memory_bytes(), models[family].memory_bytes()
        assert estimate > 0 and loaded > 0
        assert 0.8 < estimate / loaded < 1.25, (family, estimate, loaded)  # float32 files ≈ float32 modules


def test_a_pickled_component_that_runs_code_is_refused(tiny, tmp_path):
    import torch
    from safetensors.torch import load_file

    from tests.server.backends.test_safe_load import SYSTEM, touch

    folder = tmp_path / "planted"
    shutil.copytree(tiny["stable-audio"], folder)
    part = folder / "projection_model"
    state = load_file(str(part / "diffusion_pytorch_model.safetensors"))
    (part / "diffusion_pytorch_model.safetensors").unlink()
    marker = tmp_path / "ran"
    torch.save({**state, "planted": touch(marker)}, part / "diffusion_pytorch_model.bin")
    backend = DiffusersBackend("planted", {"path": str(folder), "device": "cpu"})
    backend.check_available()  # the files are all there: only loading them is refused
    with pytest.raises(DawgenError) as info:
        backend.load()
    assert info.value.code == ErrorCode.MODEL_UNAVAILABLE and "allow_pickle" in info.value.message
    assert str(part / "diffusion_pytorch_model.bin") in info.value.message and SYSTEM in info.value.message
    assert not marker.exists()


def test_a_bad_folder_is_a_problem_of_that_model_and_the_engine_goes_on(tmp_path):
    from server.config import ModelConfig, load
    from server.engine import Engine
    from server.journal import Journal

    (tmp_path / "not-diffusers").mkdir()
    config = load(None, {"output.root": str(tmp_path / "out"), "server.isolation": "thread"})
    config.models["bad"] = ModelConfig("bad", "diffusers", {"path": str(tmp_path / "not-diffusers")})
    engine = Engine(config, journal=Journal(":memory:"))
    assert "model_index.json" in engine.registry.problems()["bad"]
    with pytest.raises(DawgenError) as info:
        engine.params_for("bad", "generate")
    assert info.value.code == ErrorCode.MODEL_UNAVAILABLE
    out = engine.registry.backend("synth").run("generate", RunContext({"prompt": "kick", "seed": 1, "sample_rate": 48000}))
    assert out and out[0].frames > 0


def test_the_registry_keeps_pipelines_warm_within_its_memory_budget(tiny):
    """Loaded through the registry as the model process loads them; the least recently used goes."""
    from server.config import parse
    from server.registry import Registry

    models = {name: {"backend": "diffusers", "path": str(tiny[name]), "device": "cpu"} for name in FAMILIES}

    def registry(budget: int) -> Registry:
        return Registry(parse({"server": {"memory_budget": {"cpu": f"{budget}B"}}, "models": models}))

    sizes = {}
    probe = registry(2**34)
    for name in FAMILIES:
        probe.backend(name)
        sizes[name] = probe.resolve(name).backend.memory_bytes()
    r = registry(sizes["audioldm2"] + sizes["musicldm"] + sizes["stable-audio"] // 2)  # two fit, not all three
    r.backend("audioldm2")
    r.backend("stable-audio")
    r.backend("audioldm2")  # used again: stable-audio is now the least recently used
    r.backend("musicldm")
    assert set(r.warm()) >= {"audioldm2", "musicldm"} and "stable-audio" not in r.warm()
    with pytest.raises(DawgenError) as err:
        registry(sizes["audioldm2"] // 4).backend("audioldm2")  # larger than the whole budget: refused
    assert err.value.code == "out_of_memory"


def test_the_daemon_side_never_imports_torch_or_diffusers(tmp_path):
    """Registry, submit-time checks and `models` run in the daemon process: no torch, no diffusers."""
    folder = fake_folder(tmp_path / "sao")
    write_clip(tmp_path / "clip.wav", 0.5)
    assert_daemon_side_imports_none("diffusers", {"path": str(folder)}, "vary", {"input": str(tmp_path / "clip.wav")},
                                    ("torch", "diffusers", "transformers"))
