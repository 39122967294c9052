"""A musicgen model folder as users have one (a folder of transformers files, or the Hugging Face
cache's repo or snapshot folder) and the clear errors when one is not complete or not a MusicGen.
No torch needed for most: these checks run at config time, in the daemon process."""
from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import pytest

from server.backends.base import RunContext
from server.backends.musicgen.files import check_folder
from server.errors import DawgenError, ErrorCode
from tests.server.backends.musicgen_tiny import fake_cache


def fake_folder(folder: Path, model_type: str = "musicgen") -> Path:
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"model_type": model_type}))
    (folder / "model.safetensors").write_bytes(b"weights")
    (folder / "tokenizer.json").write_text("{}")
    return folder


def test_cache_repo_folder_and_snapshot_folder_both_resolve(tmp_path):
    repo = fake_cache(tmp_path, fake_folder(tmp_path / "src"))
    snapshot = repo / "snapshots" / "0123abcd"
    assert check_folder(str(repo)).folder == snapshot
    assert check_folder(str(snapshot)).folder == snapshot


def test_a_cache_link_to_a_missing_blob_is_named(tmp_path):
    repo = fake_cache(tmp_path, fake_folder(tmp_path / "src"))
    snapshot = repo / "snapshots" / "0123abcd"
    os.unlink(os.path.realpath(snapshot / "model.safetensors"))
    with pytest.raises(DawgenError) as info:
        check_folder(str(repo))
    assert info.value.code == ErrorCode.MODEL_UNAVAILABLE and str(snapshot / "model.safetensors") in info.value.message


@pytest.mark.parametrize("missing", ["config.json", "model.safetensors", "tokenizer.json"])
def test_a_missing_file_is_named(tmp_path, missing):
    folder = fake_folder(tmp_path / "m")
    (folder / missing).unlink()
    with pytest.raises(DawgenError) as info:
        check_folder(str(folder))
    assert f"missing file {folder / missing}" in info.value.message


def test_missing_shard_of_sharded_weights_is_named(tmp_path):
    folder = fake_folder(tmp_path / "m")
    (folder / "model.safetensors").unlink()
    (folder / "model.safetensors.index.json").write_text(json.dumps(
        {"weight_map": {"a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"}}))
    (folder / "model-00001-of-00002.safetensors").write_bytes(b"w")
    with pytest.raises(DawgenError) as info:
        check_folder(str(folder))
    assert "model-00002-of-00002.safetensors" in info.value.message


def test_audiocraft_checkpoints_and_other_models_are_refused_clearly(tmp_path):
    audiocraft = tmp_path / "ac"
    audiocraft.mkdir()
    for name in ("state_dict.bin", "compression_state_dict.bin"):
        (audiocraft / name).write_bytes(b"x")
    with pytest.raises(DawgenError, match="audiocraft checkpoint.*backend = \"audiocraft\""):
        check_folder(str(audiocraft))
    with pytest.raises(DawgenError, match="model_type 't5' is not MusicGen"):
        check_folder(str(fake_folder(tmp_path / "t5", "t5")))
    with pytest.raises(DawgenError, match="does not exist"):
        check_folder(str(tmp_path / "nowhere"))


def test_without_the_extra_the_model_is_unavailable_naming_it_and_synth_still_works(tmp_path, monkeypatch):
    from server.config import ModelConfig, load
    from server.engine import Engine
    from server.journal import Journal

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "transformers" else real(name, *a))
    folder = fake_folder(tmp_path / "m")
    config = load(None, {"output.root": str(tmp_path / "out"), "server.isolation": "thread"})
    config.models["mg"] = ModelConfig("mg", "musicgen", {"path": str(folder)})
    engine = Engine(config, journal=Journal(":memory:"))
    problem = engine.registry.problems()["mg"]
    assert "pip install 'dawgen[musicgen]'" in problem and "transformers" in problem
    with pytest.raises(DawgenError) as info:
        engine.params_for("mg", "continue")
    assert info.value.code == ErrorCode.MODEL_UNAVAILABLE
    # `continue` stays a known verb: a request for it hears which model does it and what to install
    assert "continue" in engine.job_verbs() and "generate" in engine.job_verbs()
    with pytest.raises(DawgenError) as info:
        engine.model_for("continue")
    assert info.value.code == ErrorCode.MODEL_UNAVAILABLE and "dawgen[musicgen]" in info.value.message
    synth = engine.registry.backend("synth")
    out = synth.run("generate", RunContext({"prompt": "kick", "seed": 1, "sample_rate": 48000}))
    assert out and out[0].frames > 0
