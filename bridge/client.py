"""A small OSC client of the dawgen protocol, used by `dawgen send`, tests and benchmarks.

UDP by default; a request not answered within `resend_after` seconds is sent again with the same
request id, which the daemon de-duplicates, so a lost packet never makes two jobs.
"""
from __future__ import annotations

import json
import os
import socket
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pythonosc import slip
from pythonosc.osc_message import OscMessage
from pythonosc.osc_message_builder import OscMessageBuilder


class ClientError(Exception):
    """The daemon answered with /dawgen/error, or did not answer."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.message = code, message


@dataclass
class Reply:
    address: str
    args: list[Any]


def encode(address: str, args: list[Any]) -> bytes:
    builder = OscMessageBuilder(address=address)
    for arg in args:
        builder.add_arg(arg)
    return builder.build().dgram


def request_args(req_id: str, params: dict[str, Any]) -> list[Any]:
    args: list[Any] = [req_id]
    for key, value in params.items():
        args += [key, value]
    return args


class Client:
    def __init__(self, host: str = "127.0.0.1", port: int = 9950, tcp: bool = False, resend_after: float = 1.0,
                 token: str | None = None) -> None:
        self.addr = (host, port)
        self.tcp = tcp
        self.token = token  # sent with every request ([clients.NAME] on the daemon)
        self.resend_after = resend_after
        self._pending: deque[Reply] = deque()  # replies read while waiting for another one
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        if tcp:
            self.sock = socket.create_connection(self.addr, timeout=5)
            self._buf = bytearray()
            self._searched = 0  # bytes of _buf known to hold no frame end
        else:
            self.sock = socket.socket(family, socket.SOCK_DGRAM)
            self.sock.bind((host if host != "localhost" else "127.0.0.1", 0))

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- low level ------------------------------------------------------------------------------
    def send_raw(self, data: bytes) -> None:
        if self.tcp:
            self.sock.sendall(slip.encode(data))
        else:
            self.sock.sendto(data, self.addr)

    def send(self, verb: str, params: dict[str, Any] | None = None, req_id: str | None = None) -> str:
        req_id = req_id or uuid.uuid4().hex[:12]
        if self.token:
            params = {**(params or {}), "token": self.token}
        self.send_raw(encode(f"/dawgen/{verb}", request_args(req_id, params or {})))
        return req_id

    def recv(self, timeout: float) -> Reply | None:
        if self._pending:
            return self._pending.popleft()
        return self._recv_socket(timeout)

    def _recv_socket(self, timeout: float) -> Reply | None:
        self.sock.settimeout(max(0.001, timeout))
        try:
            if self.tcp:
                return self._recv_tcp()
            data, _ = self.sock.recvfrom(65536)
        except TimeoutError:
            return None
        message = OscMessage(data)
        return Reply(message.address, list(message.params))

    def _recv_tcp(self) -> Reply | None:
        while True:
            end = self._buf.find(slip.END, max(self._searched, 1 if self._buf[:1] == slip.END else 0))
            self._searched = len(self._buf) if end < 0 else 0
            if end > 0:
                frame = bytes(self._buf[: end + 1])
                del self._buf[: end + 1]
                data = slip.decode(frame)
                if data:
                    message = OscMessage(data)
                    return Reply(message.address, list(message.params))
                continue
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise ClientError("disconnected", "the daemon closed the connection")
            self._buf += chunk

    # -- request / reply ------------------------------------------------------------------------
    def call(self, verb: str, params: dict[str, Any] | None = None, timeout: float = 5.0,
             req_id: str | None = None) -> Reply:
        """Send a request and return its direct reply (pong, ack, status ...); raise on /dawgen/error."""
        req_id = self.send(verb, params, req_id)
        deadline = time.monotonic() + timeout
        next_resend = time.monotonic() + self.resend_after
        stash: list[Reply] = []
        try:
            return self._await(verb, params, req_id, deadline, next_resend, stash)
        finally:
            self._pending.extend(stash)

    def _await(self, verb: str, params: dict[str, Any] | None, req_id: str, deadline: float,
               next_resend: float, stash: list[Reply]) -> Reply:
        while time.monotonic() < deadline:
            reply = self._recv_socket(min(deadline, next_resend) - time.monotonic())
            if reply is None:
                if not self.tcp and time.monotonic() >= next_resend:
                    self.send(verb, params, req_id)
                    next_resend = time.monotonic() + self.resend_after
                continue
            if reply.args and str(reply.args[0]) == req_id:
                if reply.address == "/dawgen/error":
                    raise ClientError(str(reply.args[1]), str(reply.args[2]))
                return reply
            stash.append(reply)
        raise ClientError("timeout", f"no reply from the daemon at {self.addr[0]}:{self.addr[1]}; is `dawgen serve` running?")

    def wait(self, job_id: str, timeout: float = 60.0,
             on_progress: Callable[[float, str, float], None] | None = None,
             on_training: Callable[[int, int, float], None] | None = None,
             on_dataset: Callable[[str], None] | None = None) -> list[str]:
        """Wait for a job's done (paths) or error (raises ClientError); a train job's
        `/dawgen/training` reports go to `on_training(step, steps, loss)`, its `/dawgen/dataset`
        summary to `on_dataset(summary)`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            reply = self.recv(min(1.0, deadline - time.monotonic()))
            if reply is None:
                # A lost UDP reply must not hang us: ask for the job's state.
                status = self._status(job_id)
                state = status.args[2]
                if state == "done":
                    return [str(p) for p in status.args[7:]]
                if state in ("failed", "cancelled"):
                    raise ClientError(str(status.args[7]), str(status.args[8]))
                continue
            if not reply.args or str(reply.args[0]) != job_id:
                continue
            if reply.address == "/dawgen/progress" and on_progress is not None:
                on_progress(float(reply.args[1]), str(reply.args[2]), float(reply.args[3]))
            elif reply.address == "/dawgen/training" and on_training is not None:
                on_training(int(reply.args[1]), int(reply.args[2]), float(reply.args[3]))
            elif reply.address == "/dawgen/dataset" and on_dataset is not None:
                on_dataset(str(reply.args[3]))
            elif reply.address == "/dawgen/done":
                return [str(p) for p in reply.args[1:]]
            elif reply.address == "/dawgen/error" and str(reply.args[1]) == "reply_too_large" and not self.tcp:
                # The job is done but its paths do not fit one datagram: read them over TCP.
                return [str(p) for p in self._status(job_id, tcp=True).args[7:]]
            elif reply.address == "/dawgen/error":
                raise ClientError(str(reply.args[1]), str(reply.args[2]))
        raise ClientError("timeout", f"job {job_id} did not finish within {timeout}s")

    def _status(self, job_id: str, tcp: bool = False) -> Reply:
        """`/dawgen/status` of a job; over TCP when asked, or when its reply is too large for UDP."""
        if not tcp or self.tcp:
            try:
                return self.call("status", {"job": job_id}, timeout=2.0)
            except ClientError as exc:
                if exc.code != "reply_too_large" or self.tcp:
                    raise
        with Client(self.addr[0], self.addr[1], tcp=True) as over_tcp:
            return over_tcp.call("status", {"job": job_id}, timeout=5.0)

    def generate(self, params: dict[str, Any], verb: str = "generate", timeout: float = 60.0) -> list[str]:
        ack = self.call(verb, params)
        return self.wait(str(ack.args[1]), timeout=timeout)

    def json_call(self, verb: str) -> Any:
        return json.loads(self.call(verb).args[1])

    def fetch(self, path: str, folder: str | os.PathLike[str], timeout: float = 60.0) -> Path:
        """Download a result file of one's own job (TCP) into `folder`; returns the local path."""
        req_id = uuid.uuid4().hex[:12]
        Path(folder).mkdir(parents=True, exist_ok=True)
        target = Path(folder) / Path(path.replace("\\", "/")).name
        part = target.with_name(target.name + ".part")
        deadline = time.monotonic() + timeout
        reply = self.call("fetch", {"path": path, "offset": 0}, timeout=timeout, req_id=req_id)
        with open(part, "wb") as fh:
            while True:
                offset, total, data = int(reply.args[2]), int(reply.args[3]), bytes(reply.args[4])
                fh.seek(offset)
                fh.write(data)
                if offset + len(data) >= total or not data:
                    break
                reply = self._next_chunk(req_id, deadline)
        os.replace(part, target)
        return target

    def _next_chunk(self, req_id: str, deadline: float) -> Reply:
        while time.monotonic() < deadline:
            reply = self.recv(deadline - time.monotonic())
            if reply is not None and reply.args and str(reply.args[0]) == req_id:
                if reply.address == "/dawgen/error":
                    raise ClientError(str(reply.args[1]), str(reply.args[2]))
                return reply
        raise ClientError("timeout", "the file did not arrive in time")


def upload_params(params: dict[str, Any]) -> dict[str, Any]:
    """`input=LOCAL_FILE` as the daemon on another machine needs it: the file's bytes (input_blob)."""
    value = params.get("input")
    if not isinstance(value, str) or not os.path.isfile(value):
        return params
    out = {k: v for k, v in params.items() if k != "input"}
    out["input_blob"] = Path(value).read_bytes()
    out["input_name"] = Path(value).name
    return out
