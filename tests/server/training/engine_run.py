"""An engine for train-job tests: thread isolation, the models a test configures, a data folder, and
every event it sent (one harness for the stable-audio, musicgen and midi kinds' tests)."""
from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from server.config import ModelConfig, load
from server.engine import Engine
from server.jobs import EventKind, Request
from tests.waiting import wait_until


class TrainingEngine:
    NAME: ClassVar[str] = "my-model"  # the run name `train()` uses by default
    DEFAULTS: ClassVar[Mapping[str, Any]] = {}  # the train params every run of a subclass starts from

    def __init__(self, tmp: Path, data: Path, models: Mapping[str, ModelConfig] = {}, **server: object) -> None:
        overrides = {"output.root": str(tmp / "out"), "server.state_dir": str(tmp / "state"),
                     "server.isolation": "thread", **{f"server.{k}": v for k, v in server.items()}}
        self.config = load(None, overrides)
        self.config.models.update(models)
        self.engine = Engine(self.config)
        self.events: list[tuple[EventKind, str, dict]] = []
        self._lock = threading.Lock()
        self.engine.subscribe(self._on_event)
        self.engine.start()
        self.data = data

    def _on_event(self, event) -> None:
        with self._lock:
            self.events.append((event.kind, event.job.id, dict(event.data)))

    def of(self, job_id: str, kind: EventKind) -> list[dict]:
        with self._lock:
            return [d for k, j, d in self.events if j == job_id and k is kind]

    def train(self, name: str | None = None, **params: object) -> str:
        values = {**self.DEFAULTS, "data": str(self.data), "name": self.NAME if name is None else name, **params}
        job, _ = self.engine.submit(Request("train", values))
        return job.id

    def submit(self, verb: str, **params: object):
        """Submit a request and wait for it to finish."""
        return self.final(self.engine.submit(Request(verb, params))[0].id)

    def final(self, job_id: str, timeout: float = 240):
        wait_until(lambda: self.engine.status(job_id)[0].state.finished, timeout, f"job {job_id} to finish")
        return self.engine.status(job_id)[0]

    def close(self) -> None:
        self.engine.stop(10)
        self.engine.close()
