"""The studio page's HTTP API under the studio LAN rules (bridge/clients.py, the same rules as OSC),
over loopback with [server] require_token = true so loopback is treated like another machine:
two clients and the admin (a [web] token), FastAPI's TestClient, nothing on the network."""
from __future__ import annotations

import asyncio
import logging

import pytest

from server.config import load
from server.engine import Engine
from server.jobs import Event, EventKind, Job

from .web_helpers import finished

pytest.importorskip("fastapi")

ALICE, BOB = "alice-token-" + "a" * 20, "bob-token-" + "b" * 20
ADMIN, WRONG = "admin-token-" + "d" * 20, "wrong-token-" + "w" * 20


def make(tmp_path, workers=False, **alice) -> Engine:
    overrides = {"output.root": str(tmp_path / "project"), "server.state_dir": str(tmp_path / "state"),
                 "server.isolation": "thread", "server.require_token": True, "web.tokens": [ADMIN],
                 "clients.alice": {"token": ALICE, **alice}, "clients.bob": {"token": BOB}}
    engine = Engine(load(None, overrides))
    engine.start(workers=workers)
    return engine


def api(engine: Engine, token: str | None):
    from fastapi.testclient import TestClient

    from bridge.web.app import create_app

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return TestClient(create_app(engine, engine.config), base_url="http://127.0.0.1:9957",
                      client=("127.0.0.1", 50000), headers=headers)


@pytest.fixture
def queued(tmp_path):
    """Jobs stay queued (no workers): status, cancel and queue without racing a worker."""
    engine = make(tmp_path, max_queued=2, max_priority=3)
    yield engine
    engine.stop(5)
    engine.close()


@pytest.fixture
def running(tmp_path):
    engine = make(tmp_path, workers=True)
    yield engine
    engine.stop(5)
    engine.close()


def submit(client, prompt: str, **params) -> str:
    reply = client.post("/api/jobs", json={"verb": "generate", "params": {"prompt": prompt, **params}})
    assert reply.status_code == 200, reply.text
    return reply.json()["job_id"]


def test_no_token_or_a_wrong_one_is_unauthorized(queued):
    for token in (None, WRONG):
        for method, url in (("get", "/api/queue"), ("post", "/api/jobs"), ("get", "/api/library")):
            reply = getattr(api(queued, token), method)(url, **({"json": {"verb": "generate"}} if method == "post" else {}))
            assert reply.status_code == 401 and reply.json()["code"] == "unauthorized"
            assert WRONG not in reply.text
    assert queued.queue() == []


def test_a_client_sees_and_cancels_only_its_own_jobs(queued):
    alice, bob, admin = api(queued, ALICE), api(queued, BOB), api(queued, ADMIN)
    mine, theirs = submit(alice, "secret kick"), submit(bob, "bob pad")
    assert queued.status(mine)[0].owner == "alice" and queued.status(theirs)[0].owner == "bob"
    for method in ("get", "delete"):
        reply = getattr(alice, method)(f"/api/jobs/{theirs}")
        assert reply.status_code == 403 and reply.json()["code"] == "forbidden"
    reply = alice.patch(f"/api/jobs/{theirs}", json={"priority": 1})
    assert reply.status_code == 403 and reply.json()["code"] == "forbidden"
    assert queued.status(theirs)[0].state.value == "queued"  # left alone
    assert alice.get(f"/api/jobs/{mine}").json()["params"]["prompt"] == "secret kick"

    jobs = {j["job_id"]: j for j in alice.get("/api/queue").json()["jobs"]}
    assert jobs[mine]["params"]["prompt"] == "secret kick"
    assert jobs[theirs]["params"] == {} and jobs[theirs]["state"] == "queued" and jobs[theirs]["req_id"] == ""
    assert jobs[theirs]["paths"] == [] and jobs[theirs]["urls"] == []
    everything = {j["job_id"]: j for j in admin.get("/api/queue").json()["jobs"]}
    assert everything[theirs]["params"]["prompt"] == "bob pad"  # the admin sees all

    assert bob.delete(f"/api/jobs/{theirs}").json()["state"] == "cancelled"
    assert admin.delete(f"/api/jobs/{mine}").json()["state"] == "cancelled"  # the admin cancels any job


