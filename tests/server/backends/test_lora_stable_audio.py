"""LoRA adapters on Stable Audio and Dance Diffusion models at generation time, through the engine
(immediate isolation: the daemon's own code paths in one process) and a config file on disk: the
tiny models of stable_audio_tiny.py, adapters written by stable-audio-tools itself (lora_tiny.py)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from server.errors import DawgenError, ErrorCode
from server.jobs import JobState, Request

pytest.importorskip("torch", reason="torch is not installed (make test installs it)")
pytest.importorskip("stable_audio_tools", reason="stable-audio-tools is not installed (make install-stable-audio)")

PROBE = {"model": "sao", "prompt": "deep kick", "seconds": 0.5, "seed": 4, "steps": 3, "bit_depth": "32f"}


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    from server.output.provenance import file_sha256
    from tests.server.backends.lora_tiny import sat_adapter
    from tests.server.backends.stable_audio_tiny import tiny_models

    base = tmp_path_factory.getbasetemp()
    tiny = dict(tiny_models(base))
    root = tmp_path_factory.mktemp("loras")
    tiny["a"] = sat_adapter(tiny["sao"], root / "a" / "a.safetensors", 1, t5=tiny["t5"])
    tiny["b"] = sat_adapter(tiny["sao"], root / "b.safetensors", 2, t5=tiny["t5"])
    tiny["d"] = sat_adapter(tiny["dance"], root / "d.safetensors", 3)
    tiny["dora"] = sat_adapter(tiny["sao"], root / "dora.safetensors", 4, t5=tiny["t5"], adapter_type="dora-rows")
    # trained runs as `dawgen train` leaves them: one on the sao weights, one claiming other weights
    for run, sha in (("my-run", file_sha256(str(tiny["sao"] / "model.safetensors"))), ("stale-run", "0" * 64)):
        step = root / "models" / run / "step-1"
        sat_adapter(tiny["sao"], step / "lora.safetensors", 5, t5=tiny["t5"])
        (step / "lora.json").write_text(json.dumps({"rank": 4, "alpha": 4.0, "adapter_type": "lora", "base": "sao",
                                                    "base_sha256": sha}))
        (step.parent / "dawgen-model.toml").write_text(
            f'[models.{run}]\nbackend = "stable-audio"\npath = "{tiny["sao"]}"\nt5_path = "{tiny["t5"]}"\n'
            f'base = "sao"\nadapter = "step-1/lora.safetensors"\n')
    tiny["models_dir"] = root / "models"
    return tiny


@pytest.fixture
def engine(tmp_path, files):
    from server.config import load
    from server.engine import Engine

    config = tmp_path / "dawgen.toml"
    config.write_text(f"""
