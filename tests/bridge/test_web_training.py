"""The Training page's routes (dry run, prompt sidecars, runs, demos, resume), the Models page's
load/unload and the queue's priority, through the framework's test client."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.server.training.midi_files import song_folder
from tests.server.training.sounds import kick, write

from .web_helpers import client_for, finished, make_engine

pytest.importorskip("fastapi")


@pytest.fixture
def engine(tmp_path):
    engine = make_engine(tmp_path)
    yield engine
    engine.stop(5)
    engine.close()


@pytest.fixture
def client(engine):
    return client_for(engine)


@pytest.fixture
def sounds(tmp_path) -> Path:
    folder = tmp_path / "my sounds"
    write(folder / "Kicks" / "808 punchy.wav", kick(0))
    write(folder / "Kicks" / "deep.wav", kick(1))
    (folder / "Kicks" / "deep.wav.txt").write_text("a deep kick\n")
    return folder


def test_the_dry_run_shows_each_clip_with_its_prompt_and_where_it_came_from(client, sounds):
    reply = client.post("/api/training/check", json={"data": str(sounds),
                                                     "params": {"kind": "stable-audio-lora", "trigger": "zz", "steps": 5}})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    used = {u["file"]: (u["prompt"], u["prompt_from"]) for u in body["report"]["used"]}
    assert used == {"Kicks/808 punchy.wav": ("kicks, 808 punchy", "name"), "Kicks/deep.wav": ("a deep kick", "sidecar")}
    assert body["prompts_editable"] is True and body["trigger"] == "zz"  # shown, not put in front here
    unprompted = client.post("/api/training/check", json={"data": str(sounds), "params": {"kind": "dance-diffusion"}})
    assert unprompted.json()["prompts_editable"] is False
    for data in ("relative/folder", str(sounds / "Kicks" / "deep.wav"), str(sounds / "missing")):
        refused = client.post("/api/training/check", json={"data": data, "params": {}})
        assert (refused.status_code, refused.json()["code"]) == (400, "bad_request")


def test_prompt_edits_become_the_sidecars_the_run_reads(client, sounds):
    reply = client.put("/api/training/prompts", json={"data": str(sounds), "prompts": {
        "Kicks/808 punchy.wav": "  an 808   with punch ", "Kicks/deep.wav": ""}})
    assert reply.status_code == 200, reply.text
    assert sorted(reply.json()["written"]) == ["Kicks/808 punchy.wav.txt", "Kicks/deep.wav.txt"]
    assert (sounds / "Kicks" / "808 punchy.wav.txt").read_text() == "an 808 with punch\n"
    assert not (sounds / "Kicks" / "deep.wav.txt").exists()  # "" removes it
    again = client.post("/api/training/check", json={"data": str(sounds), "params": {"kind": "stable-audio"}}).json()
    used = {u["file"]: (u["prompt"], u["prompt_from"]) for u in again["report"]["used"]}
    assert used["Kicks/808 punchy.wav"] == ("an 808 with punch", "sidecar")
    assert used["Kicks/deep.wav"] == ("kicks, deep", "name")


def test_prompt_edits_never_write_outside_the_data_folder(client, sounds, tmp_path):
    outside = tmp_path / "elsewhere"
    write(outside / "x.wav", kick(2))
    (sounds / "link").symlink_to(outside)
    (sounds / "notes.md").write_text("not audio")
    cases = {"../elsewhere/x.wav": 403, str(outside / "x.wav"): 403, "link/x.wav": 403,
             "notes.md": 404, "Kicks/none.wav": 404, "Kicks\\deep.wav": 403}
    for name, status in cases.items():
        reply = client.put("/api/training/prompts", json={"data": str(sounds), "prompts": {
            "Kicks/deep.wav": "fine", name: "evil"}})
        assert reply.status_code == status, (name, reply.text)
    assert sorted(os.listdir(outside)) == ["x.wav"]
    assert (sounds / "Kicks" / "deep.wav.txt").read_text() == "a deep kick\n"  # one bad name: nothing written
    assert not (sounds / "notes.md.txt").exists()


def test_a_finished_run_lists_its_losses_checkpoints_and_demos_per_step_and_resumes(client, tmp_path):
    data = song_folder(tmp_path / "my midi")
    check = client.post("/api/training/check", json={"data": str(data), "params": {"kind": "midi-drums"}}).json()
    assert check["report"]["files"]["used"] == 4 and check["prompts_editable"] is False
    params = {"kind": "midi-drums", "data": str(data), "name": "beats", "steps": 4, "save_every": 2,
              "batch_size": 2, "demo_count": 2, "seed": 1}
    job = finished(client, client.post("/api/jobs", json={"verb": "train", "params": params}).json()["job_id"], 180)
    assert job["state"] == "done", job["error"]
    runs = client.get("/api/training/runs").json()["runs"]
    assert [(r["name"], r["job_id"], r["checkpoints"], r["resumable"]) for r in runs] == [("beats", job["job_id"], [2, 4], True)]
    run = client.get("/api/training/runs/beats").json()
    assert [s for s, _ in run["losses"]] == [1, 2, 3, 4] and run["report"]["kind"] == "midi-drums"
    assert [d["step"] for d in run["demos"]] == [0, 2, 4]
    for demo in run["demos"]:
        assert [f["name"] for f in demo["files"]] == ["demo-1.mid", "demo-2.mid"]
        assert all(f["audio_url"] == "" for f in demo["files"])  # MIDI without a preview: no player
        served = client.get(demo["files"][0]["url"])
        assert served.status_code == 200 and served.content[:4] == b"MThd"
    resumed = client.post("/api/training/runs/beats/resume", json={"steps": 6})
    assert resumed.status_code == 200, resumed.text
    again = finished(client, resumed.json()["job_id"], 180)
    assert again["state"] == "done", again["error"]
    assert client.get("/api/training/runs/beats").json()["checkpoints"][-1] == 6
    assert client.get("/api/training/runs/nope").status_code == 404
    assert client.get("/api/training/runs/..%2F..").status_code in (400, 404)


def test_models_load_and_unload_from_the_api(client):
    assert client.post("/api/models/synth/load").status_code == 202
    synth = next(m for m in client.get("/api/models").json()["models"] if m["name"] == "synth")
    assert synth["loaded"] is True  # thread isolation: at once when no job runs
    reply = client.post("/api/models/synth/unload")
    assert (reply.status_code, reply.json()["lanes"]) == (202, ["cpu"])
    synth = next(m for m in client.get("/api/models").json()["models"] if m["name"] == "synth")
    assert synth["loaded"] is False
    assert client.post("/api/models/nope/load").json()["code"] == "unknown_model"


def test_a_queued_job_moves_with_patch(tmp_path):
    engine = make_engine(tmp_path, workers=False)
    client = client_for(engine)
    first, second = (client.post("/api/jobs", json={"verb": "generate", "params": {"prompt": p}}).json()["job_id"]
                     for p in ("a", "b"))
    reply = client.patch(f"/api/jobs/{second}", json={"priority": 9})
    assert reply.status_code == 200, reply.text
    assert (reply.json()["priority"], reply.json()["queue_position"]) == (9, 0)
    assert [j["job_id"] for j in client.get("/api/queue").json()["jobs"]] == [second, first]
    assert client.patch(f"/api/jobs/{first}", json={"priority": 500}).status_code == 400
    client.delete(f"/api/jobs/{first}")
    assert client.patch(f"/api/jobs/{first}", json={"priority": 1}).json()["code"] == "already_finished"
    engine.stop(1)
    engine.close()