def test_submissions_carry_the_owner_and_its_limits(queued):
    alice, bob = api(queued, ALICE), api(queued, BOB)
    first = submit(alice, "a", priority=9)
    assert queued.status(first)[0].priority == 3  # max_priority caps what alice asks
    submit(alice, "b")
    reply = alice.post("/api/jobs", json={"verb": "generate", "params": {"prompt": "c"}})
    assert reply.status_code == 429 and reply.json()["code"] == "queue_full"
    assert "max_queued = 2" in reply.json()["message"]
    submit(bob, "d")  # another client's room is its own
    moved = alice.patch(f"/api/jobs/{first}", json={"priority": 50})
    assert moved.status_code == 200 and moved.json()["priority"] == 3
    for params in ({"input": "/etc/passwd"}, {"data": "/home"}):
        reply = bob.post("/api/jobs", json={"verb": "process" if "input" in params else "train", "params": params})
        assert reply.status_code == 403 and reply.json()["code"] == "forbidden"


def test_the_daemons_machine_is_the_admins(queued):
    bob, admin = api(queued, BOB), api(queued, ADMIN)
    for method, url, body in (("post", "/api/models/synth/load", None), ("post", "/api/models/synth/unload", None),
                              ("get", "/api/training/runs", None), ("post", "/api/training/check", {"data": "/tmp"}),
                              ("put", "/api/training/prompts", {"data": "/tmp", "prompts": {}})):
        reply = getattr(bob, method)(url, **({"json": body} if body else {}))
        assert reply.status_code == 403 and reply.json()["code"] == "forbidden", url
    assert admin.get("/api/training/runs").status_code == 200


def test_files_and_library_serve_only_the_clients_own_results(running):
    alice, bob, admin = api(running, ALICE), api(running, BOB), api(running, ADMIN)
    job = finished(alice, submit(alice, "alice kick", seconds=0.3, seed=1))
    other = finished(bob, submit(bob, "bob hat", seconds=0.3, seed=2))
    assert job["state"] == other["state"] == "done"
    url = job["urls"][0]
    assert alice.get(url).status_code == 200 and admin.get(url).status_code == 200
    refused = bob.get(url)
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"

    mine = alice.get("/api/library").json()
    assert [r["job_id"] for r in mine["results"]] == [job["job_id"]] and mine["total"] == 1
    entry = mine["results"][0]
    assert alice.get(entry["sidecar_url"]).status_code == 200  # a result's sidecar comes with it
    assert bob.get(entry["sidecar_url"]).status_code == 403
    if entry["image_url"].startswith("/api/waveform/"):
        assert bob.get(entry["image_url"]).status_code == 403
    assert [r["job_id"] for r in bob.get("/api/library").json()["results"]] == [other["job_id"]]
    assert {r["job_id"] for r in admin.get("/api/library").json()["results"]} == {job["job_id"], other["job_id"]}
    # a file no job wrote: not_found for a client (it reads results only), served to the admin
    stray = running.config.output_root / "stray.wav"
    stray.write_bytes(open(job["paths"][0], "rb").read())
    assert alice.get("/files/stray.wav").status_code == 404
    assert admin.get("/files/stray.wav").status_code == 200


def test_event_streams_carry_only_the_clients_own_jobs(queued):
    from bridge.clients import Identity
    from bridge.web.events import EventHub

    hub = EventHub(queued, [queued.config.output_root])
    alice, bob = Identity("alice", admin=False), Identity("bob", admin=False)

    async def heard(who: Identity) -> list[bytes]:
        stream = hub.stream(who=who)
        got = [await stream.__anext__()]  # the hello
        for owner in ("alice", "bob"):
            hub._on_event(Event(EventKind.ACCEPTED, Job(id=f"job-{owner}", verb="generate", model="synth",
                                                        params={}, owner=owner), 0))
        hub.close()
        got += [item async for item in stream]
        return got

    assert [b"job-alice" in i for i in asyncio.run(heard(alice))[1:]] == [True]
    assert [b"job-bob" in i for i in asyncio.run(heard(bob))[1:]] == [True]


def test_tokens_never_reach_the_log_or_a_reply(queued, caplog):
    caplog.set_level(logging.DEBUG)
    replies = []
    for token in (ALICE, BOB, WRONG, ADMIN):
        client = api(queued, token)
        replies += [client.post("/api/jobs", json={"verb": "generate", "params": {"prompt": "x"}}),
                    client.get("/api/jobs/nope"), client.get("/api/queue"),
                    client.get("/api/jobs/x", params={"token": token})]
    # the daemon's side: every record but the test's own HTTP client's (httpx logs the URLs it asks for)
    daemon = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    assert daemon  # something was logged on the daemon's side...
    text = " ".join(f"{r.getMessage()} {r.args!r}" for r in daemon)
    for token in (ALICE, BOB, WRONG, ADMIN):  # ...without a token
        assert token not in text
        assert not any(token in r.text for r in replies)
