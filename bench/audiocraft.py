"""audiocraft backend figures on tiny random-weight checkpoints (tests/server/backends/audiocraft_tiny.py).

1. Time to file: a warm daemon (tiny AudioGen loaded) against a cold process that imports
   audiocraft (as dawgen does: stand-ins for spacy, torchaudio's pure-Python parts), loads the same
   checkpoint with AudioGen.get_pretrained and generates once. Target: warm >= 20x faster.
2. Where CUDA is present: MAGNeT against MusicGen at the same LM size (audiocraft's `small` scale,
   ~300M parameters, random weights, the debug EnCodec), 10 s of audio each: seconds of compute
   per second of audio. `--gpu-check` runs that part on the CPU with the `xsmall` scale, to check it
   without a GPU.

    .venv/bin/python bench/audiocraft.py [--seconds 1.0] [--runs 5] [--gpu-check]
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

# This file is bench/audiocraft.py: with bench/ on sys.path, `import audiocraft` would find it
# instead of the library. The library wins; _common is already imported.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(REPO))

COLD = """
import sys, time
sys.path.insert(0, '.')
from server.backends.audiocraft.imports import import_library
import_library()
import soundfile as sf, torch
from audiocraft.models import AudioGen
folder, out, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
torch.set_num_threads(max(1, torch.get_num_threads() // 2))  # as the backend does
model = AudioGen.get_pretrained(folder, device="cpu")
model.set_generation_params(duration=seconds)
wav = model.generate(["door slam"])
sf.write(out, wav[0, 0].numpy(), model.sample_rate)
"""


def cold_time_to_file(folder: Path, seconds: float, tmp: Path, run: int) -> float:
    out = tmp / f"cold-{run}.wav"
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", COLD, str(folder), str(out), str(seconds)], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=REPO)
    if not out.is_file():
        raise RuntimeError("the cold process wrote no file")
    return time.perf_counter() - started


def warm_times(port: int, seconds: float, runs: int) -> list[float]:
    from bridge.client import Client

    params = {"model": "sfx", "prompt": "door slam", "seconds": seconds}
    with Client("127.0.0.1", port) as client:
        client.generate({**params, "seed": 0}, timeout=300)  # the model is loaded and warm from here on
        times = []
        for run in range(runs):
            started = time.perf_counter()
            client.generate({**params, "seed": run + 1}, timeout=300)
            times.append(time.perf_counter() - started)
    return times


def per_audio_second(folder: Path, device: str, raw: dict, runs: int) -> tuple[float, float, float]:
    """(compute seconds per audio second (median), audio seconds, LM parameters in millions)."""
    from server.backends.audiocraft import AudiocraftBackend
    from server.backends.base import RunContext

    backend = AudiocraftBackend("bench", {"path": str(folder), "device": device})
    backend.load()
    params = {"prompt": "dark techno", "count": 1, **raw}
    backend.run("generate", RunContext({**params, "seed": 0}))  # warm-up
    times, audio = [], 0.0
    for run in range(runs):
        started = time.perf_counter()
        out = backend.run("generate", RunContext({**params, "seed": run + 1}))[0]
        times.append(time.perf_counter() - started)
        audio = out.frames / out.sample_rate
    size = sum(p.numel() for p in backend.model.lm.parameters()) / 1e6
    return statistics.median(times) / audio, audio, size


def magnet_vs_musicgen(tmp: Path, device: str, scale: str, seconds: int, runs: int) -> None:
    from tests.server.backends.audiocraft_tiny import build

    musicgen = build(tmp / f"musicgen-{scale}", "musicgen", scale=scale)
    magnet = build(tmp / f"magnet-{scale}", "magnet", window_s=seconds, scale=scale)
    mg = per_audio_second(musicgen, device, {"seconds": float(seconds), "temperature": 1.0, "top_k": 250,
                                             "top_p": 0.0, "guidance_scale": 3.0}, runs)
    mn = per_audio_second(magnet, device, {"decoding_steps": "20,10,10,10", "span_arrangement": "nonoverlap",
                                           "temperature": 3.0, "top_k": 0, "top_p": 0.9, "guidance_scale": 10.0,
                                           "min_guidance_scale": 1.0}, runs)
    print(f"  {scale} scale on {device}, {seconds} s of audio, {runs} runs (median):")
    print(f"    musicgen ({mg[2]:.1f}M LM params): {mg[0]:.3f} s per audio second")
    print(f"    magnet   ({mn[2]:.1f}M LM params, steps 20,10,10,10): {mn[0]:.3f} s per audio second")
    print(f"    magnet is {mg[0] / mn[0]:.1f}x faster per audio second")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="audio per request")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--gpu-check", action="store_true", help="run the MAGNeT vs MusicGen part on the CPU (xsmall)")
    args = parser.parse_args()
    import torch

    from tests.server.backends.audiocraft_tiny import build

    with tempfile.TemporaryDirectory(prefix="dawgen-bench-ac-") as name:
        tmp = Path(name)
        folder = build(tmp / "audiogen", "audiogen")
        print(f"audiocraft (tiny random-weight AudioGen, {args.seconds:g} s of audio, {args.runs} runs)")
        proc, port = serve(tmp, f'[models.sfx]\nbackend = "audiocraft"\npath = "{folder}"\npreload = true\n')
        try:
            warm = warm_times(port, args.seconds, args.runs)
        finally:
            proc.terminate()
            proc.wait(60)
        cold = [cold_time_to_file(folder, args.seconds, tmp, run) for run in range(max(1, args.runs // 2))]
        w, c = statistics.median(warm), statistics.median(cold)
        print(f"  time to file, warm daemon (OSC request -> /done): median {w * 1000:.0f} ms "
              f"(min {min(warm) * 1000:.0f}, max {max(warm) * 1000:.0f})")
        print(f"  time to file, cold process (start, import, load, generate, write): median {c:.2f} s")
        print(f"  warm is {c / w:.1f}x faster (target >= 20x)")
        if torch.cuda.is_available():
            magnet_vs_musicgen(tmp, "cuda", "small", 10, args.runs)
        elif args.gpu_check:
            magnet_vs_musicgen(tmp, "cpu", "xsmall", 2, 2)
        else:
            print("  no CUDA device: MAGNeT vs MusicGen per audio second was not measured (--gpu-check: on the CPU)")


if __name__ == "__main__":
    main()
