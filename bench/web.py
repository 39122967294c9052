"""The studio page's two figures: a library page with 1,000 results, and event latency from a job's
progress to the browser's event stream.

- Library: 1,000 results (one real synth file and sidecar, copied into 10 dated folders), served by
  the real web door (uvicorn) over HTTP. Printed: the first page cold (the index built), warm (folders
  only stat-ed), and beside it, measured the same way, a scan that re-reads every sidecar per request
  (what the index saves); the ratio is the speed-up.
- Events: synth jobs with `progress_interval = 0` (every step an event) on an in-process engine; the
  time from the engine emitting a progress event to an SSE client on 127.0.0.1 reading it.
    .venv/bin/python bench/web.py [--results 1000] [--requests 50] [--jobs 5]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import threading
import time
from pathlib import Path

import httpx
from _common import REPO, percentile  # noqa: F401 - puts the repository on sys.path

from bridge.web import WebDoor
from bridge.web.library import LibraryIndex, _read_sidecar
from server.config import load
from server.engine import Engine
from server.jobs import EventKind, Request


def make_engine(tmp: Path, **server: object) -> Engine:
    engine = Engine(load(None, {"output.root": str(tmp / "p"), "server.state_dir": str(tmp / "s"),
                                "server.isolation": "thread", **{f"server.{k}": v for k, v in server.items()}}))
    engine.start()
    return engine


def fill_library(engine: Engine, results: int) -> None:
    job, _ = engine.submit(Request("generate", {"prompt": "punchy kick", "seconds": 0.5, "seed": 1}))
    while not engine.status(job.id)[0].state.finished:
        time.sleep(0.01)
    wav = Path(engine.status(job.id)[0].outputs[0])
    sidecar = json.loads(wav.with_suffix(".json").read_text())
    root = engine.writer.root
    for n in range(results):
        folder = root / "dawgen" / f"2025-01-{n % 10 + 1:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(wav, folder / f"kick_{n}.wav")
        (folder / f"kick_{n}.json").write_text(json.dumps(dict(sidecar, written_at=1.7e9 + n, seed=n)))
    hour_ago = time.time() - 3600  # a library made over time: no folder changed in the last seconds
    for folder in [root, root / "dawgen", *(root / "dawgen").iterdir()]:
        os.utime(folder, (hour_ago, hour_ago))


def timed_get(client: httpx.Client, url: str) -> float:
    started = time.perf_counter()
    reply = client.get(url)
    reply.raise_for_status()
    return time.perf_counter() - started


def rescan_every_time(root: Path) -> int:
    """The baseline: walk and parse every sidecar, as a request without the index would."""
    return sum(1 for p in root.rglob("*.json") if _read_sidecar(str(p)) is not None)


def library(results: int, requests: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="dawgen-web-") as tmp:
        engine = make_engine(Path(tmp))
        fill_library(engine, results)
        door = WebDoor(engine.config, engine, port=0)
        door.start()
        while not door.started:
            time.sleep(0.01)
        url = door.url + "api/library?page=1&per_page=50"
        with httpx.Client(timeout=30) as client:
            cold = timed_get(client, url)
            total = client.get(url).json()["total"]
            warm = [timed_get(client, url) for _ in range(requests)]
            baseline = []
            for _ in range(max(5, requests // 5)):
                started = time.perf_counter()
                rescan_every_time(engine.writer.root)
                baseline.append(time.perf_counter() - started)
            indexed = []
            index = LibraryIndex(engine.writer.root)
            index.results()
            for _ in range(max(5, requests // 5)):
                started = time.perf_counter()
                index.page(1, 50)
                indexed.append(time.perf_counter() - started)
        engine.stop(5)
        door.stop()
        engine.close()
    figures = {"results": total, "cold_ms": cold * 1e3, "warm_p50_ms": statistics.median(warm) * 1e3,
               "warm_p99_ms": percentile(warm, 99) * 1e3, "index_page_ms": statistics.median(indexed) * 1e3,
               "rescan_ms": statistics.median(baseline) * 1e3}
    figures["rescan_over_index"] = figures["rescan_ms"] / max(figures["index_page_ms"], 1e-6)
    return figures


def events(jobs: int) -> dict[str, float]:
    emitted: dict[tuple[str, float, str], float] = {}
    latencies: list[float] = []
    with tempfile.TemporaryDirectory(prefix="dawgen-web-") as tmp:
        engine = make_engine(Path(tmp), progress_interval=0.0)
        engine.subscribe(lambda e: emitted.setdefault((e.job.id, round(e.job.progress.fraction, 4), e.job.progress.stage),
                                                      time.perf_counter()) if e.kind is EventKind.PROGRESS else None)
        door = WebDoor(engine.config, engine, port=0)
        door.start()
        while not door.started:
            time.sleep(0.01)
        finished = threading.Event()
        done_jobs: set[str] = set()

        def listen() -> None:
            with httpx.stream("GET", door.url + "api/events", timeout=60) as stream:
                name = ""
                for line in stream.iter_lines():
                    now = time.perf_counter()
                    if line.startswith("event: "):
                        name = line[7:]
                    elif line.startswith("data: ") and name == "progress":
                        e = json.loads(line[6:])
                        sent = emitted.get((e["job_id"], e["fraction"], e["stage"]))
                        if sent is not None:
                            latencies.append(now - sent)
                    elif line.startswith("data: ") and name == "done":
                        done_jobs.add(json.loads(line[6:])["job_id"])
                        if len(done_jobs) >= jobs:
                            finished.set()
                            return

        threading.Thread(target=listen, daemon=True).start()
        while door.app.state.hub.open_streams < 1:
            time.sleep(0.01)
        for n in range(jobs):
            engine.submit(Request("generate", {"prompt": "drum loop", "bars": 8, "count": 4, "seed": n}))
        finished.wait(120)
        engine.stop(5)
        door.stop()
        engine.close()
    return {"events": len(latencies), "p50_ms": statistics.median(latencies) * 1e3,
            "p99_ms": percentile(latencies, 99) * 1e3, "max_ms": max(latencies) * 1e3}


def main(results: int = 1000, requests: int = 50, jobs: int = 5) -> dict[str, dict[str, float]]:
    lib = library(results, requests)
    print(f"web library: {lib['results']} results, page of 50 over HTTP: cold {lib['cold_ms']:.1f} ms, "
          f"warm p50 {lib['warm_p50_ms']:.2f} ms, p99 {lib['warm_p99_ms']:.2f} ms")
    print(f"web library: index page {lib['index_page_ms']:.3f} ms vs re-reading every sidecar {lib['rescan_ms']:.1f} ms "
          f"per request: {lib['rescan_over_index']:.0f}x")
    ev = events(jobs)
    print(f"web events: {ev['events']} progress events, engine → SSE client on 127.0.0.1: p50 {ev['p50_ms']:.2f} ms, "
          f"p99 {ev['p99_ms']:.2f} ms, max {ev['max_ms']:.2f} ms")
    return {"library": lib, "events": ev}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--jobs", type=int, default=5)
    args = parser.parse_args()
    main(args.results, args.requests, args.jobs)
