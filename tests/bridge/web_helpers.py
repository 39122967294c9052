"""Shared by the web door's tests: an engine on the embedded synth and a TestClient from loopback."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from server.config import load
from server.engine import Engine
from tests.waiting import wait_until


def make_engine(tmp_path: Path, workers: bool = True, **web: Any) -> Engine:
    overrides = {"output.root": str(tmp_path / "project"), "server.state_dir": str(tmp_path / "state"),
                 "server.isolation": "thread", **{f"web.{k}": v for k, v in web.items()}}
    engine = Engine(load(None, overrides))
    engine.start(workers=workers)
    return engine


def client_for(engine: Engine, peer: str = "127.0.0.1", host: str = "127.0.0.1:9957"):
    from fastapi.testclient import TestClient

    from bridge.web.app import create_app

    return TestClient(create_app(engine, engine.config), base_url=f"http://{host}", client=(peer, 50000))


def finished(client: Any, job_id: str, timeout: float = 30.0) -> dict[str, Any]:
    return wait_until(lambda: (lambda j: j if j["state"] in ("done", "failed", "cancelled") else None)(
        client.get(f"/api/jobs/{job_id}").json()), timeout=timeout, what=f"job {job_id} to finish")
