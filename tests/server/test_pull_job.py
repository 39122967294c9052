"""`pull` as a job over the engine (the built-in model `pull`, server/catalog/job.py) against the fake
hub on 127.0.0.1: a progress event per file and by bytes within it, the model generating as
model=NAME in the next request, a cancel mid-file that registers nothing and leaves no partial file
(the next pull fetches only what is missing), and the refusals at submit (gated without a token,
unknown)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from server.config import load
from server.engine import Engine
from server.errors import DawgenError, ErrorCode
from server.jobs import EventKind, JobState, Request
from tests.hub_fake import COMMIT
from tests.hub_fake import git_sha1 as hub_etag

WEIGHTS = bytes(range(256)) * 64  # 16 KiB: sixteen 1 KiB chunks
FILES = {"model_config.json": b'{"sample_rate": 48000}', "model.safetensors": WEIGHTS}


@pytest.fixture
def hub(hub, monkeypatch):
    """The shared fake hub (tests/conftest.py), downloading in small chunks: progress within a small file."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "DOWNLOAD_CHUNK_SIZE", 1024)
    return hub


def catalog_entry(repo: str, **extra) -> dict:
    """A catalog model served by the synth (torch-free): what pull registers is what is tested here."""
    return {"backend": "synth", "repo": repo, "licence": "MIT", "licence_url": "https://example.org/licence",
            "files": [{"name": n, "size": None, "sha256": None} for n in FILES], **extra}


def make_engine(tmp_path: Path, models: dict, isolation: str = "immediate") -> Engine:
    catalog = tmp_path / "catalog.json"
    catalog.write_text(json.dumps({"models": models}), encoding="utf-8")
    config_file = tmp_path / "dawgen.toml"
    config_file.write_text(f'[models.pull]\nbackend = "pull"\ncatalog = "{catalog}"\n'
                           f'cache_dir = "{tmp_path / "hf-cache"}"\n', encoding="utf-8")
    config = load(config_file, {"output.root": str(tmp_path / "out"), "server.state_dir": str(tmp_path / "state"),
                                "server.isolation": isolation, "server.progress_interval": 0})
    engine = Engine(config)
    engine.start()
    return engine


def progress_of(engine: Engine) -> list[tuple[str, float]]:
    """(stage, fraction) of every progress event, as sent (the job object changes on)."""
    seen: list[tuple[str, float]] = []
    engine.subscribe(lambda e: seen.append((e.job.progress.stage, e.job.progress.fraction))
                     if e.kind is EventKind.PROGRESS else None)
    return seen


def test_a_pull_job_reports_each_file_then_the_model_generates(hub, tmp_path):
    hub.add("org/tiny", FILES)
    engine = make_engine(tmp_path, {"tiny": catalog_entry("org/tiny")})
    progress = progress_of(engine)
    job, _ = engine.submit(Request("pull", {"name": "tiny"}, "p1"))
    job, _ = engine.status(job.id)
    assert job.state is JobState.DONE, job.error_message
    folder = tmp_path / "state" / "models" / "tiny"
    assert job.outputs == [str(folder)] and job.model == "pull"
    assert (folder / "dawgen-model.toml").is_file()

    stages = [s for s, _ in progress]
    assert stages.index("tiny/model_config.json") < stages.index("tiny/model.safetensors")
    weights = [f for s, f in progress if s == "tiny/model.safetensors"]
    assert len({round(f, 3) for f in weights}) >= 8  # by bytes within the file, not one jump
    assert all(0.5 <= f <= 1.0 for f in weights) and weights[-1] == pytest.approx(1.0)
    fractions = [f for s, f in progress if s.startswith("tiny/")]
    assert fractions == sorted(fractions)

    made, _ = engine.submit(Request("generate", {"model": "tiny", "prompt": "punchy kick"}, "g1"))
    made, _ = engine.status(made.id)
    assert made.state is JobState.DONE and made.model == "tiny" and Path(made.outputs[0]).is_file()
    assert any(m["name"] == "tiny" for m in engine.models())
    engine.stop()


def test_a_cancel_mid_file_registers_nothing_and_the_next_pull_resumes(hub, tmp_path):
    hub.add("org/tiny", FILES)
    engine = make_engine(tmp_path, {"tiny": catalog_entry("org/tiny")})

    def cancel_halfway(event) -> None:
        p = event.job.progress
        if event.kind is EventKind.PROGRESS and p.stage == "tiny/model.safetensors" and p.fraction > 0.7:
            engine.cancel(event.job.id)

    stop = engine.subscribe(cancel_halfway)
    job, _ = engine.submit(Request("pull", {"name": "tiny"}, "p1"))
    job, _ = engine.status(job.id)
    assert job.state is JobState.CANCELLED and job.error_code == ErrorCode.CANCELLED
    folder = tmp_path / "state" / "models" / "tiny"
    assert not (folder / "dawgen-model.toml").exists()
    with pytest.raises(DawgenError) as info:
        engine.registry.resolve("tiny")
    assert info.value.code == ErrorCode.UNKNOWN_MODEL
    repo = tmp_path / "hf-cache" / "models--org--tiny"
    assert not (repo / "snapshots" / COMMIT / "model.safetensors").exists()
    # huggingface_hub deletes its temporary file of an interrupted download; the finished file stays
    blobs = sorted(b.name for b in (repo / "blobs").iterdir())
    assert blobs == [hub_etag(FILES["model_config.json"])]
    assert not folder.exists()

    stop()
    again, _ = engine.submit(Request("pull", {"name": "tiny"}, "p2"))
    assert engine.status(again.id)[0].state is JobState.DONE
    gets = [p for m, p, _ in hub.requests if m == "GET"]
    assert gets.count("/org/tiny/resolve/main/model_config.json") == 1  # a finished file is not fetched twice
    assert (repo / "snapshots" / COMMIT / "model.safetensors").read_bytes() == WEIGHTS
    assert engine.registry.resolve("tiny").config.backend == "synth"
    engine.stop()


