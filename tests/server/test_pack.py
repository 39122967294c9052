"""Offline packs (server/catalog/pack.py, `dawgen pack`): a tiny MusicGen pulled from the fake hub,
exported, imported into a fresh models folder where it generates; a tampered member and members
that would land outside the model folder are refused with nothing written."""
from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

import numpy as np
import pytest

from bridge.cli import main
from server.catalog import load as load_catalog
from server.catalog.install import Options, pull
from server.catalog.pack import MANIFEST, export, import_pack
from server.config import load
from server.errors import DawgenError, ErrorCode
from tests.hub_fake import FakeHub

SMALL = {"model_config.json": b'{"sample_rate": 48000}', "model.safetensors": bytes(range(256)) * 64}



def pulled(hub: FakeHub, tmp_path: Path, name: str, files: dict[str, bytes], backend: str = "synth") -> Path:
    """`name` pulled from the fake hub into tmp_path/models (its files in tmp_path/hf-cache)."""
    hub.add(f"org/{name}", files)
    (tmp_path / "c.json").write_text(json.dumps({"models": {name: {
        "backend": backend, "repo": f"org/{name}", "licence": "MIT", "licence_url": "https://example.org/l",
        "files": [{"name": n, "size": None, "sha256": None} for n in files]}}}))
    pull(load_catalog(tmp_path / "c.json"), name, Options(tmp_path / "models", tmp_path / "hf-cache"))
    return tmp_path / "models"


def test_a_pulled_model_round_trips_through_a_pack_and_generates(hub, tmp_path, capsys):
    pytest.importorskip("torch", reason="torch is not installed (make test installs it)")
    pytest.importorskip("transformers", reason="the musicgen extra is not installed")
    from server.backends.base import RunContext
    from server.params import validate
    from server.registry import Registry
    from tests.server.backends.musicgen_tiny import build_musicgen

    source = build_musicgen(tmp_path / "tiny-src")
    files = {p.name: p.read_bytes() for p in sorted(source.iterdir()) if p.is_file()}
    models = pulled(hub, tmp_path, "tiny-musicgen", files, backend="musicgen")
    pack = tmp_path / "tiny.dawgen.tar"
    flags = ["--state-dir", str(tmp_path / "state")]
    assert main(["pack", "export", "tiny-musicgen", str(pack), "--to", str(models), *flags]) == 0
    assert capsys.readouterr().out.strip() == str(pack)
    with tarfile.open(pack) as tar:
        names = tar.getnames()
        manifest = json.load(tar.extractfile(MANIFEST))
        toml = tar.extractfile("tiny-musicgen/dawgen-model.toml").read().decode()
    assert names[0] == MANIFEST and 'path = "path"' in toml and str(tmp_path) not in toml
    assert {f["path"] for f in manifest["files"]} == {"dawgen-model.toml", *(f"path/{n}" for n in files)}
    assert {f["sha256"] for f in manifest["files"] if f["path"] == "path/model.safetensors"} == \
        {hashlib.sha256(files["model.safetensors"]).hexdigest()}

    hub.server.shutdown()  # the studio is offline: the import needs nothing but the pack
    fresh = tmp_path / "offline-state"
    assert main(["pack", "import", str(pack), "--state-dir", str(fresh)]) == 0
    folder = fresh / "models" / "tiny-musicgen"
    assert capsys.readouterr().out.strip() == str(folder)
    assert (folder / "path" / "model.safetensors").read_bytes() == files["model.safetensors"]
    assert not (folder / "path" / "model.safetensors").is_symlink()
    registry = Registry(load(None, {"server.state_dir": str(fresh), "output.root": str(tmp_path / "out")}))
    assert registry.resolve("tiny-musicgen").config.options["path"] == str(folder / "path")
    backend = registry.backend("tiny-musicgen")
    params = validate(backend.verbs["generate"], {"prompt": "dark techno", "seconds": 0.5, "seed": 1}, "generate")
    (audio,) = backend.run("generate", RunContext(params, None, None))
    assert np.abs(audio.samples).max() > 0
    record = json.loads((folder / "pulled.json").read_text())
    assert record["source"] == str(folder / "path") and record["imported_from"] == pack.name
    assert main(["pack", "import", str(pack), "--state-dir", str(fresh)]) == 1  # never over an existing folder
    assert "exists" in capsys.readouterr().err


