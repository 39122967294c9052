"""`pull` through the real huggingface_hub code against a fake hub on 127.0.0.1 (tests/hub_fake.py):
download into huggingface_hub's cache, the model folder written and generating through the registry,
resume after a cut connection, a corrupted file caught, a gated repo's message, dependencies first."""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from server import catalog as catalog_mod
from server.catalog import install
from server.catalog.install import Options
from server.errors import DawgenError, ErrorCode
from tests.hub_fake import COMMIT

SECRET = "hf_NotARealTokenButSecret123"



def write_catalog(path: Path, models: dict) -> catalog_mod.Catalog:
    path.write_text(json.dumps({"models": models}), encoding="utf-8")
    return catalog_mod.load(path)


def entry(repo: str, files: dict[str, bytes], backend: str | None = "musicgen", **extra) -> dict:
    return {"backend": backend, "repo": repo, "revision": "main", "licence": "CC-BY-NC-4.0",
            "licence_url": "https://creativecommons.org/licenses/by-nc/4.0/",
            "files": [{"name": n, "size": None, "sha256": None} for n in files], **extra}


def options(tmp_path: Path, **kw) -> Options:
    return Options(models_dir=tmp_path / "models", cache_dir=tmp_path / "hf-cache", **kw)


SMALL = {"model_config.json": b'{"model_type": "diffusion_cond"}', "model.safetensors": bytes(range(256)) * 64}


def test_files_land_in_the_hf_cache_and_the_model_folder_points_there(hub, tmp_path):
    hub.add("org/fake-sao", SMALL)
    hub.add("org/fake-t5", {"config.json": b"{}", "model.safetensors": b"t5" * 3000})
    catalog = write_catalog(tmp_path / "c.json", {
        "fake-t5": entry("org/fake-t5", {"config.json": b"", "model.safetensors": b""}, backend=None),
        "fake-sao": entry("org/fake-sao", SMALL, backend="stable-audio", needs={"fake-t5": "t5_path"})})
    pulled = install.pull(catalog, "fake-sao", options(tmp_path))
    assert [p.entry.name for p in pulled] == ["fake-t5", "fake-sao"]
    gets = [path for method, path, _ in hub.requests if method == "GET"]
    assert gets.index("/org/fake-t5/resolve/main/model.safetensors") < gets.index("/org/fake-sao/resolve/main/model.safetensors")
    snapshot = tmp_path / "hf-cache" / "models--org--fake-sao" / "snapshots" / COMMIT
    assert (snapshot / "model.safetensors").read_bytes() == SMALL["model.safetensors"]
    folder = tmp_path / "models" / "fake-sao"
    text = (folder / "dawgen-model.toml").read_text()
    assert f'path = "{snapshot}"' in text
    assert f't5_path = "{tmp_path / "hf-cache" / "models--org--fake-t5" / "snapshots" / COMMIT}"' in text
    record = json.loads((folder / "pulled.json").read_text())
    assert record["commit"] == COMMIT
    assert {f["name"]: f["sha256"] for f in record["files"]}["model.safetensors"] == \
        hashlib.sha256(SMALL["model.safetensors"]).hexdigest()
    assert not (tmp_path / "models" / "fake-t5" / "dawgen-model.toml").exists()  # a dependency only
    assert set(install.installed(catalog, tmp_path / "models")) == {"fake-t5", "fake-sao"}


def test_a_cut_connection_resumes_with_a_range_request(hub, tmp_path, monkeypatch):
    from huggingface_hub import constants

    # huggingface_hub keeps what it has written in whole chunks (10 MB): smaller ones for a small file
    monkeypatch.setattr(constants, "DOWNLOAD_CHUNK_SIZE", 1024)
    hub.add("org/fake-sao", SMALL)
    hub.cut_once[("org/fake-sao", "model.safetensors")] = 5000
    catalog = write_catalog(tmp_path / "c.json", {"m": entry("org/fake-sao", SMALL, backend="stable-audio")})
    received = []
    install.pull(catalog, "m", options(tmp_path, on_bytes=received.append))
    ranges = [r for method, path, r in hub.requests if method == "GET" and path.endswith("model.safetensors")]
    assert ranges[0] == "" and len(ranges) == 2 and ranges[1].startswith("bytes=")
    assert 4096 <= int(ranges[1][len("bytes="):-1]) <= 5000  # resumed where the cut left it, not from 0
    assert sum(received) >= len(SMALL["model.safetensors"])
    link = tmp_path / "hf-cache" / "models--org--fake-sao" / "snapshots" / COMMIT / "model.safetensors"
    assert link.read_bytes() == SMALL["model.safetensors"]


