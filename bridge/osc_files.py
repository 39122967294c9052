"""Files over the network (OSC over TCP): uploaded inputs and fetched results.

- A job request may carry its input as `input_blob` (an OSC blob) + `input_name`: it is saved under
  `<state_dir>/uploads/<client>/<random>/<name>` and its path becomes the request's `input`, so a
  client on another machine never names a path on the daemon's disk.
- `/dawgen/fetch req_id path offset` sends a result file of one's own job as `/dawgen/file req_id
  path offset total blob` chunks from `offset` to the end (a client resumes with the next offset).
"""
from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from server.engine import Engine
from server.errors import DawgenError, ErrorCode

from . import protocol as proto
from .clients import Clients, Identity

Dest = tuple[str, Any]
Send = Callable[[Dest, bytes], None]
CHUNK = 1 << 20  # bytes of a file per /dawgen/file message
_UNSAFE = re.compile(r"[^A-Za-z0-9._ -]+")


class FileVerbs:
    def __init__(self, engine: Engine, clients: Clients, send: Send) -> None:
        self.engine, self.clients, self.send = engine, clients, send
        self.max_upload = engine.config.server.max_upload_bytes
        self.root = engine.config.state_dir / "uploads"

    # -- uploads ------------------------------------------------------------------------------
    def take_upload(self, who: Identity, params: dict[str, Any]) -> None:
        """Save `input_blob` (if sent) and put its path into `params["input"]`."""
        blob, name = params.pop(proto.INPUT_BLOB.name, None), params.pop(proto.INPUT_NAME.name, None)
        if blob is None:
            if name is not None:
                raise DawgenError(ErrorCode.BAD_REQUEST, "input_name comes with input_blob (the file's bytes)")
            return
        blob = proto.INPUT_BLOB.coerce(blob)
        if len(blob) > self.max_upload:
            raise DawgenError(ErrorCode.BAD_REQUEST, f"input_blob: {len(blob)} bytes is more than [server] "
                              f"max_upload_bytes = {self.max_upload}")
        if "input" in params:
            raise DawgenError(ErrorCode.BAD_REQUEST, "send input or input_blob, not both")
        params["input"] = str(self.save(who, _safe_name(proto.INPUT_NAME.coerce(name or "input")), blob))

    def save(self, who: Identity, name: str, data: bytes) -> Path:
        """Write an upload whole or not at all (a temporary name, then a rename)."""
        folder = self.root / (who.name or "local") / uuid.uuid4().hex[:12]
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / name
        tmp = folder / f".{name}.part"
        try:
            with open(tmp, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise DawgenError(ErrorCode.WRITE_FAILED, f"the upload could not be saved: {exc.strerror or exc}") from None
        return path

    # -- fetch --------------------------------------------------------------------------------
    def on_fetch(self, request: proto.ParsedRequest, dest: Dest) -> None:
        if dest[0] != "tcp":
            raise DawgenError(ErrorCode.BAD_REQUEST, "fetch sends files over TCP only (same port)")
        path, offset = str(request.params.get("path") or ""), int(request.params["offset"])
        if not path:
            raise DawgenError(ErrorCode.BAD_REQUEST, "fetch needs a path: /dawgen/fetch REQ_ID PATH OFFSET")
        self.clients.check_may_read(request.who, self.engine.journal, path)
        try:
            with open(path, "rb") as fh:
                total = os.fstat(fh.fileno()).st_size
                if offset > total:
                    raise DawgenError(ErrorCode.BAD_REQUEST, f"offset {offset} is past the end ({total} bytes)")
                fh.seek(offset)
                self._send_chunks(request.req_id, path, fh, offset, total, dest)
        except (FileNotFoundError, IsADirectoryError):
            raise DawgenError(ErrorCode.NOT_FOUND, f"{path} is not a file (any more)") from None

    def _send_chunks(self, req_id: str, path: str, fh: Any, offset: int, total: int, dest: Dest) -> None:
        while True:
            data = fh.read(CHUNK)
            self.send(dest, proto.build("/dawgen/file", req_id, path, offset, total, data))
            offset += len(data)
            if offset >= total or not data:
                return


def _safe_name(name: str) -> str:
    """A file name of the client's choosing, as a plain name (no folders, no hidden files)."""
    base = _UNSAFE.sub("_", Path(name.replace("\\", "/")).name).strip(" .")
    return base[:128] or "input"
