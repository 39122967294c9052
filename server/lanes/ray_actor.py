"""The cluster node's side of a Ray lane (server/lanes/ray_lane.py): `LaneActor`, which Ray places on
a node that has the lane's resources. It holds the lane's Registry and backends and runs one job at a
time with the model process's code (server/execute.py), so models stay warm there under the same
memory budget. Progress and reports wait in a per-job queue the daemon's RayRunner polls; a job's
raw outputs and provenance go back as the call's result (`_Capture`), because only the daemon writes
files. Ray itself is imported lazily here too (the node's id and address only).
"""
from __future__ import annotations

import logging
import os
import threading
from typing import Any

from .. import controls
from ..config import Config
from ..execute import execute_job
from ..jobs import Job
from ..registry import Registry

log = logging.getLogger("dawgen.ray")


class _Capture:
    """The actor's writer: keeps the outputs and provenance for the daemon, which writes the files."""

    def __init__(self) -> None:
        self.outputs: list[Any] = []
        self.provenance: dict[str, Any] = {}

    def write_job(self, job: Job, outputs: list[Any], provenance: dict[str, Any]) -> list[str]:
        self.outputs, self.provenance = list(outputs), dict(provenance)
        return []


class LaneActor:
    """One lane's models on a cluster node: a Registry and backends, one job at a time."""

    def __init__(self, config: Config, lane: str, device: str) -> None:
        self.lane, self.device = lane, device
        self.registry = Registry(config)
        self._run_lock = threading.Lock()  # the device runs one thing at a time
        self._lock = threading.Lock()
        self._events: dict[str, list[tuple[Any, ...]]] = {}
        self._cancels: dict[str, threading.Event] = {}
        self._cancelled: set[str] = set()
        self._running: str | None = None
        self._jobs_run = 0

    def _push(self, job_id: str, event: tuple[Any, ...]) -> None:
        with self._lock:
            events = self._events.setdefault(job_id, [])
            if event[0] == "progress" and events and events[-1][0] == "progress" and events[-1][2] == event[2]:
                events[-1] = event  # the daemon throttles anyway: the latest fraction of a stage is enough
            else:
                events.append(event)

    def run(self, job: Job, request: dict[str, Any]) -> tuple[Job, list[Any], dict[str, Any], list[Any], dict[str, Any]]:
        cancel = threading.Event()
        job_id = job.id
        with self._lock:
            self._cancels[job_id] = cancel
            self._events.setdefault(job_id, [])
            if job_id in self._cancelled:
                cancel.set()
        capture = _Capture()
        with self._run_lock:
            self._running = job_id
            try:
                execute_job(job, request, self.registry, capture,  # type: ignore[arg-type]
                            lambda fraction, stage: self._push(job_id, ("progress", fraction, stage)), cancel,
                            self.device, report=lambda kind, data: self._push(job_id, ("report", kind, data)))
            finally:
                self._running = None
                self._jobs_run += 1
        if capture.provenance:
            capture.provenance["worker"] = f"{self.lane}@{self._node()['ip']}"
            capture.provenance["node"] = self._node()["id"]
        with self._lock:
            self._cancels.pop(job_id, None)
            self._cancelled.discard(job_id)
            events = self._events.pop(job_id, [])
        return job, capture.outputs, capture.provenance, events, self.registry.warm()

    def poll(self, job_id: str) -> list[tuple[Any, ...]]:
        with self._lock:
            events = self._events.get(job_id)
            if not events:
                return []
            self._events[job_id] = []
            return events

    def cancel(self, job_id: str) -> None:
        with self._lock:
            self._cancelled.add(job_id)
            if job_id in self._cancels:
                self._cancels[job_id].set()

    def manage(self, action: str, model: str) -> dict[str, Any]:
        with self._run_lock:
            try:
                controls.apply(self.registry, action, model)
            except Exception:
                log.exception("%s of model %s failed", action, model)
            return self.registry.warm()

    def preload(self) -> dict[str, Any]:
        with self._run_lock:
            try:
                self.registry.preload()
            except Exception:
                log.exception("preloading models failed")
            return self.registry.warm()

    def _node(self) -> dict[str, str]:
        import ray

        context = ray.get_runtime_context()
        return {"id": context.get_node_id(), "ip": ray.util.get_node_ip_address()}

    def status(self) -> dict[str, Any]:
        return {"lane": self.lane, "device": self.device, "node": self._node()["id"], "ip": self._node()["ip"],
                "pid": os.getpid(), "running": self._running, "jobs_run": self._jobs_run, "warm": self.registry.warm()}
