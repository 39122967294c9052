"""Journal size per thousand jobs: journal.sqlite3 + its WAL after N finished synth jobs, as the daemon
keeps it (WAL checkpointed every second by the background thread, cut back to 4 MB), and after a
clean stop (final checkpoint: the WAL is emptied).

Runs the engine in-process in immediate mode: each job is generated and written inside submit.
    .venv/bin/python bench/journal_size.py [--jobs 1000]
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from _common import REPO  # noqa: F401 - puts the repository on sys.path

from server.config import load
from server.engine import Engine
from server.jobs import JobState, Request


def main(jobs: int = 1000) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="dawgen-journal-") as tmp:
        cfg = load(None, {"output.root": str(Path(tmp) / "p"), "server.state_dir": str(Path(tmp) / "s"),
                          "server.isolation": "immediate"})
        engine = Engine(cfg)
        engine.start()
        path = Path(engine.journal.path)
        started = time.perf_counter()
        peak_wal = 0
        for n in range(jobs):
            job, _ = engine.submit(Request("generate", {"prompt": "punchy kick", "seconds": 0.25, "seed": n},
                                           f"size-{n}", {"udp": ["127.0.0.1", 9951]}))
            if job.state is not JobState.DONE:
                raise RuntimeError(f"job {n} ended {job.state.value}: {job.error_message}")
            wal = Path(str(path) + "-wal")
            peak_wal = max(peak_wal, wal.stat().st_size if wal.exists() else 0)
        running = engine.journal.disk_bytes()
        engine.stop(5)
        engine.close()
        stopped = engine.journal.disk_bytes()
    per_k = 1000 / jobs
    res = {"running_bytes_per_1000": running * per_k, "stopped_bytes_per_1000": stopped * per_k,
           "peak_wal_bytes": float(peak_wal), "seconds": time.perf_counter() - started}
    print(f"journal size after {jobs} finished synth jobs ({res['seconds']:.0f} s):")
    print(f"  running (db + WAL)    : {running / 1e6:.2f} MB  = {res['running_bytes_per_1000'] / 1e6:.2f} MB per 1000 jobs")
    print(f"  after a clean stop    : {stopped / 1e6:.2f} MB  = {res['stopped_bytes_per_1000'] / 1e6:.2f} MB per 1000 jobs")
    print(f"  WAL high-water mark   : {peak_wal / 1e6:.2f} MB")
    return res


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1000)
    main(parser.parse_args().jobs)
