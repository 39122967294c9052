"""What a model process hands its writer process (server/writer_process.py): a job and what its
model made, as frames over their connection.

The job and the outputs' small fields are one pickle (protocol 5); the arrays travel out of band,
as the bytes they are in memory. On POSIX they go straight through the connection's socket: written
from the arrays' own memory and read into one writable buffer each (the chain may work in place).
multiprocessing's `recv_bytes_into` would gather each into a BytesIO first and copy it over:
measured with bench/handoff.py between two processes on 2 cores, sent and read, a 10 s stereo file
(3.8 MB) takes 0.9 ms this way and 2.2 ms that way, a 30 s four-stem set (42 MB) 14 ms against 24.
Elsewhere (Windows' pipe connections) each array is one `send_bytes` frame. A shared-memory block
per job measured no faster than the framed path (its fresh pages fault in as they are filled).

An array that is neither C- nor Fortran-contiguous (a backend's `(channels, frames)` tensor
transposed and cut to length, as stable-audio's is) would be pickled in band: copied into the
pickle, through the pipe's frames, and out again. It is made contiguous first and travels out of
band like the rest (2.5 s of stable-audio stereo: the pickle went from 884 kB to 1 kB).
"""
from __future__ import annotations

import io
import os
import pickle
import sys
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import numpy as np

__all__ = ["Packed", "pack", "send", "unpack"]


@dataclass(frozen=True)
class Packed:
    head: bytes
    raws: list[memoryview]


def pack(message: tuple[Any, ...]) -> Packed:
    """`message` ready to send: its pickle and its out-of-band buffers. Raises, before anything is
    sent, for what cannot be pickled or a buffer that is not contiguous."""
    buffers: list[pickle.PickleBuffer] = []
    out = io.BytesIO()
    _Pickler(out, protocol=5, buffer_callback=buffers.append).dump(message)
    return Packed(out.getvalue(), [b.raw() for b in buffers])


class _Pickler(pickle.Pickler):
    def reducer_override(self, obj: Any) -> Any:
        """A strided array as a contiguous copy of itself, so its bytes go out of band."""
        if type(obj) is np.ndarray and not (obj.flags.c_contiguous or obj.flags.f_contiguous):
            return np.ascontiguousarray(obj).__reduce_ex__(5)
        return NotImplemented


def send(conn: Any, packed: Packed) -> None:
    """Frames: ("job", direct, sizes), the pickle, then each buffer (raw bytes on the socket when
    `direct`, else one frame each). Raises OSError when the other end is gone."""
    fd = _direct_fd(conn)
    conn.send_bytes(pickle.dumps(("job", fd is not None, [r.nbytes for r in packed.raws])))
    conn.send_bytes(packed.head)
    for raw in packed.raws:
        if fd is None:
            conn.send_bytes(raw)
        else:
            _write_all(fd, raw)


def unpack(conn: Any, first: tuple[str, bool, list[int]]) -> tuple[Any, ...]:
    """The rest of a `send`, `first` being its first frame: each buffer read into writable memory
    of its own, then the message rebuilt over it."""
    _, direct, sizes = first
    head = conn.recv_bytes()
    fd = conn.fileno() if direct else None
    buffers = []
    for size in sizes:
        buffer = np.empty(size, np.uint8)  # not zeroed first, as a bytearray would be: it is read over
        if fd is not None:
            _read_into(fd, buffer)
        elif size:
            conn.recv_bytes_into(buffer)
        else:
            conn.recv_bytes()
        buffers.append(buffer)
    return pickle.loads(head, buffers=buffers)


def _direct_fd(conn: Any) -> int | None:
    """The socket under a POSIX multiprocessing Connection (it buffers nothing of its own, so raw
    bytes between its frames stay in order); None where frames must carry the bytes."""
    if sys.platform == "win32" or type(conn) is not Connection:
        return None
    return conn.fileno()


def _write_all(fd: int, raw: memoryview) -> None:
    view = raw  # PickleBuffer.raw(): one-dimensional bytes
    while view:
        view = view[os.write(fd, view):]


def _read_into(fd: int, buffer: np.ndarray) -> None:
    view = memoryview(buffer)
    while view:
        got = os.readv(fd, [view])
        if got == 0:
            raise EOFError("the connection closed in the middle of a job's audio")
        view = view[got:]