[server]
isolation = "immediate"
state_dir = "{tmp_path / 'state'}"
[output]
root = "{tmp_path / 'out'}"
[training]
models_dir = "{files['models_dir']}"
[models.sao]
backend = "stable-audio"
path = "{files['sao']}"
t5_path = "{files['t5']}"
[models.dance]
backend = "stable-audio"
path = "{files['dance']}"
[loras.a]
path = "{files['a']}"
base = "sao"
trigger = "zap"
[loras.b]
path = "{files['b']}"
base = "sao"
[loras.d]
path = "{files['d']}"
base = "dance"
[loras.dora]
path = "{files['dora']}"
base = "sao"
""")
    eng = Engine(load(config))
    eng.start()
    yield eng
    eng.stop(5)
    eng.close()


def make(engine, **params) -> tuple[np.ndarray, dict]:
    values = {k: v for k, v in {**PROBE, **params}.items() if v is not None}  # None: not in this request
    job, _ = engine.submit(Request("generate", values))
    job = engine.status(job.id)[0]
    assert job.state is JobState.DONE, job.error_message
    path = Path(job.outputs[0])
    return sf.read(str(path))[0], json.loads(path.with_suffix(".json").read_text())


def test_strength_zero_is_the_base_bit_for_bit_and_switching_never_reloads(engine):
    base, _ = make(engine)
    off, _ = make(engine, lora="a:0")
    one, _ = make(engine, lora="a")
    again, _ = make(engine, lora="a")
    both, _ = make(engine, lora="a,b")
    half, _ = make(engine, lora="a:0.5")
    back, _ = make(engine)
    assert np.array_equal(off, base)  # a strength of 0 leaves the adapter out
    assert np.abs(one - base).max() > 1e-3  # the adapter changes the sound
    assert np.array_equal(one, again)  # the same request twice: the same file
    assert np.abs(both - one).max() > 1e-3 and np.abs(half - one).max() > 1e-4  # stacking and strength count
    assert np.array_equal(back, base)  # taking the adapters out restores the base exactly
    backend = engine.registry.resolve("sao").backend
    assert backend.loads == 1 and engine.registry.resolve("sao").evictions == 0


def test_dance_diffusion_takes_adapters_too(engine):
    params = {"model": "dance", "seconds": None, "prompt": None}
    base, _ = make(engine, **params)
    assert np.array_equal(make(engine, lora="d:0", **params)[0], base)
    assert np.abs(make(engine, lora="d", **params)[0] - base).max() > 1e-3


def test_the_trigger_word_goes_in_front_and_provenance_names_each_adapter(engine, files):
    from server.output.provenance import file_sha256

    triggered, record = make(engine, lora="a,b:-0.5")
    spelled, _ = make(engine, lora="a,b:-0.5", prompt="zap, deep kick")
    assert np.array_equal(triggered, spelled)  # "deep kick" with a's trigger is "zap, deep kick"
    assert record["prompt_used"] == "zap, deep kick" and record["params"]["prompt"] == "deep kick"
    assert [(r["name"], r["strength"], r["sha256"]) for r in record["loras"]] == [
        ("a", 1.0, file_sha256(str(files["a"]))), ("b", -0.5, file_sha256(str(files["b"])))]
    _, off = make(engine, lora="a:0")
    assert "prompt_used" not in off  # an adapter that is off adds no word


def test_a_trained_run_by_name_and_as_lora_on_its_base_make_the_same_file(engine):
    by_name, record = make(engine, model="my-run")
    on_base, _ = make(engine, lora="my-run")
    assert np.array_equal(by_name, on_base)
    assert np.abs(by_name - make(engine)[0]).max() > 1e-3
    assert record["loras"][0]["name"] == "my-run" and record["model"]["adapter_sha256"]
    job, _ = engine.submit(Request("generate", {**PROBE, "lora": "stale-run"}))  # trained on other weights
    job = engine.status(job.id)[0]
    assert job.state is JobState.FAILED and job.error_code == ErrorCode.MODEL_UNAVAILABLE
    assert "other weights" in job.error_message


def test_the_models_reply_lists_the_adapters_that_fit_each_model(engine, files):
    models = {m["name"]: m for m in engine.models()}
    loras = {item["name"]: item for item in models["sao"]["loras"]}
    assert set(loras) == {"a", "b", "my-run", "stale-run"}  # not d (another base), not dora (cannot merge)
    assert loras["a"] == {"name": "a", "base": "sao", "trigger": "zap", "rank": 4,
                          "size": files["a"].stat().st_size}
    assert [item["name"] for item in models["dance"]["loras"]] == ["d"]
    assert "loras" not in models["synth"]
    assert any(p["name"] == "lora" for p in models["dance"]["verbs"]["vary"])


@pytest.mark.parametrize("params, code, words", [
    ({"lora": "nope"}, ErrorCode.UNKNOWN_MODEL, "adapters that fit sao: a, b, my-run, stale-run"),
    ({"lora": "d"}, ErrorCode.BAD_REQUEST, "made for model 'dance'"),
    ({"lora": "a:2.5"}, ErrorCode.BAD_REQUEST, "outside -2..2"),
    ({"lora": "a:loud"}, ErrorCode.BAD_REQUEST, "not a number"),
    ({"lora": "a,b,a"}, ErrorCode.BAD_REQUEST, "named twice"),
    ({"lora": "a,,b"}, ErrorCode.BAD_REQUEST, "empty item"),
    ({"lora": "a,b,my-run,stale-run,x"}, ErrorCode.BAD_REQUEST, "at most 4"),
    ({"lora": "dora"}, ErrorCode.MODEL_UNAVAILABLE, "cannot be merged"),
    ({"model": "synth", "lora": "a"}, ErrorCode.BAD_REQUEST, "unknown parameter(s) lora"),
])
def test_bad_lora_requests_are_refused_at_submit(engine, params, code, words):
    with pytest.raises(DawgenError) as info:
        engine.submit(Request("generate", {**PROBE, **params} if params.get("model") != "synth"
                              else {"prompt": "kick", **params}))
    assert info.value.code == code and words in info.value.message
    assert engine.queue() == [] and engine.registry.resolve("sao").backend.loads == 0  # refused before any work


def test_merged_weights_match_the_librarys_own_parametrization(files):
    """What the library computes on the fly (W + alpha/rank * B @ A every forward) is what the
    merge writes once: Dance Diffusion's Conv1d layers and Linear layers alike."""
    import torch
    from stable_audio_tools.models.lora import load_and_apply_loras

    from server.adapters import read_adapter
    from server.backends.lora_patch import Patcher
    from server.backends.stable_audio.files import check_folder
    from server.backends.stable_audio.model import load

    files_ = check_folder(str(files["dance"]))
    merged, library = (load(files_, "cpu", torch.float32) for _ in range(2))
    Patcher(merged.model, ("model.",)).apply([(read_adapter("d", files["d"], "dance"), 1.0)])
    load_and_apply_loras(library.model.model, [str(files["d"])], "diffusion_uncond")
    x, t = torch.randn(1, 2, 1024, generator=torch.Generator().manual_seed(0)), torch.tensor([0.6])
    with torch.no_grad():
        want, got = library.model.model(x, t), merged.model.model(x, t)
        base = load(files_, "cpu", torch.float32).model.model(x, t)
    assert (want - base).abs().max() > 1e-3
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5)


def test_loaded_adapters_count_in_the_models_memory(files):
    from server.backends.base import RunContext
    from server.config import parse
    from server.registry import Registry

    registry = Registry(parse({"models": {"sao": {"backend": "stable-audio", "path": str(files["sao"]),
                                                  "t5_path": str(files["t5"])}},
                               "loras": {"a": {"path": str(files["a"]), "base": "sao"}}}))
    backend = registry.backend("sao")
    before = backend.memory_bytes()
    backend.run("generate", RunContext({**PROBE, "lora": "a", "count": 1}))
    assert backend.memory_bytes() > before
