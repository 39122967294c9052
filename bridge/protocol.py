"""The dawgen OSC protocol: request parsing and reply building, no sockets.

Requests: `/dawgen/<verb> req_id [key value ...]` or `/dawgen/<verb> req_id '{"json": "object"}'`.
docs/PROTOCOL.md documents this module and the engine's declared params; a test keeps them equal.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pythonosc.osc_message import OscMessage
from pythonosc.osc_message import ParseError as MessageParseError
from pythonosc.osc_message_builder import OscMessageBuilder

from server.errors import DawgenError, ErrorCode
from server.jobs import Event, EventKind, Job, JobState
from server.params import ParamSpec

from .audio_params import AUDITION, CAPTURE, STOP

PREFIX = "/dawgen/"

# Parameters the front door itself understands on any request (never passed to the engine).
REPLY_PORT = ParamSpec("reply_port", "int", None, min=1, max=65535,
                       doc="send replies to this UDP port at the sender's host (Max udpsend, oscsend)")

TOKEN = ParamSpec("token", "str", None, max_length=256,
                  doc="the client's token ([clients.NAME]); needed from another machine, or with [server] require_token")
# Params every address takes (the front door's own): reply_port and token
DOOR_PARAMS = (REPLY_PORT, TOKEN)
# An input sent with the request (OSC over TCP): saved under the daemon's state folder, its path
# becomes the request's `input`. For job verbs that take `input`.
INPUT_BLOB = ParamSpec("input_blob", "blob", None,
                       doc="the input file's bytes (OSC blob, over TCP; at most [server] max_upload_bytes); instead of input")
INPUT_NAME = ParamSpec("input_name", "str", None, max_length=255,
                       doc="the uploaded file's name (its extension tells its format), with input_blob")
UPLOAD_PARAMS = (INPUT_BLOB, INPUT_NAME)

# Control verbs: handled by the bridge directly, never journaled.
JOB_ARG = ParamSpec("job", "str", None, max_length=64, doc="a job id, or the request id that created it")
QUEUE_PAGE = (
    ParamSpec("offset", "int", 0, min=0, max=1_000_000,
              doc="skip this many jobs of the run order (running jobs first); for paging"),
    ParamSpec("limit", "int", None, min=1, max=1_000_000,
              doc="at most this many jobs; default: all from offset"),
)
CONTROL_VERBS: dict[str, tuple[ParamSpec, ...]] = {
    "ping": (),
    "cancel": (JOB_ARG,),
    "status": (JOB_ARG,),
    "queue": QUEUE_PAGE,
    "models": (ParamSpec("model", "str", None, max_length=64,
                         doc="only this model (a smaller reply); default: every model"),),
    "catalog": (),
    "listen": (),
    "unlisten": (),
    # audio in and out, handled in the bridge (bridge/audio_osc.py)
    "audition": AUDITION,
    "stop": STOP,
    "capture": CAPTURE,
    # a result file of one's own job, in chunks (over TCP): bridge/osc_files.py
    "fetch": (ParamSpec("path", "str", None, max_length=4096, doc="a path from the job's /dawgen/done"),
              ParamSpec("offset", "int", 0, min=0, doc="the first byte to send (resume a fetch)")),
}
# Control verbs that take one positional argument after the request id (`/dawgen/cancel r1 JOBID`).
POSITIONAL = {"cancel": "job", "status": "job"}
# `/dawgen/fetch req_id path offset`: two positional arguments
POSITIONAL_PAIRS = {"fetch": ("path", "offset")}

# Reply addresses and their arguments, as documented in docs/PROTOCOL.md.
REPLIES: dict[str, tuple[str, ...]] = {
    "/dawgen/pong": ("req_id", "version"),
    "/dawgen/ack": ("req_id", "job_id", "queue_position"),
    "/dawgen/progress": ("job_id", "fraction", "stage", "eta_seconds"),
    "/dawgen/done": ("job_id", "path", "..."),
    "/dawgen/error": ("id", "code", "message"),
    "/dawgen/status": ("req_id", "job_id", "state", "fraction", "stage", "eta_seconds", "queue_position", "..."),
    "/dawgen/cancelled": ("req_id", "job_id", "state"),
    "/dawgen/queue": ("req_id", "json", "total"),
    "/dawgen/models": ("req_id", "json"),
    "/dawgen/catalog": ("req_id", "json"),
    "/dawgen/listening": ("req_id", "on"),
    "/dawgen/playing": ("req_id", "path", "seconds"),
    "/dawgen/played": ("req_id", "path", "how"),
    "/dawgen/stopped": ("req_id", "playback", "capture"),
    "/dawgen/recording": ("req_id", "seconds", "sample_rate", "device"),
    "/dawgen/captured": ("req_id", "path", "frames", "sample_rate"),
    "/dawgen/dataset": ("job_id", "clips", "rejected", "summary"),
    "/dawgen/training": ("job_id", "step", "steps", "loss"),
    "/dawgen/checkpoint": ("job_id", "step", "model_path"),
    "/dawgen/file": ("req_id", "path", "offset", "total", "blob"),
}

_VALUE_TYPES = (str, int, float, bool)


@dataclass
class ParsedRequest:
    verb: str
    req_id: str
    params: dict[str, Any] = field(default_factory=dict)
    reply_port: int | None = None
    token: str | None = None  # popped from the params: never logged, never echoed
    who: Any = None  # the client (bridge/clients.Identity), once identified


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
    token = params.pop("token", None)
    reply_port = None
    try:
        if "reply_port" in params:
            reply_port = REPLY_PORT.coerce(params.pop("reply_port"))
        token = TOKEN.coerce(token) if token is not None else None
    except DawgenError as exc:
        raise RequestError(req_id, exc.code, "token: expected a string" if "token" in exc.message else exc.message) from None
    return ParsedRequest(verb=verb, req_id=req_id, params=params, reply_port=reply_port, token=token)


def raw_token(args: list[Any]) -> str | None:
    """The `token` of a request that did not parse, when one can be read (key/value or JSON)."""
    rest = args[1:]
    if len(rest) == 1 and isinstance(rest[0], str) and rest[0].lstrip().startswith("{"):
        try:
            value = json.loads(rest[0]).get("token")
        except (ValueError, AttributeError):
            return None
        return value if isinstance(value, str) else None
    for i, key in enumerate(rest[:-1]):
        if key == "token" and isinstance(rest[i + 1], str):
            return str(rest[i + 1])
    return None


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
    elif verb in POSITIONAL_PAIRS and len(rest) >= 2 and isinstance(rest[1], int) and not isinstance(rest[1], bool):
        positional, rest = dict(zip(POSITIONAL_PAIRS[verb], rest[:2])), rest[2:]  # fetch r1 PATH OFFSET
    if len(rest) % 2:
        raise RequestError(req_id, ErrorCode.BAD_REQUEST,
                           "parameters must come in key value pairs (an odd number of arguments was sent)")
    params: dict[str, Any] = {}
    for key, value in zip(rest[0::2], rest[1::2]):
        if not isinstance(key, str) or not key:
            raise RequestError(req_id, ErrorCode.BAD_REQUEST, f"parameter name must be a string, got {key!r}")
        if isinstance(value, bytes) and key == INPUT_BLOB.name:
            pass  # the one blob a request may carry
        elif value is not None and not isinstance(value, _VALUE_TYPES):
            raise RequestError(req_id, ErrorCode.BAD_REQUEST, f"{key}: unsupported OSC type {type(value).__name__}")
        if key in params:
            raise RequestError(req_id, ErrorCode.BAD_REQUEST, f"parameter {key!r} given twice")
        params[key] = value
    twice = [k for k in positional if k in params]
    if twice:
        raise RequestError(req_id, ErrorCode.BAD_REQUEST, f"{twice[0]} given twice")
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
    """`/dawgen/error`, always small enough for one datagram: a long id or message (a backend's
    exception text) is cut, so the error that says a reply did not fit can never fail to fit itself."""
    # An id is cut as parse() cuts a request id, so a client can still match the ids it sent.
    return build("/dawgen/error", str(ident).replace("\0", "")[:ID_MAX], code, _cut(message, MESSAGE_MAX))


def job_error(job: Job) -> bytes:
    return error(job.id, job.error_code or ErrorCode.INTERNAL, job.error_message or job.state.value)


def dataset(job: Job, data: dict[str, Any]) -> bytes:
    return build("/dawgen/dataset", job.id, int(data["clips"]), int(data["rejected"]), _cut(str(data["summary"]), MESSAGE_MAX))


def training(job: Job, data: dict[str, Any]) -> bytes:
    return build("/dawgen/training", job.id, int(data["step"]), int(data["steps"]), float(data["loss"]))


def checkpoint(job: Job, data: dict[str, Any]) -> bytes:
    return build("/dawgen/checkpoint", job.id, int(data["step"]), str(data["model_path"]))


# What each job event sends to the requester and to listeners (one entry per kind).
_EVENT_REPLIES = {
    EventKind.ACCEPTED: lambda e: ack(e.job.req_id, e.job, e.queue_position),
    EventKind.PROGRESS: lambda e: progress(e.job),
    EventKind.DONE: lambda e: done(e.job),
    EventKind.FAILED: lambda e: job_error(e.job),
    EventKind.CANCELLED: lambda e: job_error(e.job),
    EventKind.DATASET: lambda e: dataset(e.job, e.data),
    EventKind.TRAINING: lambda e: training(e.job, e.data),
    EventKind.CHECKPOINT: lambda e: checkpoint(e.job, e.data),
}


def event_reply(event: Event) -> bytes:
    return _EVENT_REPLIES[event.kind](event)


def status(req_id: str, job: Job, position: int) -> bytes:
    p = job.progress
    tail: list[Any] = []
    if job.state is JobState.DONE:
        tail = list(job.outputs)
    elif job.state in (JobState.FAILED, JobState.CANCELLED):
        message = job.error_message
        tail = [job.error_code, message if message is None else _cut(message, MESSAGE_MAX)]
    return build("/dawgen/status", req_id, job.id, job.state.value, float(p.fraction), p.stage,
                 float(round(p.eta_seconds, 3)), int(position), *tail)


def json_reply(address: str, req_id: str, payload: Any, *tail: Any) -> bytes:
    return build(address, req_id, json.dumps(payload, default=str, separators=(",", ":")), *tail)


# The largest reply sent in one UDP datagram (IPv4's limit is 65,507 bytes of payload).
UDP_REPLY_MAX = 60000
# What an error reply may carry: an id as long as a request id may be, a message of a few lines.
ID_MAX = 128
MESSAGE_MAX = 2000

Shrink = tuple[str, Callable[[dict[str, Any]], dict[str, Any]]]


def _abridged(address: str, req_id: str, items: list[dict[str, Any]], levels: tuple[Shrink, ...],
              limit: int | None, *tail: Any) -> bytes:
    """A JSON reply as it fits `limit` (None: no limit): each level shrinks every entry and marks
    it `"abridged": level`, until the datagram fits or the levels run out (the caller checks)."""
    data = json_reply(address, req_id, items, *tail)
    for level, shrink in levels:
        if limit is None or len(data) <= limit:
            return data
        items = [dict(shrink(item), abridged=level) for item in items]
        data = json_reply(address, req_id, items, *tail)
    return data


def _params_kept(keep: tuple[str, ...]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def shrink(model: dict[str, Any]) -> dict[str, Any]:
        return dict(model, verbs={verb: [{k: p[k] for k in keep if k in p} for p in params]
                                  for verb, params in model.get("verbs", {}).items()})
    return shrink


def _names_only(model: dict[str, Any]) -> dict[str, Any]:
    """The params' names, and the LoRA adapters' names (`loras`) without their rank, size or trigger."""
    out = _params_kept(("name",))(model)
    if "loras" in out:
        out["loras"] = [{"name": item["name"]} for item in out["loras"]]
    return out


MODELS_LEVELS: tuple[Shrink, ...] = (
    ("docs", _params_kept(("name", "type", "default", "min", "max", "choices"))),  # `loras` kept whole
    ("names", _names_only),
)


def models_reply(req_id: str, models: list[dict[str, Any]], limit: int | None) -> bytes:
    """`/dawgen/models` as it fits the transport: over UDP (`limit`), a catalogue too large for one
    datagram drops the parameters' `doc` texts, then keeps only their names, and marks each model
    `"abridged": "docs"` / `"names"`; `/dawgen/models REQ model=NAME` or TCP gives the full entry.
    Still too large: `reply_too_large`, saying so."""
    data = _abridged("/dawgen/models", req_id, models, MODELS_LEVELS, limit)
    if limit is not None and len(data) > limit:
        return error(req_id, ErrorCode.REPLY_TOO_LARGE,
                     f"the catalogue of {len(models)} models ({len(data)} bytes even abridged) does not fit one "
                     f"UDP datagram ({limit} bytes): {_HINTS['/dawgen/models']}")
    return data


# What a queue entry keeps when nothing else fits: enough to show a job in a list and cancel it.
QUEUE_ESSENTIAL = ("job_id", "req_id", "verb", "model", "state", "queue_position")
QUEUE_LEVELS: tuple[Shrink, ...] = (
    ("params", lambda job: {k: v for k, v in job.items() if k != "params"}),
    ("essential", lambda job: {k: job[k] for k in QUEUE_ESSENTIAL if k in job}),
)


def queue_reply(req_id: str, jobs: list[dict[str, Any]], total: int, limit: int | None) -> bytes:
    """`/dawgen/queue req_id json total`: `jobs` is one page of the run order, `total` how many jobs
    there are in all (a client pages with offset/limit until it has seen `total`). Over UDP a page
    too large for one datagram drops the jobs' `params`, then keeps QUEUE_ESSENTIAL; still too large:
    `reply_too_large`, naming a page size that fits."""
    data = _abridged("/dawgen/queue", req_id, jobs, QUEUE_LEVELS, limit, int(total))
    if limit is not None and len(data) > limit:
        fits = max(1, len(jobs) * limit * 9 // (len(data) * 10))  # a margin: entries differ in size
        return error(req_id, ErrorCode.REPLY_TOO_LARGE,
                     f"{len(jobs)} jobs ({len(data)} bytes even abridged) do not fit one UDP datagram ({limit} "
                     f"bytes): ask a page at a time with offset and limit (about {fits} jobs fit), or over TCP")
    return data


# -- the datagram limit, enforced for every UDP reply ----------------------------------------------
_HINTS = {
    "/dawgen/models": "ask for one model with model=NAME, or over TCP (same port)",
    "/dawgen/queue": "ask a page at a time with offset and limit, or over TCP (same port)",
}


def fit_datagram(data: bytes, limit: int) -> bytes:
    """`data` when it fits one datagram of `limit` bytes, else the `/dawgen/error ... reply_too_large`
    that replaces it, addressed to the same id (the request's, or the job's for job events)."""
    if len(data) <= limit:
        return data
    try:
        message = OscMessage(data)
        address, args = message.address, list(message.params)
    except (MessageParseError, ValueError, IndexError, TypeError):
        address, args = "?", []
    ident = str(args[0]) if args else ""
    size = f"({len(data)} bytes) does not fit one UDP datagram ({limit} bytes)"
    if address == "/dawgen/done":
        # The job is done and its files are written: only the list of paths is too long to send.
        text = (f"job {ident} is done, but the list of its {len(args) - 1} files {size}: ask "
                f"/dawgen/status {ident} over TCP (dawgen send --tcp status job={ident})")
    elif address == "/dawgen/status" and len(args) > 1:
        text = (f"the status of job {args[1]} with its {max(0, len(args) - 7)} files {size}: ask over TCP "
                f"(dawgen send --tcp status job={args[1]})")
    else:
        text = f"the {address} reply {size}: {_HINTS.get(address, 'ask over TCP (same port)')}"
    return error(ident, ErrorCode.REPLY_TOO_LARGE, text)


def _cut(text: str, max_bytes: int) -> str:
    """`text` in at most `max_bytes` of UTF-8, cut on a character boundary and marked with an
    ellipsis; NULs go (an OSC string ends at the first one)."""
    text = str(text).replace("\0", "")
    raw = text.encode("utf-8")
    if len(raw) <= max_bytes:
        return text
    return raw[: max_bytes - 3].decode("utf-8", errors="ignore") + "…"
