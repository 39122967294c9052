"""The HTTP API (bridge/web) through FastAPI's TestClient, on the embedded synth."""
from __future__ import annotations

import json
import os

import pytest
import soundfile as sf

from server.errors import ErrorCode

from .web_helpers import client_for, finished, make_engine

pytest.importorskip("fastapi")


@pytest.fixture
def engine(tmp_path):
    eng = make_engine(tmp_path)
    yield eng
    eng.stop(5)
    eng.close()


@pytest.fixture
def queued(tmp_path):
    """An engine whose jobs stay queued (no workers): cancel and queue without racing a worker."""
    eng = make_engine(tmp_path, workers=False)
    yield eng
    eng.stop(5)
    eng.close()


def test_submit_runs_a_synth_job_to_a_file_the_api_serves(engine):
    api = client_for(engine)
    reply = api.post("/api/jobs", json={"verb": "generate", "params": {"prompt": "punchy kick", "seconds": 0.5, "seed": 7}})
    assert reply.status_code == 200
    job = finished(api, reply.json()["job_id"])
    assert job["state"] == "done" and job["error"] is None and job["fraction"] == 1.0
    assert set(job) >= {"state", "fraction", "stage", "eta_seconds", "paths", "error"}
    assert len(job["paths"]) == 1 and job["urls"][0].startswith("/files/dawgen/")
    served = api.get(job["urls"][0])
    assert served.status_code == 200
    with open(job["paths"][0], "rb") as fh:
        assert served.content == fh.read()
    assert sf.info(job["paths"][0]).duration == pytest.approx(0.5, abs=0.01)


def test_the_same_req_id_and_params_return_the_same_job(queued):
    api = client_for(queued)
    body = {"verb": "generate", "params": {"prompt": "hat"}, "req_id": "r-1"}
    assert api.post("/api/jobs", json=body).json()["job_id"] == api.post("/api/jobs", json=body).json()["job_id"]


@pytest.mark.parametrize("body, code, status", [
    ({"verb": "nope"}, ErrorCode.UNKNOWN_VERB, 400),
    ({"verb": "generate", "params": {"seconds": "long"}}, ErrorCode.BAD_REQUEST, 400),
    ({"verb": "generate", "params": {"no_such_param": 1}}, ErrorCode.BAD_REQUEST, 400),
    ({"verb": "generate", "params": {"model": "ghost"}}, ErrorCode.UNKNOWN_MODEL, 404),
    ({"verb": "generate", "params": {"dir": "../elsewhere"}}, ErrorCode.OUT_OF_ROOT, 403),
    ({"verb": "generate", "params": {"prompt": {"nested": 1}}}, ErrorCode.BAD_REQUEST, 400),
    ({"params": {}}, ErrorCode.BAD_REQUEST, 400),
])
def test_refused_requests_carry_the_osc_error_code_and_a_4xx_status(queued, body, code, status):
    reply = client_for(queued).post("/api/jobs", json=body)
    assert reply.status_code == status
    assert reply.json()["code"] == code.value and reply.json()["message"]


def test_a_body_that_is_not_json_is_a_bad_request(queued):
    reply = client_for(queued).post("/api/jobs", content=b"verb=generate", headers={"Content-Type": "text/plain"})
    assert reply.status_code == 400 and reply.json()["code"] == "bad_request"


def test_cancel_a_queued_job_then_again(queued):
    api = client_for(queued)
    ids = [api.post("/api/jobs", json={"verb": "generate", "params": {"prompt": p}}).json()["job_id"] for p in ("a", "b")]
    queue = api.get("/api/queue").json()
    assert [j["job_id"] for j in queue["jobs"]] == ids and queue["total"] == 2
    assert [j["queue_position"] for j in queue["jobs"]] == [0, 1]
    reply = api.delete(f"/api/jobs/{ids[0]}")
    assert reply.status_code == 200 and reply.json() == {"job_id": ids[0], "state": "cancelled"}
    assert [j["job_id"] for j in api.get("/api/queue").json()["jobs"]] == ids[1:]
    status = api.get(f"/api/jobs/{ids[0]}").json()
    assert status["state"] == "cancelled" and status["error"]["code"] == "cancelled"
    again = api.delete(f"/api/jobs/{ids[0]}")
    assert again.status_code == 409 and again.json()["code"] == "already_finished"
    missing = api.get("/api/jobs/nosuchjob")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"


def test_models_list_each_verb_with_its_param_specs(queued):
    data = client_for(queued).get("/api/models").json()
    synth = next(m for m in data["models"] if m["name"] == "synth")
    params = {p["name"]: p for p in synth["verbs"]["generate"]}
    assert params["seconds"]["type"] == "float" and "min" in params["seconds"]
    assert {"prompt", "seed", "format", "dir"} <= set(params)  # the common output params too, as /dawgen/models
    assert data["models"] == queued.models()
    assert "generate" in data["verbs"] and data["default_model"] == "synth"


