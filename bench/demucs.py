"""Stems on CPU: seconds per minute of audio and peak memory, tiny and default-size HTDemucs (random
weights, saved in demucs' format), three ways on the same file:
  direct  - demucs' apply_model on the whole track in one process (what demucs' own CLI does:
            read, normalise, apply_model(split=True, shifts=1, overlap=0.25), denormalise, write the
            4 stems as 24-bit WAV);
  backend - dawgen's DemucsBackend.run and its file writer in one process (segment by segment,
            bounded memory);
  daemon  - a `separate` request over OSC to a real `dawgen serve`, submit -> done, files written.
The daemon's overhead is its time against `direct`'s (target <= 5 %). Each way runs in a fresh
process (the daemon's model process for `daemon`), whose peak RSS is reported; times are medians of
`--repeat` interleaved runs, wall clock: the fastest (the least disturbed by other work on the
machine, which the overhead compares) and the median.
    .venv/bin/python bench/demucs.py                      # tiny 1 and 10 min, default-size 1 min
    .venv/bin/python bench/demucs.py --sizes default --minutes 10 --ways backend
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import REPO, serve

# This file is bench/demucs.py: with bench/ on sys.path, `import demucs` would find it instead of
# the library. The library wins; _common is already imported.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(REPO))

from tests.server.backends import demucs_tiny  # noqa: E402

RATE = 44100


def make_repo(folder: Path) -> Path:
    from fractions import Fraction

    demucs_tiny.save(demucs_tiny.build(demucs_tiny.SOURCES4, seed=1), folder, "a1b2c3d4")
    # the default HTDemucs constructor: 26.9M parameters; htdemucs' own segment, 7.8 s
    default = demucs_tiny.build(demucs_tiny.SOURCES4, seed=2, channels=48, t_layers=5, t_heads=8,
                                t_hidden_scale=4.0, segment=Fraction(39, 5))
    demucs_tiny.save(default, folder, "955717e8")
    demucs_tiny.write_bag(folder, "tiny", ["a1b2c3d4"])
    demucs_tiny.write_bag(folder, "default", ["955717e8"])
    return folder


def make_song(path: Path, minutes: float) -> Path:
    import numpy as np
    import soundfile as sf

    piece = demucs_tiny.music(10.0)
    reps = int(np.ceil(minutes * 6))
    noise = np.random.default_rng(0).standard_normal((reps * len(piece), 2)).astype(np.float32) * 0.01
    sf.write(path, (np.tile(piece, (reps, 1)) + noise)[: int(minutes * 60 * RATE)], RATE, subtype="PCM_16")
    return path


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# -- the ways, each run in its own process ----------------------------------------------------------
def way_direct(repo: str, name: str, song: str) -> dict:
    import random

    import soundfile as sf
    import torch
    from demucs.apply import apply_model
    from demucs.pretrained import get_model

    model = get_model(name, repo=Path(repo)).eval()
    with torch.inference_mode():  # the same warm-up the backend does on load
        for m in model.models:
            apply_model(m, torch.zeros(1, 2, int(m.samplerate * m.segment)), shifts=0, split=False)
    started = time.perf_counter()
    wav = torch.from_numpy(sf.read(song, dtype="float32", always_2d=True)[0].T.copy())
    ref = wav.mean(0)
    mean, std = ref.mean(), ref.std() + 1e-8
    random.seed(0)
    with torch.inference_mode():
        out = apply_model(model, ((wav - mean) / std)[None], shifts=1, split=True, overlap=0.25)
    out = (out * std + mean)[0]
    with tempfile.TemporaryDirectory() as tmp:  # demucs' CLI writes its stems too (24-bit here, as dawgen)
        for name, stem in zip(model.sources, out):
            sf.write(f"{tmp}/{name}.wav", stem.numpy().T, RATE, subtype="PCM_24")
    return {"seconds": time.perf_counter() - started, "peak_mb": peak_mb()}


def way_backend(repo: str, name: str, song: str) -> dict:
    from server.backends.base import RunContext
    from server.backends.demucs import DemucsBackend
    from server.jobs import Job
    from server.output.writer import OutputWriter
    from server.post._kernels import warm_up

    backend = DemucsBackend("bench", {"path": repo, "name": name, "device": "cpu"})
    backend.check_available()
    backend.load()
    warm_up()  # the writer's compiled loops, as the daemon's model process loads them at its start
    params = {"input": song, "bit_depth": "24", "format": "wav", "dir": "stems"}
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        outputs = backend.run("separate", RunContext(params))
        OutputWriter([tmp]).write_job(Job(id=Job.new_id(), verb="separate", model="bench", params=params), outputs, {})
        seconds = time.perf_counter() - started
    assert len(outputs) == 4
    return {"seconds": seconds, "peak_mb": peak_mb()}


def way_daemon(repo: str, name: str, song: str) -> dict:
    from bridge.client import Client

    with tempfile.TemporaryDirectory(prefix="dawgen-bench-") as tmp:
        proc, port = serve(Path(tmp), f'[models.stems]\nbackend = "demucs"\npath = "{repo}"\nname = "{name}"\n'
                                      'device = "cpu"\n')
        try:
            warm = Path(tmp) / "warm.wav"
            make_song(warm, 0.1)
            with Client("127.0.0.1", port) as client:
                client.generate({"model": "stems", "input": str(warm)}, verb="separate", timeout=600)  # loads
                started = time.perf_counter()
                # The same files as `direct` writes (the input's 44.1 kHz, 24-bit): the daemon's default
                # output rate (48 kHz, the project's) would add a VHQ conversion of every stem, which
                # is work of its own (bench/post.py's resample row), not the daemon's overhead.
                client.generate({"model": "stems", "input": song, "sample_rate": RATE}, verb="separate", timeout=7200)
                seconds = time.perf_counter() - started
            return {"seconds": seconds, "peak_mb": max(map(_peak_mb_of, _children(proc.pid)))}
        finally:
            proc.terminate()
            proc.wait(60)


def _stat(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()  # fields 3.. of proc(5)


def _children(pid: int) -> list[int]:
    """The daemon's child processes (its model process, multiprocessing's resource tracker)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(_stat(int(stat.parent.name))[1]) == pid:  # field 4: the parent's pid
                out.append(int(stat.parent.name))
        except (OSError, IndexError, ValueError):
            continue
    return out