@pytest.mark.parametrize("promised", ["etag", "catalog"])
def test_a_corrupted_file_is_caught_removed_and_not_registered(hub, tmp_path, promised):
    hub.add("org/fake-sao", SMALL)
    bad = bytearray(SMALL["model.safetensors"])
    bad[100] ^= 0xFF
    hub.corrupt[("org/fake-sao", "model.safetensors")] = bytes(bad)
    raw = entry("org/fake-sao", SMALL, backend="stable-audio")
    if promised == "catalog":  # the catalog's own hash wins; the fake hub's ETag would agree with the bad bytes
        hub.corrupt.pop(("org/fake-sao", "model.safetensors"))
        hub.repos["org/fake-sao"]["model.safetensors"] = bytes(bad)
        raw["files"][1]["sha256"] = hashlib.sha256(SMALL["model.safetensors"]).hexdigest()
    catalog = write_catalog(tmp_path / "c.json", {"m": raw})
    with pytest.raises(DawgenError) as info:
        install.pull(catalog, "m", options(tmp_path))
    assert info.value.code == ErrorCode.DOWNLOAD_FAILED and "model.safetensors" in info.value.message
    repo = tmp_path / "hf-cache" / "models--org--fake-sao"
    assert not (repo / "snapshots" / COMMIT / "model.safetensors").exists()
    assert [b for b in (repo / "blobs").iterdir() if b.stat().st_size == len(bad)] == []
    assert not (tmp_path / "models" / "m" / "dawgen-model.toml").exists()


def test_a_gated_repo_without_a_token_names_the_licence_page_and_how_to_log_in(hub, tmp_path):
    hub.add("org/gated", SMALL, granted={SECRET})
    catalog = write_catalog(tmp_path / "c.json", {"g": entry("org/gated", SMALL, backend="stable-audio", gated=True)})
    with pytest.raises(DawgenError) as info:
        install.pull(catalog, "g", options(tmp_path))
    message = info.value.message
    assert info.value.code == ErrorCode.MODEL_UNAVAILABLE
    assert "https://huggingface.co/org/gated" in message and "HF_TOKEN" in message and "dawgen login" in message
    assert "accept the licence" in message and "not been granted" not in message


def test_a_token_without_access_is_told_apart_and_never_printed(hub, tmp_path, monkeypatch):
    hub.add("org/gated", SMALL, granted={SECRET})
    catalog = write_catalog(tmp_path / "c.json", {"g": entry("org/gated", SMALL, backend="stable-audio", gated=True)})
    monkeypatch.setenv("HF_TOKEN", "hf_SomeoneElsesToken987")
    with pytest.raises(DawgenError) as info:
        install.pull(catalog, "g", options(tmp_path))
    assert "not been granted access" in info.value.message and "hf_SomeoneElsesToken987" not in info.value.message
    monkeypatch.setenv("HF_TOKEN", SECRET)  # the granted token downloads
    install.pull(catalog, "g", options(tmp_path))
    assert (tmp_path / "models" / "g" / "dawgen-model.toml").is_file()


def test_a_missing_optional_file_is_skipped_and_a_missing_required_one_named(hub, tmp_path):
    hub.add("org/fake-sao", SMALL)
    raw = entry("org/fake-sao", SMALL, backend="stable-audio")
    raw["files"].append({"name": "extra.json", "size": None, "sha256": None, "optional": True})
    catalog = write_catalog(tmp_path / "c.json", {"m": raw})
    install.pull(catalog, "m", options(tmp_path))
    raw["files"][-1]["optional"] = False
    catalog = write_catalog(tmp_path / "c.json", {"m": raw})
    with pytest.raises(DawgenError, match="no file 'extra.json'") as info:
        install.pull(catalog, "m", options(tmp_path / "again"))
    assert info.value.code == ErrorCode.DOWNLOAD_FAILED


def _as_after_a_model_load(monkeypatch, user_env: dict[str, str]) -> None:
    """This process as a model process leaves it once a model has loaded: torch_util.offline() has
    set the hub's offline variables (remembering `user_env`, what the user's environment said), and
    huggingface_hub, imported after that, read HF_HUB_OFFLINE as on."""
    from huggingface_hub import constants

    from server.backends import torch_util

    for name in torch_util.OFFLINE_VARS:
        monkeypatch.setenv(name, user_env.get(name, ""))  # restored after the test, whatever offline() sets
    monkeypatch.setattr(torch_util, "_user_offline", None)
    torch_util.offline()
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)


def test_a_pull_on_a_lane_whose_model_process_went_offline_still_reaches_the_hub(hub, tmp_path, monkeypatch):
    # A DAW asks for a model after a musicgen generation ran in the same model process.
    from huggingface_hub import constants

    _as_after_a_model_load(monkeypatch, {})
    hub.add("org/fake-sao", SMALL)
    catalog = write_catalog(tmp_path / "c.json", {"m": entry("org/fake-sao", SMALL, backend="stable-audio")})
    install.pull(catalog, "m", options(tmp_path))
    assert (tmp_path / "models" / "m" / "dawgen-model.toml").is_file()
    assert constants.HF_HUB_OFFLINE is True  # set back: the model loads after it stay off the hub
    assert os.environ["HF_HUB_OFFLINE"] == "1"


