"""OSC handlers of the control verbs the bridge answers at once, journaling nothing:
`/dawgen/ping`, `cancel`, `status`, `queue`, `models`, `catalog`, `listen` and `unlisten`; and the
delivery of job events to those who hear them.

They live apart from bridge/osc.py (sockets, framing, parsing, job submission) as the audio verbs
(audio_osc.py) and files (osc_files.py) do: each group is a table of handlers that OscServer
merges into its own. Job events are delivered here (`on_event`, subscribed by OscServer) because
the listener registry that `listen` / `unlisten` fill says who hears them, with each job's requester.
Replies (docs/PROTOCOL.md):
  ping     -> /dawgen/pong req_id version
  cancel   -> /dawgen/cancelled req_id job_id state
  status   -> /dawgen/status req_id job_id state fraction stage eta position [outputs | code message]
  queue    -> /dawgen/queue req_id json total     models -> /dawgen/models req_id json
              (over UDP both are abridged to fit one datagram: reply_limit)
  catalog  -> /dawgen/catalog req_id json
  listen   -> /dawgen/listening req_id 1          unlisten -> /dawgen/listening req_id 0
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from server import __version__
from server.engine import Engine
from server.errors import DawgenError, ErrorCode
from server.jobs import Event, EventKind

from . import protocol as proto
from .clients import Clients, Identity

Dest = tuple[str, Any]
Send = Callable[[Dest, bytes], None]
Handler = Callable[[proto.ParsedRequest, Dest], None]


class ControlVerbs:
    def __init__(self, engine: Engine, clients: Clients, send: Send,
                 reply_limit: Callable[[Dest], int | None]) -> None:
        """`reply_limit(dest)`: the most bytes one reply to `dest` may take (None: no limit), asked
        at each reply so a change of the server's UDP limit is seen."""
        self.engine, self.clients, self.send, self.reply_limit = engine, clients, send, reply_limit
        self._listeners: dict[Dest, Identity] = {}  # each hears the jobs its client may see
        self._lock = threading.Lock()

    def handlers(self) -> dict[str, Handler]:
        return {
            "ping": self.on_ping,
            "cancel": self.on_cancel,
            "status": self.on_status,
            "queue": self.on_queue,
            "models": self.on_models,
            "catalog": self.on_catalog,
            "listen": self.on_listen,
            "unlisten": self.on_unlisten,
        }

    # -- listeners and events -----------------------------------------------------------------
    def on_event(self, event: Event) -> None:
        """Send a job's event to each listener whose client may see the job, and to its requester."""
        job = event.job
        data = proto.event_reply(event)
        with self._lock:
            dests = {dest for dest, who in self._listeners.items() if self.clients.sees(who, job)}
        requester = _client_dest(job.client)
        # The requester already has its ack from the request handler.
        if requester is not None and event.kind is not EventKind.ACCEPTED:
            dests.add(requester)
        for dest in dests:
            self.send(dest, data)

    def forget(self, dest: Dest) -> None:
        """`dest` is gone (a closed TCP connection): it hears nothing more."""
        with self._lock:
            self._listeners.pop(dest, None)

    def on_listen(self, request: proto.ParsedRequest, dest: Dest) -> None:
        with self._lock:
            self._listeners[dest] = request.who
        self.send(dest, proto.build("/dawgen/listening", request.req_id, 1))

    def on_unlisten(self, request: proto.ParsedRequest, dest: Dest) -> None:
        self.forget(dest)
        self.send(dest, proto.build("/dawgen/listening", request.req_id, 0))

    # -- jobs, models, catalog ----------------------------------------------------------------
    def on_ping(self, request: proto.ParsedRequest, dest: Dest) -> None:
        self.send(dest, proto.pong(request.req_id, __version__))

    def on_cancel(self, request: proto.ParsedRequest, dest: Dest) -> None:
        ident = _required_job(request)
        if not request.who.admin:  # another client's job: forbidden, and left alone
            self.clients.check_owner(request.who, self.engine.status(ident)[0])
        job = self.engine.cancel(ident)
        self.send(dest, proto.build("/dawgen/cancelled", request.req_id, job.id, job.state.value))

    def on_status(self, request: proto.ParsedRequest, dest: Dest) -> None:
        job, position = self.engine.status(_required_job(request))
        self.clients.check_owner(request.who, job)
        self.send(dest, proto.status(request.req_id, job, position))

    def on_queue(self, request: proto.ParsedRequest, dest: Dest) -> None:
        jobs = self.engine.queue()
        offset, limit = request.params["offset"], request.params.get("limit")
        page = jobs[offset:] if limit is None else jobs[offset:offset + limit]
        payload = [dict(self.clients.view(request.who, j, j.summary()), queue_position=offset + i)
                   for i, j in enumerate(page)]
        self.send(dest, proto.queue_reply(request.req_id, payload, len(jobs), self.reply_limit(dest)))

    def on_models(self, request: proto.ParsedRequest, dest: Dest) -> None:
        models = self.engine.models()
        wanted = request.params.get("model")
        if wanted is not None:
            models = [m for m in models if m["name"] == wanted]
            if not models:
                raise DawgenError(ErrorCode.UNKNOWN_MODEL, f"no model named {wanted!r}")
        self.send(dest, proto.models_reply(request.req_id, models, self.reply_limit(dest)))

    def on_catalog(self, request: proto.ParsedRequest, dest: Dest) -> None:
        from server.catalog.job import catalog_listing

        self.send(dest, proto.json_reply("/dawgen/catalog", request.req_id, catalog_listing(self.engine.registry)))


def _required_job(request: proto.ParsedRequest) -> str:
    job = request.params.get("job")
    if not job:
        raise DawgenError(ErrorCode.BAD_REQUEST, f"{request.verb} needs a job id: /dawgen/{request.verb} REQ_ID JOB_ID")
    return str(job)


def _client_dest(client: dict[str, Any]) -> Dest | None:
    if "udp" in client:
        host, port = client["udp"]
        return ("udp", (str(host), int(port)))
    if "tcp" in client:
        return ("tcp", str(client["tcp"]))
    return None
