"""The hot-folder tests' rig: a real in-process engine (synth model, thread isolation) and a hot
folder on a fake settle clock driven by the test, so no assertion depends on timing."""
from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import soundfile as sf

from bridge.hotfolder import HotFolder
from server.config import load
from server.engine import Engine


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def wait_until(cond: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached before the deadline")
        time.sleep(0.02)


class Rig:
    """An engine, a hot folder on a fake clock, and helpers to look at the folders."""

    def __init__(self, tmp_path: Path, recipes: dict | None = None, workers: bool = True,
                 server: dict | None = None) -> None:
        self.root = tmp_path / "project"
        self.config = load(None, {"output.root": str(self.root), "server.state_dir": str(tmp_path / "state"),
                                  "server.isolation": "thread", "hotfolder.settle_seconds": 1.0,
                                  "hotfolder.rescan_seconds": 0.2, "hotfolder.recipes": recipes or {},
                                  **{f"server.{k}": v for k, v in (server or {}).items()}})
        self.engine = Engine(self.config)
        # without workers the engine accepts and journals, runs nothing: jobs stay queued (as in a crash)
        self.engine.start(workers=workers)
        self.clock = Clock()
        self.hf = HotFolder(self.config, self.engine, clock=self.clock)
        self.layout = self.hf.layout

    def prepare(self) -> Rig:
        self.hf.prepare()
        return self

    def settle_and_scan(self) -> int:
        """Two looks at the inbox a settle time apart: what was complete is claimed."""
        self.hf.scan_once()
        self.clock.advance(self.hf.settler.settle_seconds)
        return self.hf.scan_once()

    def idle(self) -> bool:
        return not self.hf.in_flight

    def files(self, kind: str, recipe: str = "generate") -> list[str]:
        folder = getattr(self.layout, kind)(recipe)
        return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []

    def outputs(self, recipe: str = "generate") -> list[dict]:
        """The outbox's result sidecars (one per audio file)."""
        out = self.layout.outbox(recipe)
        return [json.loads(p.read_text()) for p in sorted(out.glob("*.json"))]

    def close(self) -> None:
        self.hf.stop()
        self.engine.stop(10)
        self.engine.close()


def rigs(tmp_path: Path) -> Iterator[Callable[..., Rig]]:
    """A test module's `rig` fixture: yields a maker of rigs, and closes each one it made."""
    made: list[Rig] = []

    def make(**kwargs) -> Rig:
        r = Rig(tmp_path, **kwargs)
        made.append(r)
        return r

    yield make
    for r in made:
        r.close()


def write_wav(path: Path, seconds: float = 0.1) -> None:
    sf.write(str(path), np.zeros(int(48000 * seconds), dtype="float32"), 48000)
