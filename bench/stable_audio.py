"""Stable Audio backend figures on tiny random-weight models (tests/server/backends/stable_audio_tiny.py).

1. Time to file: a warm daemon (model loaded) against a cold process that imports stable-audio-tools,
   loads the same tiny SAO-Small-shaped model and generates once (a script per request).
   Target: warm >= 20x faster.
2. `count=8` in one request (one batched sampler run) against 8 sequential requests: throughput.
   Target: >= 1.5x on CPU.

    .venv/bin/python bench/stable_audio.py [--seconds 2.0] [--runs 3]
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import REPO, serve
from table import Row, at_least

COLD = """
import sys
from server.backends.stable_audio import StableAudioBackend
from server.backends.base import RunContext
import soundfile as sf
path, t5, out, seconds = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
b = StableAudioBackend("tiny", {"path": path, "t5_path": t5, "device": "cpu"})
b.check_available()
audio = b.run("generate", RunContext({"prompt": "dark techno", "seconds": seconds, "seed": 1}))[0]
sf.write(out, audio.samples, audio.sample_rate)
"""


def warm_daemon(models: dict[str, Path], tmp: Path) -> tuple[subprocess.Popen, int]:
    return serve(tmp, f'[models.tiny]\nbackend = "stable-audio"\npath = "{models["small"]}"\n'
                      f't5_path = "{models["t5"]}"\ndevice = "cpu"\npreload = true\n')


def main(seconds: float = 2.0, runs: int = 3) -> dict[str, float]:
    args = argparse.Namespace(seconds=seconds, runs=runs)
    from bridge.client import Client
    from tests.server.backends.stable_audio_tiny import tiny_models

    with tempfile.TemporaryDirectory(prefix="dawgen-bench-sa-") as name:
        tmp = Path(name)
        models = tiny_models(tmp)
        cold = []
        for run in range(args.runs):
            started = time.perf_counter()
            subprocess.run([sys.executable, "-c", COLD, str(models["small"]), str(models["t5"]), str(tmp / f"c{run}.wav"),
                            str(args.seconds)], check=True, cwd=REPO, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
            cold.append(time.perf_counter() - started)
        proc, port = warm_daemon(models, tmp)
        try:
            params = {"model": "tiny", "prompt": "dark techno", "seconds": args.seconds}
            with Client("127.0.0.1", port) as client:
                client.generate({**params, "seed": 0}, timeout=600)  # loaded and warm from here on
                warm = []
                for run in range(args.runs):
                    started = time.perf_counter()
                    client.generate({**params, "seed": run + 1}, timeout=600)
                    warm.append(time.perf_counter() - started)
                seq_times, batch_times = [], []
                for _ in range(args.runs):  # interleaved, so a noisy moment hits both sides alike
                    started = time.perf_counter()
                    for i in range(8):
                        client.generate({**params, "seed": 100 + i}, timeout=600)
                    seq_times.append(time.perf_counter() - started)
                    started = time.perf_counter()
                    client.generate({**params, "seed": 100, "count": 8}, timeout=600)
                    batch_times.append(time.perf_counter() - started)
                sequential, batched = statistics.median(seq_times), statistics.median(batch_times)
        finally:
            proc.terminate()
            proc.wait(30)
    c, w = statistics.median(cold), statistics.median(warm)
    print(f"stable-audio time to file ({args.seconds:g} s, tiny SAO-Small shape, 8 pingpong steps):")
    print(f"  cold process {c:.2f} s, warm daemon {w:.3f} s: {c / w:.1f}x (target >= 20x)")
    print(f"  8 files (median of {args.runs}): 8 requests {sequential:.2f} s, one count=8 request {batched:.2f} s: "
          f"{sequential / batched:.2f}x throughput (target >= 1.5x)")
    return {"cold_s": c, "warm_s": w, "sequential_s": sequential, "batched_s": batched}


def rows(res: dict[str, float]) -> list[Row]:
    return [at_least("stable-audio", "time to file: cold process / warm daemon", res["cold_s"] / res["warm_s"], "x",
                     20.0, f"warm {res['warm_s']:.3f} s, cold {res['cold_s']:.2f} s"),
            at_least("stable-audio", "count=8 throughput vs 8 requests", res["sequential_s"] / res["batched_s"], "x",
                     1.5, f"8 requests {res['sequential_s']:.2f} s")]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--runs", type=int, default=3)
    cli = parser.parse_args()
    main(cli.seconds, cli.runs)
