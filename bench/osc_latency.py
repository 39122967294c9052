"""OSC accept latency: `generate` sent -> `/dawgen/ack` received, from many clients while the jobs
those requests make are running, beside a bare python-osc echo server measured in the same run.

Each run sends `--requests` requests at `--rate` per second, spread round-robin over `--clients` UDP
sockets per server. Every request goes to the daemon and, at the same instant, the same packet to
the echo server from a socket of its own: both see the same machine load (the daemon's model process
generating, the client's own work), so the ratio is the daemon's cost, not the noise of the moment.
Replies are taken from all sockets by one selector loop; progress and done events of earlier jobs
arrive on the daemon's sockets too and are skipped.

Target: daemon p99 <= 3x the echo server's p99, in every run.
    .venv/bin/python bench/osc_latency.py [--runs 5] [--clients 200] [--requests 1000] [--rate 1000]
"""
from __future__ import annotations

import argparse
import selectors
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field

from _common import REPO, Daemon, percentile
from pythonosc.osc_message import OscMessage
from pythonosc.osc_message_builder import OscMessageBuilder
from table import Row, at_most

ECHO = """
from pythonosc.dispatcher import Dispatcher
from pythonosc.osc_message_builder import OscMessageBuilder
from pythonosc.osc_server import BlockingOSCUDPServer
server = None
def echo(client_address, address, *args):
    b = OscMessageBuilder(address="/echo")
    for a in args:
        b.add_arg(a)
    server.socket.sendto(b.build().dgram, client_address)
d = Dispatcher()
d.set_default_handler(echo, needs_reply_address=True)
server = BlockingOSCUDPServer(("127.0.0.1", 0), d)
print(server.server_address[1], flush=True)
server.serve_forever()
"""
# The daemon's queue must hold every job of every run: runs outpace a 2-core machine's synth.
CONFIG = "[server]\nmax_queued = 1000000\n"
REPLIES = ("/echo", "/dawgen/ack")
QUANTILES = (50, 99, 99.9)


def request(req_id: str) -> bytes:
    b = OscMessageBuilder(address="/dawgen/generate")
    for arg in (req_id, "prompt", "closed hat", "seconds", 0.05, "seed", 1):
        b.add_arg(arg)
    return b.build().dgram


@dataclass
class Target:
    """One server under test: its client sockets and what they measured."""

    name: str
    port: int
    clients: int
    socks: list[socket.socket] = field(default_factory=list)
    sent: dict[str, float] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    errors: int = 0

    def open(self, selector: selectors.BaseSelector) -> None:
        for _ in range(self.clients):
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.bind(("127.0.0.1", 0))
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            sock.setblocking(False)
            selector.register(sock, selectors.EVENT_READ, self)
            self.socks.append(sock)

    def send(self, n: int, req_id: str, data: bytes) -> None:
        self.sent[req_id] = time.perf_counter()
        self.socks[n % len(self.socks)].sendto(data, ("127.0.0.1", self.port))

    def receive(self, sock: socket.socket, now: float) -> None:
        while True:
            try:
                data = sock.recv(65536)
            except BlockingIOError:
                return
            msg = OscMessage(data)
            if msg.address == "/dawgen/error":  # e.g. queue_full: an answer, but not the one measured
                self.errors += 1 if self.sent.pop(str(msg.params[0]), None) is not None else 0
            elif msg.address in REPLIES:
                started = self.sent.pop(str(msg.params[0]), None)
                if started is not None:
                    self.latencies.append(now - started)

    def close(self, selector: selectors.BaseSelector) -> None:
        for sock in self.socks:
            selector.unregister(sock)
            sock.close()


