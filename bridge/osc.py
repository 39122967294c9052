"""OSC front door: UDP and TCP (OSC 1.1 SLIP framing) on one port.

Handlers only validate, journal (through engine.submit) and reply; generation runs on the workers.
One handler per verb, registered in a table (as AbletonOSC does); the verb groups answered in the
bridge keep their handlers in their own modules: osc_control.py (ping, cancel, status, queue,
models, catalog, listen/unlisten, and job events to listeners), audio_osc.py, osc_files.py. This
module holds the sockets, the framing and job submission. Nothing a client sends can stop
the daemon: a parseable request with a problem gets `/dawgen/error`, an unparseable packet is logged
with its sender.
"""
from __future__ import annotations

import errno
import itertools
import logging
import socket
import struct
import threading
import uuid
from collections.abc import Callable
from typing import Any

from pythonosc import slip
from pythonosc.osc_packet import OscPacket, ParseError

from server.engine import Engine
from server.errors import DawgenError, ErrorCode
from server.intake import SubmitBatch
from server.jobs import Job
from server.params import validate

from . import protocol as proto
from .audio_osc import AudioVerbs
from .clients import ADMIN, Clients, Identity
from .osc_control import ControlVerbs
from .osc_files import FileVerbs
from .osc_stream import Conn, split_slip

log = logging.getLogger("dawgen.osc")

Dest = tuple[str, Any]  # ("udp", (host, port)) or ("tcp", connection id string)
# Group commit: after a blocking read the UDP door also reads what is already waiting (up to this
# many packets in all) and journals their job requests in one transaction. MSG_DONTWAIT is POSIX;
# elsewhere each packet is its own batch.
UDP_BATCH = 32
_DONTWAIT = getattr(socket, "MSG_DONTWAIT", 0)
ADMIN_VERBS = ("audition", "stop", "capture")  # the daemon machine's sound card: its own producer's


