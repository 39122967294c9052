"""OSC accept latency: request sent -> ack received, 1,000 requests with 50 in flight, against the
daemon and against a bare python-osc echo server measured in the same run.

Target: daemon p99 <= 3x the echo server's p99.
    .venv/bin/python bench/osc_latency.py
"""
from __future__ import annotations

import socket
import subprocess
import sys
import time

from _common import REPO, Daemon, percentile

from pythonosc.osc_message import OscMessage
from pythonosc.osc_message_builder import OscMessageBuilder

ECHO = """
import sys
from pythonosc.dispatcher import Dispatcher
from pythonosc.osc_server import BlockingOSCUDPServer
from pythonosc.udp_client import SimpleUDPClient
server = None
def echo(client_address, address, *args):
    server.socket.sendto(server_message(address, args), client_address)
def server_message(address, args):
    from pythonosc.osc_message_builder import OscMessageBuilder
    b = OscMessageBuilder(address="/echo")
    for a in args:
        b.add_arg(a)
    return b.build().dgram
d = Dispatcher()
d.set_default_handler(echo, needs_reply_address=True)
server = BlockingOSCUDPServer(("127.0.0.1", 0), d)
print(server.server_address[1], flush=True)
server.serve_forever()
"""


def request(address: str, req_id: str) -> bytes:
    b = OscMessageBuilder(address=address)
    for arg in (req_id, "prompt", "closed hat", "seconds", 0.05, "seed", 1):
        b.add_arg(arg)
    return b.build().dgram


def measure(port: int, address: str, total: int = 1000, in_flight: int = 50) -> list[float]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    sock.settimeout(10)
    sent: dict[str, float] = {}
    latencies: list[float] = []
    next_id = 0

    def send_one() -> None:
        nonlocal next_id
        req_id = f"b{next_id}"
        next_id += 1
        sent[req_id] = time.perf_counter()
        sock.sendto(request(address, req_id), ("127.0.0.1", port))

    for _ in range(in_flight):
        send_one()
    while len(latencies) < total:
        data = sock.recv(65536)
        now = time.perf_counter()
        msg = OscMessage(data)
        if msg.address not in ("/echo", "/dawgen/ack"):
            continue  # progress/done of earlier jobs
        started = sent.pop(str(msg.params[0]), None)
        if started is None:
            continue
        latencies.append(now - started)
        if next_id < total:
            send_one()
    sock.close()
    return latencies


def main() -> dict[str, float]:
    echo = subprocess.Popen([sys.executable, "-c", ECHO], stdout=subprocess.PIPE, text=True, cwd=REPO)
    assert echo.stdout is not None
    echo_port = int(echo.stdout.readline())
    daemon = Daemon()
    daemon.wait_warm()
    try:
        measure(echo_port, "/dawgen/generate", 200)  # warm both up
        measure(daemon.port, "/dawgen/generate", 200)
        e = measure(echo_port, "/dawgen/generate")
        d = measure(daemon.port, "/dawgen/generate")
    finally:
        echo.kill()
        daemon.stop()
    res = {
        "echo_p50_ms": percentile(e, 50) * 1e3, "echo_p99_ms": percentile(e, 99) * 1e3,
        "daemon_p50_ms": percentile(d, 50) * 1e3, "daemon_p99_ms": percentile(d, 99) * 1e3,
    }
    res["p99_ratio"] = res["daemon_p99_ms"] / res["echo_p99_ms"]
    print(f"osc accept latency, 1000 requests, 50 in flight (generate -> ack):")
    print(f"  python-osc echo : p50 {res['echo_p50_ms']:.3f} ms  p99 {res['echo_p99_ms']:.3f} ms")
    print(f"  dawgen daemon   : p50 {res['daemon_p50_ms']:.3f} ms  p99 {res['daemon_p99_ms']:.3f} ms")
    print(f"  p99 ratio daemon/echo = {res['p99_ratio']:.2f}x (target <= 3x)")
    return res


if __name__ == "__main__":
    main()
