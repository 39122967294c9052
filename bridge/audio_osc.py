"""OSC handlers of the audio verbs: `/dawgen/audition`, `/dawgen/stop`, `/dawgen/capture`.

They run in the bridge (nothing is journaled): the device belongs to this process, not to a model.
Replies (docs/PROTOCOL.md):
  audition -> /dawgen/playing req_id path seconds, later /dawgen/played req_id path how
  stop     -> /dawgen/stopped req_id playback capture
  capture  -> /dawgen/recording req_id seconds sample_rate device, later /dawgen/captured req_id
              path frames sample_rate (or /dawgen/error req_id code message); with `then`, the
              chained job's /dawgen/ack <req_id>.then job_id position and its events, or
              /dawgen/error <req_id>.then code message when it is refused.
A request resent with the same id (a lost UDP reply) gets its first reply again and starts nothing.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from server.engine import Engine
from server.errors import DawgenError, ErrorCode

from . import protocol as proto
from .audio_io import AudioDoor, CaptureSink, CaptureSpec, door_for

Dest = tuple[str, Any]
Send = Callable[[Dest, bytes], None]
DEDUPE_SECONDS = 600.0


class AudioVerbs:
    def __init__(self, engine: Engine, send: Send, door: AudioDoor | None = None) -> None:
        self.engine = engine
        self.send = send
        self._door = door
        self._seen: dict[str, tuple[float, dict[str, Any], bytes]] = {}  # verb:req_id -> (when, params, first reply)
        self._lock = threading.Lock()

    @property
    def door(self) -> AudioDoor:
        if self._door is None:
            self._door = door_for(self.engine)  # created on first use: no audio cost at start
        return self._door

    def handlers(self) -> dict[str, Callable[[proto.ParsedRequest, Dest], None]]:
        return {"audition": self.on_audition, "stop": self.on_stop, "capture": self.on_capture}

    def close(self) -> None:
        if self._door is not None:
            self._door.close()

    def _resent(self, request: proto.ParsedRequest, dest: Dest) -> bool:
        now = time.monotonic()
        with self._lock:
            for key in [k for k, (t, _, _) in self._seen.items() if now - t > DEDUPE_SECONDS]:
                del self._seen[key]
            seen = self._seen.get(f"{request.verb}:{request.req_id}")
        if seen is None:
            return False
        if seen[1] != request.params:
            raise DawgenError(ErrorCode.DUPLICATE_ID, f"request id {request.req_id!r} was already used for another "
                                                      f"{request.verb}; use a fresh id per request")
        self.send(dest, seen[2])
        return True

    def _first_reply(self, request: proto.ParsedRequest, dest: Dest, data: bytes) -> None:
        with self._lock:
            self._seen[f"{request.verb}:{request.req_id}"] = (time.monotonic(), dict(request.params), data)
        self.send(dest, data)

    def on_audition(self, request: proto.ParsedRequest, dest: Dest) -> None:
        if self._resent(request, dest):
            return
        req_id = request.req_id

        def ended(path: str, how: str) -> None:
            self.send(dest, proto.build("/dawgen/played", req_id, path, how))

        def started(path: str, seconds: float) -> None:
            self._first_reply(request, dest, proto.build("/dawgen/playing", req_id, path, float(round(seconds, 4))))

        self.door.audition(request.params.get("path"), request.params.get("job"), on_end=ended, on_start=started)

    def on_stop(self, request: proto.ParsedRequest, dest: Dest) -> None:
        playback, capture = self.door.stop(str(request.params.get("what", "all")))
        self.send(dest, proto.build("/dawgen/stopped", request.req_id, int(playback), int(capture)))

    def on_capture(self, request: proto.ParsedRequest, dest: Dest) -> None:
        if self._resent(request, dest):
            return
        req_id = request.req_id
        spec = CaptureSpec.from_params(request.params)
        client = {"udp": list(dest[1])} if dest[0] == "udp" else {"tcp": dest[1]}
        sink = CaptureSink(
            accepted=lambda seconds, rate, device: self._first_reply(
                request, dest, proto.build("/dawgen/recording", req_id, float(round(seconds, 6)), rate, device)),
            captured=lambda path, frames, rate: self.send(dest, proto.build("/dawgen/captured", req_id, path, frames, rate)),
            failed=lambda code, message: self.send(dest, proto.error(req_id, code, message)),
            chained=lambda chain_id, job, pos: self.send(dest, proto.ack(chain_id, job, pos)),
            chain_failed=lambda chain_id, code, message: self.send(dest, proto.error(chain_id, code, message)),
        )
        self.door.capture(spec, sink, req_id, client)