def test_library_lists_results_newest_first_with_urls_and_a_waveform(engine):
    api = client_for(engine)
    ids = []
    for prompt in ("first", "second"):
        ids.append(api.post("/api/jobs", json={"verb": "generate", "params": {"prompt": prompt, "seconds": 0.3}}).json()["job_id"])
        finished(api, ids[-1])
    page = api.get("/api/library?page=1&per_page=1").json()
    assert page["total"] == 2 and page["pages"] == 2 and len(page["results"]) == 1
    newest = page["results"][0]
    assert newest["job_id"] == ids[1] and newest["prompt"] == "second" and newest["seconds"] == pytest.approx(0.3)
    assert api.get("/api/library?page=2&per_page=1").json()["results"][0]["job_id"] == ids[0]
    assert api.get(newest["url"]).status_code == 200
    assert json.loads(api.get(newest["sidecar_url"]).content)["job_id"] == ids[1]
    image = api.get(newest["image_url"])
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    assert image.content.startswith(b"\x89PNG")
    assert api.get("/api/library?page=0").json()["code"] == "bad_request"


def test_a_preview_png_made_by_the_writer_is_the_librarys_image(engine):
    api = client_for(engine)
    job = finished(api, api.post("/api/jobs", json={"verb": "generate", "params": {"prompt": "snare", "preview": True}}).json()["job_id"])
    result = api.get("/api/library").json()["results"][0]
    assert result["image_url"].endswith(".png") and result["image_url"].startswith("/files/")
    with open(os.path.splitext(job["paths"][0])[0] + ".png", "rb") as fh:
        assert api.get(result["image_url"]).content == fh.read()


@pytest.mark.parametrize("path, code", [
    ("/files/%2e%2e/state/journal.sqlite3", "out_of_root"),
    ("/files/dawgen/%2e%2e/%2e%2e/state/journal.sqlite3", "out_of_root"),
    ("/files/%2Fetc%2Fpasswd", "out_of_root"),
    ("/files//etc/passwd", "out_of_root"),
    ("/files/..%5Cstate%5Cjournal.sqlite3", "out_of_root"),
    ("/files/escape/journal.sqlite3", "out_of_root"),  # a symlink inside the root that leads out
    ("/files/.hidden.wav", "not_found"),
    ("/files/nothing-here.wav", "not_found"),
    ("/api/waveform/%2e%2e/state/journal.sqlite3", "out_of_root"),
])
def test_files_are_confined_to_the_output_root(queued, tmp_path, path, code):
    project = tmp_path / "project"
    project.mkdir(exist_ok=True)
    (project / ".hidden.wav").write_bytes(b"x")
    (project / "escape").symlink_to(tmp_path / "state")
    reply = client_for(queued).get(path)
    assert reply.status_code in (403, 404) and reply.json()["code"] == code
    assert b"SQLite" not in reply.content


def test_requests_from_another_machine_need_a_token(tmp_path):
    token = "t0ken-long-enough-123"
    eng = make_engine(tmp_path, workers=False, host="0.0.0.0", tokens=[token])
    try:
        far = client_for(eng, peer="192.0.2.7", host="192.0.2.1:9957")
        refused = far.get("/api/queue")
        assert refused.status_code == 401 and refused.json()["code"] == "unauthorized"
        assert far.get("/api/queue", headers={"Authorization": "Bearer wrong-token-xxxxxx"}).status_code == 401
        assert far.get("/api/queue", headers={"Authorization": f"Bearer {token}"}).status_code == 200
        first = far.get(f"/?token={token}")  # the page's link: a cookie carries the token from then on
        assert first.status_code == 200 and "dawgen_token" in first.headers["set-cookie"]
        assert far.get("/api/queue").status_code == 200
        assert client_for(eng).get("/api/queue").status_code == 200  # loopback needs none
    finally:
        eng.stop(5)
        eng.close()


def test_a_page_elsewhere_cannot_use_the_loopback_api(queued):
    api = client_for(queued)
    rebound = client_for(queued, host="evil.example:9957").get("/api/queue")  # DNS rebinding
    assert rebound.status_code == 401
    cross = api.post("/api/jobs", json={"verb": "generate", "params": {}}, headers={"Origin": "https://evil.example"})
    assert cross.status_code == 401 and queued.queue() == []
    same = api.post("/api/jobs", json={"verb": "generate", "params": {}}, headers={"Origin": "http://127.0.0.1:9957"})
    assert same.status_code == 200


def test_the_page_and_openapi_are_served(queued):
    api = client_for(queued)
    page = api.get("/")
    assert page.status_code == 200 and "/static/app.js" in page.text
    assert api.get("/static/app.js").status_code == 200
    spec = api.get("/openapi.json").json()
    assert {"/api/jobs", "/api/jobs/{job_id}", "/api/events", "/files/{path}"} <= set(spec["paths"])


def test_files_answer_range_requests_for_seeking(engine):
    api = client_for(engine)
    job = finished(api, api.post("/api/jobs", json={"verb": "generate", "params": {"prompt": "tom", "seconds": 0.3}}).json()["job_id"])
    part = api.get(job["urls"][0], headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and len(part.content) == 100
    with open(job["paths"][0], "rb") as fh:
        assert part.content == fh.read(100)
