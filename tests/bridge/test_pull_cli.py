"""`dawgen pull` end to end against the fake hub: a tiny MusicGen served file by file, pulled with
the real huggingface_hub, then generating as model=NAME through the registry; `--list`; a gated
repo's message and exit code, with the token never printed."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from bridge.cli import main
from server.config import load

SECRET = "hf_AbsolutelySecretToken42"



def catalog_for(path: Path, models: dict) -> str:
    path.write_text(json.dumps({"models": models}), encoding="utf-8")
    return str(path)


def args(tmp_path: Path, *extra: str) -> list[str]:
    return [*extra, "--state-dir", str(tmp_path / "state"), "--project", str(tmp_path / "out"),
            "--cache-dir", str(tmp_path / "hf-cache")]


def test_pull_writes_a_model_that_generates_through_the_registry(hub, tmp_path, capsys):
    pytest.importorskip("torch", reason="torch is not installed (make test installs it)")
    pytest.importorskip("transformers", reason="the musicgen extra is not installed")
    from server.backends.base import RunContext
    from server.params import validate
    from server.registry import Registry
    from tests.server.backends.musicgen_tiny import build_musicgen

    folder = build_musicgen(tmp_path / "tiny-src")
    files = {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}
    hub.add("test/tiny-musicgen", files)
    listed = [{"name": n, "size": len(b) if n == "config.json" else None,
               "sha256": hashlib.sha256(b).hexdigest() if n == "model.safetensors" else None} for n, b in files.items()]
    catalog = catalog_for(tmp_path / "c.json", {"tiny-musicgen": {
        "backend": "musicgen", "repo": "test/tiny-musicgen", "licence": "CC-BY-NC-4.0",
        "licence_url": "https://creativecommons.org/licenses/by-nc/4.0/", "files": listed}})
    assert main(["pull", "tiny-musicgen", "--catalog", catalog, *args(tmp_path)]) == 0
    out = capsys.readouterr()
    assert out.out.strip() == str(tmp_path / "state" / "models" / "tiny-musicgen")
    assert "sha256 verified" in out.err and "model=tiny-musicgen is ready" in out.err

    registry = Registry(load(None, {"server.state_dir": str(tmp_path / "state"), "output.root": str(tmp_path / "out")}))
    entry = registry.resolve("tiny-musicgen")
    assert "models--test--tiny-musicgen" in entry.config.options["path"]
    backend = registry.backend("tiny-musicgen")
    params = validate(backend.verbs["generate"], {"prompt": "dark techno", "seconds": 0.5, "seed": 1}, "generate")
    (audio,) = backend.run("generate", RunContext(params, None, None))
    assert np.abs(audio.samples).max() > 0 and audio.samples.shape[0] >= 0.4 * audio.sample_rate

    assert main(["pull", "--list", "--json", "--catalog", catalog, *args(tmp_path)[:4]]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["name"] == "tiny-musicgen" and rows[0]["installed"] is True


def test_pull_of_a_gated_model_explains_and_never_prints_the_token(hub, tmp_path, capsys, monkeypatch):
    hub.add("org/gated", {"model_config.json": b"{}", "model.safetensors": b"x" * 100}, granted={SECRET})
    catalog = catalog_for(tmp_path / "c.json", {"g": {
        "backend": "stable-audio", "repo": "org/gated", "gated": True, "licence": "Stability AI Community License",
        "licence_url": "https://stability.ai/community-license-agreement",
        "files": [{"name": "model_config.json"}, {"name": "model.safetensors"}]}})
    assert main(["pull", "g", "--catalog", catalog, *args(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "https://huggingface.co/org/gated" in err and "HF_TOKEN" in err and "dawgen login" in err
    monkeypatch.setenv("HF_TOKEN", "hf_WrongTokenForThisRepo77")
    assert main(["pull", "g", "--catalog", catalog, *args(tmp_path)]) == 1
    out = capsys.readouterr()
    assert "not been granted access" in out.err
    assert "hf_WrongTokenForThisRepo77" not in out.err + out.out and SECRET not in out.err + out.out
    assert not (tmp_path / "state" / "models" / "g" / "dawgen-model.toml").exists()


def test_pull_usage_errors_exit_2(hub, tmp_path, capsys):
    catalog = catalog_for(tmp_path / "c.json", {})
    assert main(["pull", *args(tmp_path)]) == 2
    assert main(["pull", "nope", "--catalog", catalog, *args(tmp_path)]) == 2
    assert "pull --list" in capsys.readouterr().err
