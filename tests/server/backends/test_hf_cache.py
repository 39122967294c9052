"""The hub-layout checks every Hugging Face-folder backend shares (server/backends/hf_cache.py)."""
from __future__ import annotations

import json
import re

import pytest

from server.backends.hf_cache import check_weights, model_folder, read_json, single_weights, weight_files
from server.errors import DawgenError, ErrorCode


def _cache(tmp_path, files):
    """A cache repo folder whose snapshot `abc` holds `files` (name -> text; None = a dangling link)."""
    repo = tmp_path / "models--org--name"
    snap = repo / "snapshots" / "abc"
    snap.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("abc\n")
    for name, text in files.items():
        if text is None:
            (snap / name).symlink_to(repo / "blobs" / name)
        else:
            (snap / name).write_text(text)
    return repo, snap


def test_a_cache_folder_resolves_to_its_snapshot_and_problems_are_named(tmp_path):
    repo, snap = _cache(tmp_path, {"config.json": "{}"})
    assert model_folder(str(repo), "config.json", "no path") == snap
    assert model_folder(str(snap), "config.json", "no path") == snap
    with pytest.raises(DawgenError) as err:
        model_folder("", "config.json", "give a path")
    assert (err.value.code, err.value.message) == (ErrorCode.MODEL_UNAVAILABLE, "give a path")
    with pytest.raises(DawgenError, match="t5_path folder .* does not exist"):
        model_folder(str(tmp_path / "nope"), "config.json", "no path", "t5_path folder")
    empty = tmp_path / "models--org--empty"
    (empty / "snapshots").mkdir(parents=True)
    with pytest.raises(DawgenError, match="cache folder without any snapshot"):
        model_folder(str(empty), "config.json", "no path")


def test_json_files_missing_broken_or_not_objects(tmp_path):
    _, snap = _cache(tmp_path, {"a.json": '{"x": 1}', "b.json": None, "c.json": "[1]", "d.json": "{"})
    assert read_json(snap / "a.json") == {"x": 1}
    with pytest.raises(DawgenError, match="b.json \\(a link to a blob that is not there\\)"):
        read_json(snap / "b.json")
    with pytest.raises(DawgenError) as err:
        read_json(snap / "e.json", "download it")
    assert err.value.message == "download it"
    with pytest.raises(DawgenError, match="does not hold a JSON object"):
        read_json(snap / "c.json")
    with pytest.raises(DawgenError, match="cannot read"):
        read_json(snap / "d.json")


def test_weights_single_sharded_and_missing(tmp_path):
    index = {"weight_map": {"a": "model-1.safetensors", "b": "model-2.safetensors"}}
    _, snap = _cache(tmp_path, {"model.safetensors.index.json": json.dumps(index), "model-1.safetensors": "w"})
    assert single_weights(snap) is None
    with pytest.raises(DawgenError, match=re.escape(f"missing file {snap / 'model-2.safetensors'} (listed in")):
        check_weights(snap)
    (snap / "model-2.safetensors").write_text("w")
    check_weights(snap)
    assert weight_files(snap) == [snap / "model-1.safetensors", snap / "model-2.safetensors"]
    (snap / "pytorch_model.bin").write_text("w")  # a single file wins, as transformers reads it
    assert weight_files(snap) == [snap / "pytorch_model.bin"] == [single_weights(snap)]

    _, broken = _cache(tmp_path / "b", {"model.safetensors": None})
    with pytest.raises(DawgenError, match="model.safetensors \\(a link to a blob that is not there\\): no weights"):
        check_weights(broken)
    _, bare = _cache(tmp_path / "c", {})
    with pytest.raises(DawgenError, match=re.escape("model.safetensors (or pytorch_model.bin): no weights in")):
        check_weights(bare)
