"""`dawgen serve` start -> first pong, beside a bare `python -c pass` start measured in the same run.

Target: <= 1 s on a 2-core machine.
    .venv/bin/python bench/startup.py
"""
from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import REPO, percentile
from pythonosc.osc_message import OscMessage
from pythonosc.osc_message_builder import OscMessageBuilder
from table import Row, at_most


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ping_dgram() -> bytes:
    b = OscMessageBuilder(address="/dawgen/ping")
    b.add_arg("start")
    return b.build().dgram


def start_to_pong() -> float:
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(0.01)
        started = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "bridge", "serve", "--port", str(port), "--project",
                                 str(Path(tmp) / "p"), "--state-dir", str(Path(tmp) / "s")],
                                cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            while time.perf_counter() - started < 30:
                sock.sendto(ping_dgram(), ("127.0.0.1", port))
                try:
                    if OscMessage(sock.recv(65536)).address == "/dawgen/pong":
                        return time.perf_counter() - started
                except (TimeoutError, ConnectionRefusedError):
                    pass
            raise RuntimeError("no pong within 30 s")
        finally:
            proc.terminate()
            proc.wait(30)
            sock.close()


def bare_python() -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return time.perf_counter() - started


def main(runs: int = 5) -> dict[str, float]:
    bare = [bare_python() for _ in range(runs)]
    serve = [start_to_pong() for _ in range(runs)]
    res = {"bare_python_s": percentile(bare, 50), "serve_to_pong_s": percentile(serve, 50),
           "serve_to_pong_max_s": max(serve)}
    print(f"dawgen serve start -> first pong, median of {runs}:")
    print(f"  bare `python -c pass`: {res['bare_python_s']:.3f} s")
    print(f"  dawgen serve -> pong : {res['serve_to_pong_s']:.3f} s (max {res['serve_to_pong_max_s']:.3f} s; target <= 1 s)")
    print(f"  ratio to bare python = {res['serve_to_pong_s'] / res['bare_python_s']:.1f}x")
    return res


def rows(res: dict[str, float]) -> list[Row]:
    return [at_most("startup", "dawgen serve -> first pong", res["serve_to_pong_s"], "s", 1.0,
                    f"bare python {res['bare_python_s']:.3f} s")]


if __name__ == "__main__":
    main()