def _peak_mb_of(pid: int) -> float:
    """VmHWM: the process's peak resident memory."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


WAYS = {"direct": way_direct, "backend": way_backend, "daemon": way_daemon}


def measure(way: str, repo: Path, name: str, song: Path) -> dict:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    out = subprocess.run([sys.executable, __file__, "--worker", way, str(repo), name, str(song)],
                         cwd=REPO / "bench", env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def median_run(ways, repo: Path, size: str, song: Path, repeat: int) -> dict:
    """Each way `repeat` times, interleaved (the machine's load drifts); the median time and the
    largest peak."""
    runs: dict[str, list[dict]] = {way: [] for way in ways}
    for _ in range(repeat):
        for way in ways:
            runs[way].append(measure(way, repo, size, song))
    return {way: {"seconds": min(r["seconds"] for r in rs), "median": _median([r["seconds"] for r in rs]),
                  "peak_mb": max(r["peak_mb"] for r in rs),
                  "all_seconds": [round(r["seconds"], 2) for r in rs]} for way, rs in runs.items()}


def _median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


def main(sizes=("tiny", "default"), minutes=None, ways=("direct", "backend", "daemon"), repeat: int = 3) -> dict:
    plan = [(size, m) for size in sizes for m in (minutes or ((1.0, 10.0) if size == "tiny" else (1.0,)))]
    results = {}
    with tempfile.TemporaryDirectory(prefix="dawgen-bench-demucs-") as tmp:
        repo = make_repo(Path(tmp) / "repo")
        print(f"Stems on CPU ({os.cpu_count()} cores), 44.1 kHz stereo, shifts 1, overlap 0.25, 4 stems written")
        for size, mins in plan:
            song = make_song(Path(tmp) / f"song-{mins:g}min.wav", mins)
            row = median_run(ways, repo, size, song, repeat)
            results[(size, mins)] = row
            cells = "  ".join(f"{way} {r['seconds'] / mins:6.2f} s/min (median {r['median'] / mins:6.2f}) "
                              f"{r['peak_mb']:6.0f} MB" for way, r in row.items())
            line = f"  {size:7s} {mins:4g} min: {cells}"
            if "direct" in row and "daemon" in row:
                line += f"  daemon overhead {100 * (row['daemon']['seconds'] / row['direct']['seconds'] - 1):+.1f} %"
            print(line, flush=True)
            print("           runs (s): " + "  ".join(f"{way} {r['all_seconds']}" for way, r in row.items()), flush=True)
    return results


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        _, _, way, repo_, name_, song_ = sys.argv
        print(json.dumps(WAYS[way](repo_, name_, song_)))
        sys.exit(0)
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", nargs="+", default=["tiny", "default"], choices=["tiny", "default"])
    parser.add_argument("--minutes", nargs="+", type=float, default=None)
    parser.add_argument("--ways", nargs="+", default=list(WAYS), choices=list(WAYS))
    parser.add_argument("--repeat", type=int, default=3, help="runs of each way (median time)")
    args = parser.parse_args()
    main(tuple(args.sizes), tuple(args.minutes) if args.minutes else None, tuple(args.ways), args.repeat)