def test_refusals_at_submit_name_what_to_do_and_journal_nothing(hub, tmp_path):
    hub.add("org/gated", FILES, granted={"hf_Granted"})
    engine = make_engine(tmp_path, {"g": catalog_entry("org/gated", gated=True), "tiny": catalog_entry("org/tiny")})
    with pytest.raises(DawgenError) as info:
        engine.submit(Request("pull", {"name": "g"}, "p1"))
    assert info.value.code == ErrorCode.MODEL_UNAVAILABLE
    assert "https://huggingface.co/org/gated" in info.value.message and "HF_TOKEN" in info.value.message
    with pytest.raises(DawgenError) as info:
        engine.submit(Request("pull", {"name": "no-such"}, "p2"))
    assert info.value.code == ErrorCode.UNKNOWN_MODEL and "tiny" in info.value.message
    with pytest.raises(DawgenError) as info:
        engine.submit(Request("pull", {}, "p3"))
    assert info.value.code == ErrorCode.BAD_REQUEST and "name" in info.value.message
    trained = tmp_path / "state" / "models" / "tiny"  # a folder pull did not make: never overwritten
    trained.mkdir(parents=True)
    (trained / "dawgen-model.toml").write_text('[models.tiny]\nbackend = "synth"\n')
    with pytest.raises(DawgenError, match="not overwriting") as info:
        engine.submit(Request("pull", {"name": "tiny"}, "p4"))
    assert info.value.code == ErrorCode.BAD_REQUEST
    with pytest.raises(DawgenError) as info:
        engine.submit(Request("pull", {"name": "g", "format": "flac"}, "p5"))
    assert info.value.code == ErrorCode.BAD_REQUEST  # output params mean nothing to a download
    assert engine.queue() == [] and engine.recent_jobs() == []
    assert not [m for m, _, _ in hub.requests]  # nothing was fetched
    engine.stop()


def test_a_token_without_access_fails_the_job_with_the_licence_page(hub, tmp_path, monkeypatch):
    hub.add("org/gated", FILES, granted={"hf_Granted"})
    monkeypatch.setenv("HF_TOKEN", "hf_NotGrantedToken")
    engine = make_engine(tmp_path, {"g": catalog_entry("org/gated", gated=True)})
    job, _ = engine.submit(Request("pull", {"name": "g"}, "p1"))
    job, _ = engine.status(job.id)
    assert job.state is JobState.FAILED and job.error_code == ErrorCode.MODEL_UNAVAILABLE
    assert "https://huggingface.co/org/gated" in job.error_message and "hf_NotGrantedToken" not in job.error_message
    assert not (tmp_path / "state" / "models" / "g" / "dawgen-model.toml").exists()
    engine.stop()


def test_pull_and_catalog_over_osc_then_generate_the_model(hub, tmp_path):
    from bridge.client import Client
    from bridge.osc import OscServer

    hub.add("org/tiny", FILES)
    engine = make_engine(tmp_path, {"tiny": catalog_entry("org/tiny"), "other": catalog_entry("org/other")},
                         isolation="thread")
    server = OscServer(engine, port=0)
    server.start()
    try:
        with Client("127.0.0.1", server.port) as client:
            listing = json.loads(client.call("catalog").args[1])
            assert [(m["name"], m["installed"]) for m in listing] == [("other", False), ("tiny", False)]
            ack = client.call("pull", {"name": "tiny"})
            job = str(ack.args[1])
            stages, done = [], None
            while done is None:
                reply = client.recv(10.0)
                assert reply is not None, "no reply from the pull job"
                if reply.address == "/dawgen/progress" and str(reply.args[0]) == job:
                    stages.append(str(reply.args[2]))
                elif reply.address in ("/dawgen/done", "/dawgen/error") and str(reply.args[0]) == job:
                    done = reply
            assert done.address == "/dawgen/done", done.args
            assert list(done.args[1:]) == [str(tmp_path / "state" / "models" / "tiny")]
            assert "tiny/model_config.json" in stages and "tiny/model.safetensors" in stages
            files = client.generate({"model": "tiny", "prompt": "punchy kick"}, timeout=60)
            assert Path(files[0]).is_file()
            listing = json.loads(client.call("catalog").args[1])
            assert [(m["name"], m["installed"]) for m in listing] == [("other", False), ("tiny", True)]
    finally:
        server.stop()
        engine.stop()
