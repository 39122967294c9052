"""Time to file on the default model (synth): a warm daemon's `generate` -> `/dawgen/done` (the
file and its sidecar in the project folder) beside the same render plus a bare 24-bit
`soundfile.write` in this process, measured in the same run.

The difference is dawgen's own work per request: OSC, the job journal, the model process, the
DAW-ready chain and the atomic write. 10 s loops (4 bars at 96 bpm), the default `generate` path.
    .venv/bin/python bench/time_to_file.py [--runs 10]
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import soundfile as sf
from _common import Daemon, percentile
from table import Row

PARAMS = {"prompt": "drum loop", "bpm": 96, "bars": 4}


def main(runs: int = 10) -> dict[str, float]:
    from bridge.client import Client
    from server.backends.synth.render import render

    daemon = Daemon()
    try:
        daemon.wait_warm()
        bare, warm = [], []
        with Client("127.0.0.1", daemon.port) as client, tempfile.TemporaryDirectory() as tmp:
            for run in range(runs):  # interleaved, so a noisy moment hits both sides alike
                started = time.perf_counter()
                audio = render(PARAMS["prompt"], seed=run, bpm=PARAMS["bpm"], bars=PARAMS["bars"], sample_rate=48000)
                sf.write(Path(tmp) / f"{run}.wav", audio.samples, 48000, subtype="PCM_24")
                bare.append(time.perf_counter() - started)
                started = time.perf_counter()
                client.generate({**PARAMS, "seed": run}, timeout=60)
                warm.append(time.perf_counter() - started)
    finally:
        daemon.stop()
    res = {"bare_ms": percentile(bare, 50) * 1e3, "daemon_ms": percentile(warm, 50) * 1e3}
    print(f"time to file, synth 10 s loop (4 bars at 96 bpm), median of {runs}:")
    print(f"  render + bare soundfile.write : {res['bare_ms']:.1f} ms")
    print(f"  warm daemon generate -> done  : {res['daemon_ms']:.1f} ms "
          f"({res['daemon_ms'] / res['bare_ms']:.2f}x, {res['daemon_ms'] - res['bare_ms']:.0f} ms added)")
    return res


def rows(res: dict[str, float]) -> list[Row]:
    beside = f"render + sf.write {res['bare_ms']:.1f} ms"
    return [Row("time to file", "synth 10 s loop: generate -> done", res["daemon_ms"], "ms", beside=beside),
            Row("time to file", "  ratio to the bare render + write", res["daemon_ms"] / res["bare_ms"], "x",
                beside=beside)]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    main(parser.parse_args().runs)