class OscServer:
    def __init__(self, engine: Engine, host: str = "127.0.0.1", port: int = 9950, max_packet: int = 65536,
                 clients: Clients | None = None) -> None:
        self.engine = engine
        self.host, self.port, self.max_packet = host, port, max_packet
        self.clients = clients or Clients(engine.config)
        # a TCP packet may carry an upload (input_blob): room for it and the request around it
        self.max_tcp_packet = max(max_packet, engine.config.server.max_upload_bytes + max_packet)
        self.udp_reply_max = proto.UDP_REPLY_MAX
        self._udp: socket.socket | None = None
        self._tcp: socket.socket | None = None
        self._conns: dict[str, Conn] = {}
        # Connection ids are stored with journaled jobs: a per-start prefix keeps a job recovered
        # after a restart from replying into somebody else's new connection.
        self._boot = uuid.uuid4().hex[:8]
        self._conn_ids = itertools.count(1)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._unsubscribe: Callable[[], None] | None = None
        # ping, cancel, status, queue, models, catalog, listen, unlisten; and who hears a job's events
        self.control = ControlVerbs(engine, self.clients, self.send,
                                    lambda dest: self.udp_reply_max if dest[0] == "udp" else None)
        self.handlers: dict[str, Callable[[proto.ParsedRequest, Dest], None]] = self.control.handlers()
        # audition / stop / capture; sounddevice is imported on their first use only
        self.audio = AudioVerbs(engine, self.send)
        self.handlers.update(self.audio.handlers())
        self.files = FileVerbs(engine, self.clients, self.send)  # input_blob uploads, /dawgen/fetch
        self.handlers["fetch"] = self.files.on_fetch

    # -- lifecycle ----------------------------------------------------------------------------
    def bind(self) -> int:
        """Bind UDP and TCP on the same port (port 0: a free one) unless bound; returns the port.
        Until start(), what clients send waits in the sockets' buffers."""
        if self._udp is None:
            self._bind()
        return self.port

    def start(self) -> None:
        """Bind (if not yet) and start serving."""
        self.bind()
        self._unsubscribe = self.engine.subscribe(self.control.on_event)
        for target, sock, name in ((self._serve_udp, self._udp, "udp"), (self._serve_tcp, self._tcp, "tcp-accept")):
            thread = threading.Thread(target=target, args=(sock,), name=f"dawgen-osc-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def _bind(self) -> None:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        for _ in range(20):  # with port 0, the free UDP port may be taken for TCP: try another
            udp = socket.socket(family, socket.SOCK_DGRAM)
            udp.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            # macOS refuses datagrams larger than the send buffer (9,216 bytes by default)
            udp.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
            udp.bind((self.host, self.port))
            port = udp.getsockname()[1]
            tcp = socket.socket(family, socket.SOCK_STREAM)
            tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                tcp.bind((self.host, port))
            except OSError:
                udp.close()
                tcp.close()
                if self.port:
                    raise
                continue
            tcp.listen(16)
            self._udp, self._tcp, self.port = udp, tcp, port
            return
        raise OSError("could not find a port free for both UDP and TCP")

    def stop(self) -> None:
        self._stopping.set()
        self.audio.close()
        if self._unsubscribe:
            self._unsubscribe()
        for sock in (self._udp, self._tcp):
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()
        with self._lock:
            conns = list(self._conns.values())
        for conn in conns:
            try:
                conn.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    # -- transports ---------------------------------------------------------------------------
    def _serve_udp(self, udp: socket.socket) -> None:
        while not self._stopping.is_set():
            try:
                data, addr = udp.recvfrom(self.max_packet + 1)
            except OSError:
                break
            if addr is None:  # the socket was shut down
                break
            batch = self.engine.batch()
            for packet, sender in [(data, addr), *self._waiting(udp)]:
                self.handle_packet(packet, ("udp", (sender[0], sender[1])), batch)
            self._commit(batch)

    def _waiting(self, udp: socket.socket) -> list[tuple[bytes, Any]]:
        """Packets already in the socket's buffer, read without blocking."""
        packets: list[tuple[bytes, Any]] = []
        while _DONTWAIT and len(packets) < UDP_BATCH - 1:
            try:
                data, addr = udp.recvfrom(self.max_packet + 1, _DONTWAIT)
            except OSError:  # nothing waiting (or the socket closed: the blocking read sees it)
                break
            if addr is None:
                break
            packets.append((data, addr))
        return packets

    def _commit(self, batch: SubmitBatch) -> None:
        try:
            batch.commit()  # answers each request: ack after the commit, or its error
        except Exception:
            log.exception("journaling %d request(s) failed", len(batch))

    def _serve_tcp(self, tcp: socket.socket) -> None:
        while not self._stopping.is_set():
            try:
                sock, addr = tcp.accept()
            except OSError:
                break
            conn_id = f"{self._boot}-{next(self._conn_ids)}"
            with self._lock:
                self._conns[conn_id] = Conn(sock, (addr[0], addr[1]))
            threading.Thread(target=self._serve_conn, args=(conn_id,), daemon=True,
                             name=f"dawgen-osc-tcp-{conn_id}").start()

    def _serve_conn(self, conn_id: str) -> None:
        conn = self._conns[conn_id]
        buf = bytearray()
        framing_known = False
        try:
            while not self._stopping.is_set():
                chunk = conn.sock.recv(1 << 20)
                if not chunk:
                    break
                if not framing_known:
                    conn.slip, framing_known = chunk[:1] == slip.END, True
                buf += chunk
                if conn.slip:
                    for frame in split_slip(buf, max(0, len(buf) - len(chunk))):
                        self._on_frame(frame, conn_id, conn)
                    # A frame that never ends: drop it, keep the connection. Complete frames over the
                    # limit still reach handle_packet, which answers them with an error.
                    if len(buf) > 4 * self.max_tcp_packet:
                        log.warning("dropped an over-long TCP frame (%d bytes) from %s", len(buf), conn.peer)
                        buf.clear()
                elif not self._split_length_prefixed(buf, conn_id, conn):
                    break
        except OSError:
            pass
        finally:
            with self._lock:
                self._conns.pop(conn_id, None)
            self.control.forget(("tcp", conn_id))
            conn.sock.close()

    def _split_length_prefixed(self, buf: bytearray, conn_id: str, conn: Conn) -> bool:
        """Handle complete OSC 1.0 stream packets; False when the stream cannot be trusted any more."""
        while len(buf) >= 4:
            size = struct.unpack(">I", buf[:4])[0]
            if size > self.max_tcp_packet:
                # With length framing there is no way to resynchronise: close this connection.
                log.warning("TCP packet of %d bytes announced by %s exceeds %d; closing", size, conn.peer, self.max_tcp_packet)
                return False
            if len(buf) < 4 + size:
                break
            data = bytes(buf[4 : 4 + size])
            del buf[: 4 + size]
            if data:
                self.handle_packet(data, ("tcp", conn_id))
        return True

    def _on_frame(self, frame: bytes, conn_id: str, conn: Conn) -> None:
        try:
            data = slip.decode(frame)
        except slip.ProtocolError:
            log.warning("bad SLIP frame from %s", conn.peer)
            return
        if data:
            self.handle_packet(data, ("tcp", conn_id))

    def send(self, dest: Dest, data: bytes) -> None:
        """Send one reply. Every UDP reply goes through here, so none is dropped for its size: one
        that cannot fit a datagram becomes `/dawgen/error <id> reply_too_large ...` (logged)."""
        kind, where = dest
        try:
            if kind == "udp" and self._udp is not None:
                self._send_udp(self._udp, where, data)
            elif kind == "tcp":
                with self._lock:
                    conn = self._conns.get(where)
                if conn is not None:
                    conn.send(data)
        except OSError as exc:  # a client that went away is normal
            log.debug("could not send %d bytes to %s: %s", len(data), dest, exc)

    def _send_udp(self, udp: socket.socket, where: Any, data: bytes) -> None:
        fitted = proto.fit_datagram(data, self.udp_reply_max)
        if fitted is not data:
            log.warning("a %d-byte reply does not fit one UDP datagram for %s: sent reply_too_large instead", len(data), where)
        try:
            udp.sendto(fitted, where)
        except OSError as exc:
            if exc.errno != errno.EMSGSIZE:
                raise
            # The system allows less than udp_reply_max (macOS: net.inet.udp.maxdgram).
            log.warning("the system refused a %d-byte datagram to %s: sent reply_too_large instead", len(fitted), where)
            udp.sendto(proto.fit_datagram(fitted, len(fitted) - 1), where)

    # -- requests -----------------------------------------------------------------------------
    def handle_packet(self, data: bytes, source: Dest, batch: SubmitBatch | None = None) -> None:
        """Parse and answer one packet. Never raises. With a `batch`, job requests are answered when
        the caller commits it."""
        peer = self._peer(source)
        limit = self.max_tcp_packet if source[0] == "tcp" else self.max_packet
        if len(data) > limit:
            log.warning("oversized packet (%d bytes > %d) from %s", len(data), limit, peer)
        try:
            messages = [m.message for m in OscPacket(bytes(data)).messages]
        except (ParseError, ValueError, IndexError, TypeError) as exc:
            log.warning("unparseable OSC packet (%d bytes) from %s: %s", len(data), peer, exc)
            return
        for message in messages:
            try:
                self._handle_message(message.address, list(message.params), source, len(data) > limit, batch)
            except Exception:
                log.exception("error handling %s from %s", message.address, peer)
                self.send(source, proto.error("", ErrorCode.INTERNAL, "internal error; see the daemon log"))

    def _handle_message(self, address: str, args: list[Any], source: Dest, oversized: bool = False,
                        batch: SubmitBatch | None = None) -> None:
        req_id = str(args[0]) if args and isinstance(args[0], (str, int)) else ""
        dest = source
        who: Identity | None = None
        try:
            request = proto.parse(address, args)
            req_id = request.req_id
            if request.reply_port is not None and source[0] == "udp":
                dest = ("udp", (source[1][0], request.reply_port))
            who = request.who = self.clients.identify(self._peer_host(source), request.token)
            if oversized:
                raise DawgenError(ErrorCode.BAD_REQUEST, "packet larger than the limit ([server] max_packet_bytes)")
            handler = self.handlers.get(request.verb)
            if request.verb in ADMIN_VERBS:
                self.clients.check_admin(who, f"/dawgen/{request.verb} (the daemon's audio devices)")
            if handler is not None:
                if batch is not None:
                    self._commit(batch)  # a cancel/status right after a generate finds its job
                request.params = validate(proto.CONTROL_VERBS[request.verb], request.params, request.verb)
                handler(request, dest)
            else:
                self._on_job(request, dest, batch)
        except DawgenError as exc:
            if who is None and not self._may_hear(source, args):  # unknown sender: unauthorized, nothing more
                exc = DawgenError(ErrorCode.UNAUTHORIZED, exc.message if exc.code is ErrorCode.UNAUTHORIZED
                                  else "this daemon needs a client token: add token=TOKEN")
            self._refused(getattr(exc, "req_id", req_id), source, dest, exc)

    def _may_hear(self, source: Dest, args: list[Any]) -> bool:
        """A request that did not parse may be told why only when its sender is known."""
        try:
            self.clients.identify(self._peer_host(source), proto.raw_token(args))
        except DawgenError:
            return False
        return True

    def _refused(self, req_id: str, source: Dest, dest: Dest, exc: DawgenError) -> None:
        log.info("request %r from %s refused: %s", req_id, self._peer(source), exc)
        self.send(dest, proto.error(req_id, exc.code, exc.message))

    def _on_job(self, request: proto.ParsedRequest, dest: Dest, batch: SubmitBatch | None) -> None:
        if not self.engine.is_job_verb(request.verb):
            known = ", ".join(sorted([*self.handlers, *self.engine.job_verbs()]))
            raise DawgenError(ErrorCode.UNKNOWN_VERB, f"unknown verb {request.verb!r}; verbs: {known}")
        client = {"udp": list(dest[1])} if dest[0] == "udp" else {"tcp": dest[1]}
        who = request.who or ADMIN
        self.clients.check_params(who, request.params)
        self.files.take_upload(who, request.params)
        job_request = self.clients.request(who, request.verb, request.params, request.req_id, client)

        def ack(job: Job, position: int) -> None:
            self.send(dest, proto.ack(request.req_id, job, position))

        if batch is None:
            self.engine.submit(job_request, on_accepted=ack)
        else:  # validated now; journaled and answered when the batch commits
            batch.add(job_request, ack, lambda exc: self._refused(request.req_id, dest, dest, exc))

    def _peer_host(self, source: Dest) -> str:
        """The sender's address (a TCP connection's peer), for the loopback rule."""
        if source[0] == "udp":
            return str(source[1][0])
        conn = self._conns.get(source[1])
        return conn.peer[0] if conn else ""

    def _peer(self, source: Dest) -> str:
        if source[0] == "udp":
            return f"udp {source[1][0]}:{source[1][1]}"
        conn = self._conns.get(source[1])
        return f"tcp {conn.peer[0]}:{conn.peer[1]}" if conn else "tcp (closed)"
