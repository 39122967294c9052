"""OSC over TCP: a connection (its framing and its lock) and SLIP frame splitting."""
from __future__ import annotations

import socket
import struct
import threading

from pythonosc import slip


class Conn:
    """One TCP client. Framing is detected from its first byte and used for replies too:
    SLIP (OSC 1.1, starts with 0xC0) or a 4-byte big-endian length prefix (OSC 1.0, what liblo
    sends by default)."""

    def __init__(self, sock: socket.socket, peer: tuple[str, int]) -> None:
        self.sock, self.peer = sock, peer
        self.lock = threading.Lock()
        self.slip = True

    def send(self, data: bytes) -> None:
        framed = slip.encode(data) if self.slip else struct.pack(">I", len(data)) + data
        with self.lock:
            self.sock.sendall(framed)


def split_slip(buf: bytearray, start: int = 0) -> list[bytes]:
    """Pop complete SLIP frames (END-delimited) off the front of `buf`; `start`: where the first
    END can be (the bytes before it were searched already: a large upload is not searched again
    from its first byte for every chunk that arrives)."""
    frames = []
    while True:
        end = buf.find(slip.END, start)
        start = 0
        if end < 0:
            return frames
        frame = bytes(buf[:end])
        del buf[: end + 1]
        if frame:
            frames.append(frame)