def measure(echo_port: int, daemon_port: int, tag: str, requests: int, rate: float,
            clients: int) -> tuple[Target, Target]:
    """Send `requests` to both servers at `rate`/s; wait for every reply (10 s at most)."""
    selector = selectors.DefaultSelector()
    echo, daemon = Target("echo", echo_port, clients), Target("daemon", daemon_port, clients)
    for target in (echo, daemon):
        target.open(selector)
    start = time.perf_counter()
    n = 0
    try:
        while True:
            now = time.perf_counter()
            while n < requests and start + n / rate <= now:
                req_id = f"{tag}-{n}"
                data = request(req_id)
                daemon.send(n, req_id, data)
                echo.send(n, req_id, data)
                n += 1
            if n >= requests and not echo.sent and not daemon.sent:
                break
            if now - start > requests / rate + 10:
                break  # lost packets: report what arrived, and how many did not
            due = start + n / rate - now if n < requests else 0.05
            for key, _ in selector.select(max(0.0, due)):
                key.data.receive(key.fileobj, time.perf_counter())
    finally:
        echo.close(selector)
        daemon.close(selector)
        selector.close()
    return echo, daemon


def quantiles(values: list[float]) -> list[float]:
    return [percentile(values, q) * 1e3 for q in QUANTILES] if values else [float("nan")] * len(QUANTILES)


def fmt(qs: list[float]) -> str:
    return " / ".join(f"{q:6.2f}" for q in qs)


def main(runs: int = 5, clients: int = 200, requests: int = 1000, rate: float = 1000.0) -> dict[str, float]:
    echo_proc = subprocess.Popen([sys.executable, "-c", ECHO], stdout=subprocess.PIPE, text=True, cwd=REPO)
    assert echo_proc.stdout is not None
    echo_port = int(echo_proc.stdout.readline())
    daemon = Daemon(CONFIG)
    ratios: list[float] = []
    all_echo: list[float] = []
    all_daemon: list[float] = []
    print(f"osc accept latency (generate -> ack): {clients} clients per server, {requests} requests per run "
          f"at {rate:g}/s, jobs running meanwhile")
    print(f"{'run':>4}  {'echo p50 / p99 / p99.9 ms':>26}  {'daemon p50 / p99 / p99.9 ms':>28}  p99 ratio  lost")
    try:
        daemon.wait_warm()
        measure(echo_port, daemon.port, "warm", 200, rate, clients)
        for run in range(1, runs + 1):
            echo, dmn = measure(echo_port, daemon.port, f"r{run}", requests, rate, clients)
            e, d = quantiles(echo.latencies), quantiles(dmn.latencies)
            ratios.append(d[1] / e[1])
            all_echo += echo.latencies
            all_daemon += dmn.latencies
            lost = f"{len(echo.sent)}/{len(dmn.sent)}" + (f" ({dmn.errors} errors)" if dmn.errors else "")
            print(f"{run:>4}  {fmt(e):>26}  {fmt(d):>28}  {ratios[-1]:8.2f}x  {lost}")
    finally:
        echo_proc.kill()
        echo_proc.wait()
        daemon.stop()
    e, d = quantiles(all_echo), quantiles(all_daemon)
    print(f"{'all':>4}  {fmt(e):>26}  {fmt(d):>28}  {d[1] / e[1]:8.2f}x")
    print(f"  worst run p99 ratio {max(ratios):.2f}x (target <= 3x in every run)")
    return {"echo_p50_ms": e[0], "echo_p99_ms": e[1], "echo_p999_ms": e[2],
            "daemon_p50_ms": d[0], "daemon_p99_ms": d[1], "daemon_p999_ms": d[2],
            "p99_ratio": d[1] / e[1], "worst_run_p99_ratio": max(ratios)}


def rows(res: dict[str, float]) -> list[Row]:
    beside = f"echo server p99 {res['echo_p99_ms']:.2f} ms"
    return [Row("accept latency", "generate -> ack, daemon p99", res["daemon_p99_ms"], "ms", beside=beside),
            at_most("accept latency", "  p99 ratio to the echo server, worst run", res["worst_run_p99_ratio"], "x", 3.0,
                    beside)]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--clients", type=int, default=200, help="UDP client sockets per server")
    parser.add_argument("--requests", type=int, default=1000, help="requests per run (to each server)")
    parser.add_argument("--rate", type=float, default=1000.0, help="requests per second (to each server)")
    args = parser.parse_args()
    main(args.runs, args.clients, args.requests, args.rate)
