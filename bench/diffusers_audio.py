"""diffusers backend figures on the tiny random-weight pipelines (tests/server/backends/diffusers_tiny.py):
seconds of compute per second of audio and peak memory, for AudioLDM2, MusicLDM and Stable Audio Open,
beside the tiny MusicGen (the musicgen backend) measured the same way in the same run.

Each model runs in its own process (so its peak resident memory is its own): it loads through the
backend, makes one warm-up request, then `runs` requests of `seconds` audio (`steps` denoising steps
for the diffusion pipelines; MusicGen decodes 50 steps per second of audio). Reported, no targets:
tiny random models measure the backend's overhead and scaling, not the real models' speed.
(Named diffusers_audio.py: a bench/diffusers.py would shadow the diffusers package on sys.path.)

    .venv/bin/python bench/diffusers_audio.py [--seconds 2.0] [--steps 10] [--runs 3]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import REPO
from table import Row

CHILD = """
import json, resource, statistics, sys, time
sys.path.insert(0, sys.argv[1])
kind, path, seconds, steps, runs = sys.argv[2], sys.argv[3], float(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
from server.backends.base import RunContext
from server.params import validate
if kind == "musicgen":
    from server.backends.musicgen import MusicgenBackend as B
    extra = {}
else:
    from server.backends.diffusers import DiffusersBackend as B
    extra = {"steps": steps}
b = B(kind, {"path": path, "device": "cpu", "threads": 1})
b.check_available()
started = time.perf_counter()
b.load()
load_s = time.perf_counter() - started
def once(seed):
    params = validate(b.verbs["generate"], {"prompt": "warm analog pad", "seconds": seconds, "seed": seed, **extra},
                      "generate")
    started = time.perf_counter()
    b.run("generate", RunContext(params))
    return time.perf_counter() - started
once(0)
times = [once(i + 1) for i in range(runs)]
print(json.dumps({"load_s": load_s, "per_audio_s": statistics.median(times) / seconds,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def measure(kind: str, path: Path, seconds: float, steps: int, runs: int) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", CHILD, str(REPO), kind, str(path), str(seconds), str(steps), str(runs)],
                         cwd=REPO, capture_output=True, text=True, check=True, timeout=900,
                         env={**__import__("os").environ, "HF_HUB_OFFLINE": "1"})
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(seconds: float = 2.0, steps: int = 10, runs: int = 3) -> dict[str, dict[str, float]]:
    from tests.server.backends.diffusers_tiny import tiny_models
    from tests.server.backends.musicgen_tiny import tiny_models as musicgen_models

    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="dawgen-bench-diffusers-") as name:
        tmp = Path(name)
        models = tiny_models(tmp)
        for kind in ("audioldm2", "musicldm", "stable-audio"):
            results[kind] = measure(kind, models[kind], min(seconds, 2.0), steps, runs)  # SAO's tiny window: 2.048 s
        results["musicgen"] = measure("musicgen", musicgen_models(tmp)["musicgen"], seconds, steps, runs)
    print(f"diffusers tiny pipelines, {steps} steps, median of {runs} (1 CPU thread each), beside tiny MusicGen:")
    for kind, r in results.items():
        print(f"  {kind:13s} {r['per_audio_s']:.3f} s per audio-second, peak RSS {r['peak_mb']:.0f} MB, "
              f"load {r['load_s']:.1f} s")
    return results


def rows(res: dict[str, dict[str, float]]) -> list[Row]:
    beside = f"tiny MusicGen {res['musicgen']['per_audio_s']:.3f} s/s, {res['musicgen']['peak_mb']:.0f} MB"
    out = []
    for kind in ("audioldm2", "musicldm", "stable-audio"):
        r = res[kind]
        out.append(Row("diffusers", f"{kind}: s per audio-second (tiny, CPU)", r["per_audio_s"], "s", beside=beside))
        out.append(Row("diffusers", f"{kind}: peak memory (tiny, CPU)", r["peak_mb"], "MB", beside=beside))
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    cli = parser.parse_args()
    main(cli.seconds, cli.steps, cli.runs)
