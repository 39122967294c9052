"""Engine events → Server-Sent Events: one small JSON object per event, to every open stream.

The engine calls back on its worker threads; each stream is an asyncio queue on the server's loop,
fed with call_soon_threadsafe, so an event reaches the socket without a thread waiting per stream.
A stream that falls behind by more than QUEUE_MAX events loses the oldest (progress is a snapshot).
"""
from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

from server.engine import Engine
from server.jobs import Event, EventKind, Job

from ..clients import ADMIN, Clients, Identity
from .paths import url_of

QUEUE_MAX = 256
KEEPALIVE_SECONDS = 15.0
# SSE event names: what each engine event is called on the stream (docs/HTTP.md, "Events")
NAMES: dict[EventKind, str] = {
    EventKind.ACCEPTED: "accepted",
    EventKind.PROGRESS: "progress",
    EventKind.DONE: "done",
    EventKind.FAILED: "error",
    EventKind.CANCELLED: "error",
    EventKind.DATASET: "dataset",
    EventKind.TRAINING: "training",
    EventKind.CHECKPOINT: "checkpoint",
}


def job_view(job: Job, roots: list[Any], position: int = -1) -> dict[str, Any]:
    """A job as GET /api/jobs/{id} and the event stream show it."""
    p = job.progress
    error = {"code": str(job.error_code), "message": job.error_message} if job.error_code else None
    return {"job_id": job.id, "req_id": job.req_id, "verb": job.verb, "model": job.model, "state": job.state.value,
            "fraction": round(p.fraction, 4), "stage": p.stage, "eta_seconds": round(p.eta_seconds, 2),
            "queue_position": position, "paths": list(job.outputs),
            "urls": [url_of(path, roots) for path in job.outputs], "error": error, "priority": job.priority,
            "created": job.created, "params": job.params}


def event_payload(event: Event, roots: list[Any]) -> dict[str, Any]:
    view = job_view(event.job, roots, event.queue_position)
    view.pop("params")
    return {"type": NAMES[event.kind], "kind": event.kind.value, **view, "data": dict(event.data)}


def sse(name: str, payload: dict[str, Any]) -> bytes:
    return f"event: {name}\ndata: {json.dumps(payload, default=str, separators=(',', ':'))}\n\n".encode()


Stream = tuple[asyncio.AbstractEventLoop, "asyncio.Queue[bytes | None]", Identity]


class EventHub:
    """Subscribes to the engine once; hands each event to every open stream whose client may see
    its job (bridge/clients.py: a client hears its own jobs, the admin every job)."""

    def __init__(self, engine: Engine, roots: list[Any]) -> None:
        self.engine, self.roots = engine, roots
        self._streams: set[Stream] = set()
        self._lock = threading.Lock()
        self._unsubscribe: Callable[[], None] | None = None

    def start(self) -> None:
        self._unsubscribe = self.engine.subscribe(self._on_event)

    def close(self) -> None:
        """Stop listening and end every open stream (so the server can drain)."""
        if self._unsubscribe is not None:
            self._unsubscribe()
        with self._lock:
            streams = list(self._streams)
        for loop, queue, _ in streams:
            _put(loop, queue, None)

    @property
    def open_streams(self) -> int:
        with self._lock:
            return len(self._streams)

    def _on_event(self, event: Event) -> None:
        data = sse(NAMES[event.kind], event_payload(event, self.roots))
        with self._lock:
            streams = list(self._streams)
        for loop, queue, who in streams:
            if Clients.sees(who, event.job):
                _put(loop, queue, data)

    async def stream(self, hello: bytes = b"", who: Identity = ADMIN) -> AsyncIterator[bytes]:
        """One client's stream: `hello` first, then every event it may see, a comment line when quiet."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        key = (loop, queue, who)
        with self._lock:
            self._streams.add(key)
        try:
            yield hello or b": connected\n\n"
            while True:
                try:
                    item = await asyncio.wait_for(queue.get(), KEEPALIVE_SECONDS)
                except asyncio.TimeoutError:
                    yield b": keep-alive\n\n"
                    continue
                if item is None:
                    return
                yield item
        finally:
            with self._lock:
                self._streams.discard(key)


def _put(loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[bytes | None], item: bytes | None) -> None:
    def put() -> None:
        if item is not None and queue.qsize() >= QUEUE_MAX:
            queue.get_nowait()  # the oldest goes: a slow page keeps up with the newest state
        queue.put_nowait(item)

    try:
        loop.call_soon_threadsafe(put)
    except RuntimeError:  # the loop has closed: the stream is gone
        pass
