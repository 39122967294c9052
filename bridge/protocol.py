"""The dawgen OSC protocol: request parsing and reply building, no sockets.

Requests: `/dawgen/<verb> req_id [key value ...]` or `/dawgen/<verb> req_id '{"json": "object"}'`.
docs/PROTOCOL.md documents this module and the engine's declared params; a test keeps them equal.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from pythonosc.osc_message_builder import OscMessageBuilder

from server.errors import DawgenError, ErrorCode
from server.jobs import Job, JobState
from server.params import ParamSpec

from .audio_params import AUDITION, CAPTURE, STOP

PREFIX = "/dawgen/"

# Parameters the front door itself understands on any request (never passed to the engine).
REPLY_PORT = ParamSpec("reply_port", "int", None, min=1, max=65535,
                       doc="send replies to this UDP port at the sender's host (Max udpsend, oscsend)")

# Control verbs: handled by the bridge directly, never journaled.
JOB_ARG = ParamSpec("job", "str", None, max_length=64, doc="a job id, or the request id that created it")
CONTROL_VERBS: dict[str, tuple[ParamSpec, ...]] = {
    "ping": (),
    "cancel": (JOB_ARG,),
    "status": (JOB_ARG,),
    "queue": (),
    "models": (ParamSpec("model", "str", None, max_length=64,
                         doc="only this model (a smaller reply); default: every model"),),
    "listen": (),
    "unlisten": (),
    # audio in and out, handled in the bridge (bridge/audio_osc.py)
    "audition": AUDITION,
    "stop": STOP,
    "capture": CAPTURE,
}
# Control verbs that take one positional argument after the request id (`/dawgen/cancel r1 JOBID`).
POSITIONAL = {"cancel": "job", "status": "job"}

# Reply addresses and their arguments, as documented in docs/PROTOCOL.md.
REPLIES: dict[str, tuple[str, ...]] = {
    "/dawgen/pong": ("req_id", "version"),
    "/dawgen/ack": ("req_id", "job_id", "queue_position"),
    "/dawgen/progress": ("job_id", "fraction", "stage", "eta_seconds"),
    "/dawgen/done": ("job_id", "path", "..."),
    "/dawgen/error": ("id", "code", "message"),
    "/dawgen/status": ("req_id", "job_id", "state", "fraction", "stage", "eta_seconds", "queue_position", "..."),
    "/dawgen/cancelled": ("req_id", "job_id", "state"),
    "/dawgen/queue": ("req_id", "json"),
    "/dawgen/models": ("req_id", "json"),
    "/dawgen/listening": ("req_id", "on"),
    "/dawgen/playing": ("req_id", "path", "seconds"),
    "/dawgen/played": ("req_id", "path", "how"),
    "/dawgen/stopped": ("req_id", "playback", "capture"),
    "/dawgen/recording": ("req_id", "seconds", "sample_rate", "device"),
    "/dawgen/captured": ("req_id", "path", "frames", "sample_rate"),
}

_VALUE_TYPES = (str, int, float, bool)


@dataclass
class ParsedRequest:
    verb: str
    req_id: str
    params: dict[str, Any] = field(default_factory=dict)
    reply_port: int | None = None


def parse(address: str, args: list[Any]) -> ParsedRequest:
    """Turn one OSC message into a request; DawgenError (with the req id when known) otherwise."""
    if not address.startswith(PREFIX) or len(address) <= len(PREFIX):
        raise DawgenError(ErrorCode.UNKNOWN_VERB, f"unknown address {address!r}; dawgen listens on {PREFIX}<verb>")
    verb = address[len(PREFIX):]
    if not args:
        raise DawgenError(ErrorCode.BAD_REQUEST, f"{address}: the first argument must be a request id")
    first, rest = args[0], list(args[1:])
    if isinstance(first, bool) or not isinstance(first, (str, int, float)):
        raise DawgenError(ErrorCode.BAD_REQUEST, f"{address}: the first argument must be a request id (string)")
    req_id = str(int(first)) if isinstance(first, float) and first.is_integer() else str(first)
    if len(req_id) > 128:
        raise RequestError(req_id[:128], ErrorCode.BAD_REQUEST, "request id longer than 128 characters")
    params = _params(verb, req_id, rest)
    reply_port = None
    if "reply_port" in params:
        try:
            reply_port = REPLY_PORT.coerce(params.pop("reply_port"))
        except DawgenError as exc:
            raise RequestError(req_id, exc.code, exc.message) from None
    return ParsedRequest(verb=verb, req_id=req_id, params=params, reply_port=reply_port)


class RequestError(DawgenError):
    """A DawgenError that knows the request id it answers."""

    def __init__(self, req_id: str, code: str, message: str) -> None:
        super().__init__(code, message)
        self.req_id = req_id


def _params(verb: str, req_id: str, rest: list[Any]) -> dict[str, Any]:
    if len(rest) == 1 and isinstance(rest[0], str) and rest[0].lstrip().startswith("{"):
        try:
            params = json.loads(rest[0])
        except ValueError as exc:
            raise RequestError(req_id, ErrorCode.BAD_REQUEST, f"JSON parameters do not parse: {exc}") from None
        if not isinstance(params, dict):
            raise RequestError(req_id, ErrorCode.BAD_REQUEST, "JSON parameters must be an object")
        bad = [k for k, v in params.items() if v is not None and not isinstance(v, _VALUE_TYPES)]
        if bad:
            raise RequestError(req_id, ErrorCode.BAD_REQUEST, f"JSON values must be strings, numbers or booleans: {bad}")
        return params
    positional: dict[str, Any] = {}
    if len(rest) % 2 and verb in POSITIONAL:  # `/dawgen/cancel r1 JOBID [key value ...]`
        positional, rest = {POSITIONAL[verb]: rest[0]}, rest[1:]
    if len(rest) % 2:
        raise RequestError(req_id, ErrorCode.BAD_REQUEST,
                           "parameters must come in key value pairs (an odd number of arguments was sent)")
    params: dict[str, Any] = {}
    for key, value in zip(rest[0::2], rest[1::2]):
        if not isinstance(key, str) or not key:
            raise RequestError(req_id, ErrorCode.BAD_REQUEST, f"parameter name must be a string, got {key!r}")
        if value is not None and not isinstance(value, _VALUE_TYPES):
            raise RequestError(req_id, ErrorCode.BAD_REQUEST, f"{key}: unsupported OSC type {type(value).__name__}")
        if key in params:
            raise RequestError(req_id, ErrorCode.BAD_REQUEST, f"parameter {key!r} given twice")
        params[key] = value
    if positional and POSITIONAL[verb] in params:
        raise RequestError(req_id, ErrorCode.BAD_REQUEST, f"{POSITIONAL[verb]} given twice")
    return {**positional, **params}


# -- replies ---------------------------------------------------------------------------------------
def build(address: str, *args: Any) -> bytes:
    if address not in REPLIES:
        raise KeyError(f"undocumented reply address {address}")  # keeps PROTOCOL.md honest
    builder = OscMessageBuilder(address=address)
    for arg in args:
        if isinstance(arg, bool):
            arg = int(arg)  # Max and Lua clients read ints more reliably than OSC T/F
        builder.add_arg(arg)
    return builder.build().dgram


def pong(req_id: str, version: str) -> bytes:
    return build("/dawgen/pong", req_id, version)


def ack(req_id: str, job: Job, position: int) -> bytes:
    return build("/dawgen/ack", req_id, job.id, int(position))


def progress(job: Job) -> bytes:
    p = job.progress
    return build("/dawgen/progress", job.id, float(p.fraction), p.stage, float(round(p.eta_seconds, 3)))


def done(job: Job) -> bytes:
    return build("/dawgen/done", job.id, *job.outputs)


def error(ident: str, code: str, message: str) -> bytes:
    return build("/dawgen/error", ident, code, message)


def job_error(job: Job) -> bytes:
    return error(job.id, job.error_code or ErrorCode.INTERNAL, job.error_message or job.state.value)


def status(req_id: str, job: Job, position: int) -> bytes:
    p = job.progress
    tail: list[Any] = []
    if job.state is JobState.DONE:
        tail = list(job.outputs)
    elif job.state in (JobState.FAILED, JobState.CANCELLED):
        tail = [job.error_code, job.error_message]
    return build("/dawgen/status", req_id, job.id, job.state.value, float(p.fraction), p.stage,
                 float(round(p.eta_seconds, 3)), int(position), *tail)


def json_reply(address: str, req_id: str, payload: Any) -> bytes:
    return build(address, req_id, json.dumps(payload, default=str, separators=(",", ":")))


# The largest reply sent in one UDP datagram (IPv4's limit is 65,507 bytes of payload).
UDP_REPLY_MAX = 60000


def models_reply(req_id: str, models: list[dict[str, Any]], limit: int | None) -> bytes:
    """`/dawgen/models` as it fits the transport: over UDP (`limit`), a catalogue too large for one
    datagram drops the parameters' `doc` texts, then keeps only their names, and marks each model
    `"abridged": "docs"` / `"names"`; `/dawgen/models REQ model=NAME` or TCP gives the full entry."""
    data = json_reply("/dawgen/models", req_id, models)
    for level, keep in (("docs", ("name", "type", "default", "min", "max", "choices")), ("names", ("name",))):
        if limit is None or len(data) <= limit:
            return data
        models = [dict(m, abridged=level, verbs={verb: [{k: p[k] for k in keep if k in p} for p in params]
                                                   for verb, params in m.get("verbs", {}).items()})
                  for m in models]
        data = json_reply("/dawgen/models", req_id, models)
    return data
