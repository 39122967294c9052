"""The web door on a real socket (uvicorn in its thread): events as SSE, the library index, the drain."""
from __future__ import annotations

import json
import threading
from pathlib import Path

import httpx
import pytest

from bridge.web.library import LibraryIndex
from tests.waiting import wait_until

from .web_helpers import make_engine

pytest.importorskip("uvicorn")


@pytest.fixture
def door(tmp_path):
    from bridge.web import WebDoor

    engine = make_engine(tmp_path)
    web = WebDoor(engine.config, engine, port=0)
    web.start()
    wait_until(lambda: web.started, what="uvicorn to serve")
    yield web
    engine.stop(5)
    web.stop()
    engine.close()


def read_events(url: str, out: list[dict], ready: threading.Event, until: str) -> None:
    with httpx.stream("GET", url, timeout=30) as reply:
        name = ""
        for line in reply.iter_lines():
            ready.set()
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                out.append({"event": name, **json.loads(line[6:])})
                if name == until:
                    return


def test_the_event_stream_carries_a_jobs_progress_and_done(door):
    events: list[dict] = []
    ready = threading.Event()
    reader = threading.Thread(target=read_events, args=(door.url + "api/events", events, ready, "done"), daemon=True)
    reader.start()
    assert ready.wait(10)
    wait_until(lambda: door.app.state.hub.open_streams == 1, what="the stream to be registered")
    reply = httpx.post(door.url + "api/jobs", json={"verb": "generate", "params": {"prompt": "kick", "seconds": 0.5}})
    job_id = reply.json()["job_id"]
    reader.join(30)
    mine = [e for e in events if e["job_id"] == job_id]
    names = [e["event"] for e in mine]
    assert names[0] == "accepted" and names[-1] == "done" and "progress" in names
    fractions = [e["fraction"] for e in mine if e["event"] == "progress"]
    assert fractions == sorted(fractions)
    assert mine[-1]["paths"] and mine[-1]["urls"][0].startswith("/files/")
    assert httpx.get(door.url + mine[-1]["urls"][0].lstrip("/")).status_code == 200


def test_stop_ends_open_streams_so_the_daemon_drains(tmp_path):
    from bridge.web import WebDoor

    engine = make_engine(tmp_path)
    web = WebDoor(engine.config, engine, port=0)
    web.start()
    wait_until(lambda: web.started, what="uvicorn to serve")
    ended = threading.Event()

    def listen() -> None:
        try:
            with httpx.stream("GET", web.url + "api/events", timeout=30) as reply:
                for _ in reply.iter_lines():
                    pass
        except httpx.HTTPError:
            pass
        ended.set()

    threading.Thread(target=listen, daemon=True).start()
    wait_until(lambda: web.app.state.hub.open_streams == 1, what="the stream to open")
    engine.stop(5)
    web.stop()
    engine.close()
    assert ended.wait(10)
    assert not web._thread.is_alive()


def test_a_taken_port_fails_at_bind(door):
    from bridge.web import WebDoor

    with pytest.raises(OSError):
        WebDoor(door.config, door.engine, port=door.port).bind()


def write_result(folder: Path, stem: str, written_at: float, job_id: str = "j") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{stem}.wav").write_bytes(b"RIFF")
    (folder / f"{stem}.json").write_text(json.dumps({"job_id": job_id, "params": {"prompt": stem}, "verb": "generate",
                                                      "written_at": written_at, "file_format": "wav"}))


def test_library_index_sees_new_and_removed_files_and_parses_each_sidecar_once(tmp_path, monkeypatch):
    from bridge.web import library

    root = tmp_path / "project"
    for i in range(5):
        write_result(root / "dawgen" / "2025-01-01", f"old-{i}", 100.0 + i)
    write_result(root / "loops", "newest", 500.0)
    (root / "loops" / "notes.json").write_text('{"unrelated": true}')  # another program's JSON
    (root / "loops" / "orphan.json").write_text(json.dumps({"job_id": "x", "params": {}}))  # its audio is gone
    reads: list[str] = []
    real = library._read_sidecar
    monkeypatch.setattr(library, "_read_sidecar", lambda p: reads.append(p) or real(p))
    monkeypatch.setattr(library, "RECENT_SECONDS", 0.0)  # only mtime changes trigger a re-read here
    index = LibraryIndex(root)
    names = [r["name"] for r in index.results()]
    assert names == ["newest.wav", "old-4.wav", "old-3.wav", "old-2.wav", "old-1.wav", "old-0.wav"]
    parsed = len(reads)
    assert [r["name"] for r in index.results()] == names and len(reads) == parsed  # nothing re-read
    write_result(root / "dawgen" / "2025-01-02", "brand-new", 900.0)
    (root / "dawgen" / "2025-01-01" / "old-0.wav").unlink()
    names = [r["name"] for r in index.results()]
    assert names[0] == "brand-new.wav" and "old-0.wav" not in names and len(names) == 6
    assert len(reads) == parsed + 1  # only the new sidecar: the changed folder's others are cached by mtime
