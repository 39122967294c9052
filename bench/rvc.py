"""Voice conversion (`rvc` backend, verb `convert`) on CPU: seconds per audio-second and peak memory.

Each size runs in its own process (peak RSS is the process's): `tiny` is the test models
(tests/server/backends/rvc_tiny.py); `real` has the published shapes with random weights: a v2 40k
voice (RVC's configs/v2/40k.json), HuBERT base (12 layers, 768 wide, as ContentVec) and RMVPE
(4 blocks, 1 GRU, 16 channels). Times are medians of warm runs of `convert` on a sung tone, with
`f0_method=rmvpe` and, in the same process, `f0_method=pm` (no pitch network) beside it.
    .venv/bin/python bench/rvc.py [--sizes tiny,real] [--seconds 10] [--runs 3]
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import REPO
from table import Row

sys.path.insert(0, str(REPO))

REAL_VOICE = [1025, 32, 192, 192, 768, 2, 6, 3, 0, "1", [3, 7, 11], [[1, 3, 5], [1, 3, 5], [1, 3, 5]],
              [10, 10, 2, 2], 512, [16, 16, 4, 4], 109, 256, 40000]


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make(root: Path, size: str) -> dict[str, Path]:
    from tests.server.backends import rvc_tiny

    if size == "tiny":
        return rvc_tiny.make_model(root)
    import torch
    from transformers import HubertConfig, HubertModel

    rvc_tiny.save_voice(root / "voices" / "alice.pth", REAL_VOICE, audible_f0=False)
    torch.manual_seed(0)
    HubertModel(HubertConfig(classifier_proj_size=256)).save_pretrained(root / "hubert")
    rvc_tiny.save_rmvpe(root / "rmvpe.pt", n_blocks=4, n_gru=1, en_de_layers=5, inter_layers=4, en_out_channels=16)
    return {"hubert": root / "hubert", "rmvpe": root / "rmvpe.pt", "voices_dir": root / "voices"}


def child(size: str, seconds: float, runs: int) -> dict:
    """Measure one size in this process."""
    import soundfile as sf

    from server.backends.base import RunContext
    from server.backends.rvc import RvcBackend
    from tests.server.backends import rvc_tiny

    with tempfile.TemporaryDirectory() as tmp:
        files = make(Path(tmp), size)
        before = peak_mb()
        backend = RvcBackend("rvc", {**{k: str(v) for k, v in files.items()}, "device": "cpu"})
        backend.load()
        take = Path(tmp) / "take.wav"
        sf.write(take, rvc_tiny.sung_tone(seconds, 44100), 44100)
        out = {}
        for method in ("rmvpe", "pm"):
            params = {"input": str(take), "voice": "alice", "index_rate": 0.0, "f0_method": method}
            backend.run("convert", RunContext(params))  # warm: first-call kernel setup
            times = []
            for _ in range(runs):
                started = time.perf_counter()
                backend.run("convert", RunContext(params))
                times.append(time.perf_counter() - started)
            out[method] = sorted(times)[len(times) // 2] / seconds
        return {"size": size, "per_second": out, "peak_mb": peak_mb(), "before_load_mb": before}


def main(sizes: tuple[str, ...] = ("tiny", "real"), seconds: float = 10.0, runs: int = 3) -> list[dict]:
    results = []
    for size in sizes:
        proc = subprocess.run([sys.executable, __file__, "--child", size, "--seconds", str(seconds),
                               "--runs", str(runs)], cwd=REPO, capture_output=True, text=True, check=True)
        results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    return results


def rows(results: list[dict]) -> list[Row]:
    out = []
    for r in results:
        rmvpe, pm = r["per_second"]["rmvpe"], r["per_second"]["pm"]
        out.append(Row("rvc", f"{r['size']}: convert, seconds per audio-second (f0 rmvpe)", rmvpe, "s",
                       beside=f"f0 pm: {pm:.3f} s"))
        out.append(Row("rvc", f"{r['size']}: peak memory of the model process", r["peak_mb"], "MB",
                       beside=f"before loading: {r['before_load_mb']:.0f} MB"))
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="tiny,real")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.seconds, args.runs)))
    else:
        from table import markdown

        print(markdown(rows(main(tuple(args.sizes.split(",")), args.seconds, args.runs))))
