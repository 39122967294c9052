"""The model process -> writer process handoff (server/handoff.py): a job's audio sent and read back
whole in another process, the direct socket path beside the framed one (each array one
`send_bytes`, read by multiprocessing's `recv_bytes_into`), interleaved in one run.
Sizes: a 10 s stereo file (3.8 MB) and a 30 s four-stem set (42 MB).
    .venv/bin/python bench/handoff.py
"""
from __future__ import annotations

import multiprocessing
import pickle
import time

import numpy as np
from _common import percentile
from table import Row

from server.handoff import pack, send, unpack

SIZES = {"10 s stereo (3.8 MB)": [(480_000, 2)], "30 s four stems (42 MB)": [(1_323_000, 2)] * 4}


class _Framed:
    """What a connection that is not a POSIX multiprocessing Connection gets: frames."""

    def __init__(self, conn) -> None:
        self.send_bytes, self.recv_bytes, self.recv_bytes_into = conn.send_bytes, conn.recv_bytes, conn.recv_bytes_into


def _reader(conn, framed: bool) -> None:
    conn = _Framed(conn) if framed else conn
    while (first := pickle.loads(conn.recv_bytes())) != "end":
        unpack(conn, first)
        conn.send_bytes(b"ok")


def _one_way(framed: bool, arrays: list[np.ndarray], runs: int) -> list[float]:
    ctx = multiprocessing.get_context("spawn")
    left, right = ctx.Pipe(duplex=True)
    proc = ctx.Process(target=_reader, args=(right, framed), daemon=True)
    proc.start()
    conn = _Framed(left) if framed else left
    times = []
    for _ in range(runs + 1):  # the first warms both processes' allocators
        started = time.perf_counter()
        send(conn, pack(("write", "job", arrays)))
        conn.recv_bytes()
        times.append(time.perf_counter() - started)
    conn.send_bytes(pickle.dumps("end"))
    proc.join(30)
    return times[1:]


def main(runs: int = 15) -> dict[str, dict[str, float]]:
    rng = np.random.default_rng(0)
    res = {}
    for name, shapes in SIZES.items():
        arrays = [rng.standard_normal(shape).astype(np.float32) for shape in shapes]
        direct, framed = [], []
        for _ in range(3):  # interleaved rounds: a busy moment hits both ways alike
            direct += _one_way(False, arrays, runs // 3)
            framed += _one_way(True, arrays, runs // 3)
        res[name] = {"direct_ms": percentile(direct, 50) * 1e3, "framed_ms": percentile(framed, 50) * 1e3}
        print(f"handoff {name}: sent and read in the writer process, median of {len(direct)}: "
              f"direct {res[name]['direct_ms']:.1f} ms, framed {res[name]['framed_ms']:.1f} ms")
    return res


def rows(res: dict[str, dict[str, float]]) -> list[Row]:
    return [Row("handoff", f"{name}: model -> writer process", r["direct_ms"], "ms",
                beside=f"framed (recv_bytes_into) {r['framed_ms']:.1f} ms") for name, r in res.items()]


if __name__ == "__main__":
    main()