def test_a_pull_where_the_user_asked_for_offline_says_the_hub_was_not_reached(hub, tmp_path, monkeypatch):
    _as_after_a_model_load(monkeypatch, {"HF_HUB_OFFLINE": "1"})
    hub.add("org/fake-sao", SMALL)
    catalog = write_catalog(tmp_path / "c.json", {"m": entry("org/fake-sao", SMALL, backend="stable-audio")})
    with pytest.raises(DawgenError, match="cannot reach the hub .*HF_HUB_OFFLINE") as info:
        install.pull(catalog, "m", options(tmp_path))
    assert info.value.code == ErrorCode.DOWNLOAD_FAILED  # not "has no file": nothing was asked of the hub
    assert not [r for r in hub.requests if r[0] == "GET"]


def test_plain_url_files_resume_verify_and_write_the_demucs_bag(hub, tmp_path):
    weights = b"th" * 4000
    hub.plain["955717e8-8726e21a.th"] = weights
    hub.cut_once[("plain", "/plain/955717e8-8726e21a.th")] = 3000
    digest = hashlib.sha256(weights).hexdigest()
    catalog = write_catalog(tmp_path / "c.json", {"htdemucs": {
        "backend": "demucs", "source": "url", "base_url": hub.url + "/plain", "licence": "MIT",
        "licence_url": "https://github.com/facebookresearch/demucs/blob/main/LICENSE", "options": {"name": "htdemucs"},
        "bag": "models: ['955717e8']\n", "files": [{"name": "955717e8-8726e21a.th", "size": len(weights), "sha256": digest}]}})
    install.pull(catalog, "htdemucs", options(tmp_path))
    folder = tmp_path / "models" / "htdemucs"
    assert (folder / "955717e8-8726e21a.th").read_bytes() == weights
    assert (folder / "htdemucs.yaml").read_text() == "models: ['955717e8']\n"
    assert 'name = "htdemucs"' in (folder / "dawgen-model.toml").read_text()
    assert [r for m, p, r in hub.requests if m == "GET"][-1] == "bytes=3000-"
    from server.backends.demucs.repo import find_model

    assert find_model(str(folder), "htdemucs").files == (folder / "955717e8-8726e21a.th",)


def test_the_package_catalog_loads_and_orders_dependencies_first():
    catalog = catalog_mod.load()
    assert [e.name for e in catalog.order("stable-audio-open-small")] == ["t5-base", "stable-audio-open-small"]
    for name in ("stable-audio-open-1.0", "musicgen-small", "musicgen-melody", "audiogen-medium", "htdemucs_ft",
                 "htdemucs_6s", "magnet-small-10secs"):
        assert catalog.get(name).backend
    assert catalog.get("stable-audio-open-1.0").gated and not catalog.get("musicgen-small").gated
    assert catalog.get("htdemucs").known_bytes == 84141911
    with pytest.raises(DawgenError, match="pull --list"):
        catalog.get("no-such-model")


def test_a_bad_catalog_is_refused_with_its_path(tmp_path):
    path = tmp_path / "c.json"
    with pytest.raises(DawgenError, match="must stay inside"):
        write_catalog(path, {"m": entry("o/r", {"../escape": b""})})
    with pytest.raises(DawgenError, match="which the catalog lacks"):
        write_catalog(path, {"m": entry("o/r", {"a": b""}, needs={"t5": "t5_path"})})


def test_missing_catalog_models_name_the_pull_that_fixes_them(tmp_path):
    from bridge.doctor import _models
    from server.config import load
    from server.registry import Registry

    config = load(None, {"server.state_dir": str(tmp_path / "state"), "output.root": str(tmp_path / "out")})
    with pytest.raises(DawgenError) as info:
        Registry(config).resolve("musicgen-small")
    assert info.value.code == ErrorCode.UNKNOWN_MODEL and "dawgen pull musicgen-small" in info.value.message
    with pytest.raises(DawgenError) as info:
        Registry(config).resolve("not-in-the-catalog")
    assert "dawgen pull" not in info.value.message
    config_file = tmp_path / "dawgen.toml"
    config_file.write_text(f'[models.stable-audio-open-small]\nbackend = "stable-audio"\npath = "{tmp_path / "gone"}"\n')
    config = load(config_file, {"server.state_dir": str(tmp_path / "state"), "output.root": str(tmp_path / "out")})
    with pytest.raises(DawgenError) as info:
        Registry(config).resolve("stable-audio-open-small")
    assert info.value.code == ErrorCode.MODEL_UNAVAILABLE
    assert "dawgen pull stable-audio-open-small" in info.value.message and "huggingface.co/stabilityai" in info.value.message
    (check,) = [c for c in _models(config) if c[0] == "model stable-audio-open-small"]
    assert check[1] is False and "dawgen pull stable-audio-open-small" in check[2]


def test_every_catalog_model_names_a_backend_and_options_it_takes():
    from server.backends import backend_class

    catalog = catalog_mod.load()
    for entry in catalog.entries.values():
        if entry.backend is None:
            assert any(entry.name in other.needs for other in catalog.entries.values()), entry.name
            continue
        from server.config import ModelConfig, check_model_keys

        options = {"path": "/x", **entry.options, **{key: "/y" for key in entry.needs.values()}}
        assert check_model_keys(ModelConfig(entry.name, entry.backend, options),
                                backend_class(entry.backend).config_keys) == [], entry.name
