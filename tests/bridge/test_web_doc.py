"""docs/HTTP.md is a contract, like PROTOCOL.md: every route, event name and status of the code."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from server.errors import ErrorCode

pytest.importorskip("fastapi")

DOC = (Path(__file__).resolve().parents[2] / "docs" / "HTTP.md").read_text()
FRAMEWORK = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}  # FastAPI's own pages


def app_routes(tmp_path) -> set[str]:
    from bridge.web.app import create_app
    from server.config import load
    from server.engine import Engine

    engine = Engine(load(None, {"output.root": str(tmp_path / "p"), "server.state_dir": str(tmp_path / "s")}))
    app = create_app(engine, engine.config)
    routes = set()
    for route in app.routes:
        path, methods = getattr(route, "path", ""), getattr(route, "methods", None)
        if path in FRAMEWORK or not methods:  # the /static mount has no methods
            continue
        routes.update(f"{m} {path.replace('{path:path}', '{path}')}" for m in methods if m != "HEAD")
    engine.close()
    return routes


def test_every_route_is_documented_and_every_documented_route_exists(tmp_path):
    documented = set(re.findall(r"^### ((?:GET|POST|DELETE|PUT|PATCH) \S+)$", DOC, re.M))
    assert documented == app_routes(tmp_path)


def test_the_status_table_is_the_codes(tmp_path):
    from bridge.web.errors import STATUS

    table = dict(re.findall(r"^\| `([a-z_]+)` \| (\d{3}) \|$", DOC.split("## Errors", 1)[1], re.M))
    assert {ErrorCode(k): int(v) for k, v in table.items()} == STATUS
    assert set(STATUS) == set(ErrorCode)  # every code a reply can carry has a status
    assert all(400 <= s < 600 for s in STATUS.values())


def test_the_event_names_are_documented():
    from bridge.web.events import NAMES

    documented = set(re.findall(r"^\| `([a-z]+)` \|", DOC.split("## Events", 1)[1].split("## ", 1)[0], re.M))
    assert documented == set(NAMES.values())