def rewrite(pack: Path, out: Path, change) -> None:
    """A copy of `pack` with `change(name, data) -> data | None` applied to each member (None drops it)."""
    with tarfile.open(pack) as src, tarfile.open(out, "w") as dst:
        for member in src.getmembers():
            data = change(member.name, src.extractfile(member).read())
            if data is not None:
                info = tarfile.TarInfo(member.name)
                info.size = len(data)
                dst.addfile(info, io.BytesIO(data))


def test_a_tampered_member_is_refused_and_nothing_is_imported(hub, tmp_path):
    models = pulled(hub, tmp_path, "tiny", SMALL)
    pack = tmp_path / "tiny.tar"
    export(models, "tiny", pack)
    bad = tmp_path / "bad.tar"
    rewrite(pack, bad, lambda name, data: data[:-1] + b"\0" if name.endswith("model.safetensors") else data)
    fresh = tmp_path / "fresh"
    with pytest.raises(DawgenError) as info:
        import_pack(bad, fresh)
    assert info.value.code == ErrorCode.DOWNLOAD_FAILED and "tiny/path/model.safetensors" in info.value.message
    assert list(fresh.iterdir()) == []  # no folder, no staging left behind
    unlisted = tmp_path / "unlisted.tar"
    rewrite(pack, unlisted, lambda name, data: data)
    with tarfile.open(unlisted, "a") as tar:
        info = tarfile.TarInfo("tiny/extra.bin")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"abc"))
    with pytest.raises(DawgenError, match="not listed"):
        import_pack(unlisted, fresh)
    import_pack(pack, fresh)  # the untouched pack imports
    assert (fresh / "tiny" / "dawgen-model.toml").is_file()


def hostile_pack(path: Path, member: tarfile.TarInfo, data: bytes = b"") -> None:
    manifest = {"format": "dawgen-pack/1", "name": "evil", "files": [
        {"path": "dawgen-model.toml", "size": 0, "sha256": hashlib.sha256(b"").hexdigest()}]}
    with tarfile.open(path, "w") as tar:
        raw = json.dumps(manifest).encode()
        info = tarfile.TarInfo(MANIFEST)
        info.size = len(raw)
        tar.addfile(info, io.BytesIO(raw))
        member.size = len(data) if member.isfile() else 0
        tar.addfile(member, io.BytesIO(data) if member.isfile() else None)


@pytest.mark.parametrize("name, kind", [
    ("evil/../../escaped.txt", tarfile.REGTYPE), ("/tmp/escaped.txt", tarfile.REGTYPE),
    ("../escaped.txt", tarfile.REGTYPE), ("evil/link", tarfile.SYMTYPE), ("evil/hard", tarfile.LNKTYPE)])
def test_members_escaping_the_model_folder_are_refused_before_anything_is_written(tmp_path, name, kind):
    member = tarfile.TarInfo(name)
    member.type = kind
    member.linkname = "../../../etc/passwd" if kind != tarfile.REGTYPE else ""
    pack = tmp_path / "evil.tar"
    hostile_pack(pack, member, b"gotcha")
    models = tmp_path / "deep" / "models"
    with pytest.raises(DawgenError) as info:
        import_pack(pack, models)
    assert info.value.code == ErrorCode.BAD_REQUEST and "refused" in info.value.message
    assert not models.exists() and not (tmp_path / "escaped.txt").exists() and not (tmp_path / "deep" / "escaped.txt").exists()
