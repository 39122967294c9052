"""Plain data for the engine: requests, jobs, states and events (errors live in server/errors.py).

No I/O lives here, so every layer (journal, worker, front doors, tests) can share these types.
"""
from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class JobState(str, Enum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (JobState.DONE, JobState.FAILED, JobState.CANCELLED)


@dataclass(frozen=True)
class Request:
    """What a front door hands to the engine: a verb and its raw (not yet validated) params."""

    verb: str
    params: dict[str, Any]
    req_id: str = ""
    # Where events for this job go, as the front door understands it (e.g. {"udp": [host, port]}).
    # The engine stores it verbatim so replies survive a restart.
    client: dict[str, Any] = field(default_factory=dict)
    # the [clients] name the request came from (bridge/clients.py); "" = this machine (the admin)
    owner: str = ""


@dataclass
class Progress:
    fraction: float = 0.0
    stage: str = "queued"
    eta_seconds: float = -1.0


@dataclass
class Job:
    id: str
    verb: str
    model: str
    params: dict[str, Any]
    req_id: str = ""
    client: dict[str, Any] = field(default_factory=dict)
    priority: int = 0
    state: JobState = JobState.QUEUED
    progress: Progress = field(default_factory=Progress)
    outputs: list[str] = field(default_factory=list)
    error_code: str = ""
    error_message: str = ""
    created: float = field(default_factory=time.time)
    started: float = 0.0
    finished: float = 0.0
    attempts: int = 0
    seq: int = 0  # FIFO order within a priority; assigned by the journal
    owner: str = ""  # the requesting client's name ([clients.NAME]); "" = this machine (the admin)

    @staticmethod
    def new_id() -> str:
        return uuid.uuid4().hex[:12]

    def summary(self) -> dict[str, Any]:
        """JSON-ready view used by `queue`, `status` and `dawgen jobs`."""
        return {
            "job_id": self.id,
            "req_id": self.req_id,
            "verb": self.verb,
            "model": self.model,
            "state": self.state.value,
            "priority": self.priority,
            "fraction": round(self.progress.fraction, 4),
            "stage": self.progress.stage,
            "eta_seconds": round(self.progress.eta_seconds, 2),
            "outputs": list(self.outputs),
            "error_code": self.error_code,
            "error_message": self.error_message,
            "created": self.created,
            "started": self.started,
            "finished": self.finished,
            "owner": self.owner,
            "params": self.params,
        }


class EventKind(str, Enum):
    """The small, named set of things that happen to a job."""

    ACCEPTED = "accepted"
    PROGRESS = "progress"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"
    DATASET = "dataset"  # a training job read its data folder (data: clips, rejected, summary)
    TRAINING = "training"  # a training job's step and loss (data: step, steps, loss)
    CHECKPOINT = "checkpoint"  # a training job saved a checkpoint (data: step, model_path)


@dataclass(frozen=True)
class Event:
    kind: EventKind
    job: Job
    queue_position: int = 0
    data: dict[str, Any] = field(default_factory=dict)  # what a TRAINING or CHECKPOINT event carries
