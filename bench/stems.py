"""Stems on CPU (or the lent GPU with --device cuda): RoFormer against demucs on the same file, in one run.

Seconds per minute of audio and peak memory (RSS, plus CUDA peak when on a GPU) of each backend's
`separate` (backend.run: chunked/segmented, bounded memory), every model with random weights saved
in its published format (demucs' repo layout; MSST .ckpt + .yaml) and loaded through the user path:
  demucs-tiny / demucs-default   - HTDemucs, 314k / 26.9M parameters (bench/demucs.py's models)
  bs-tiny / bs-real              - BS-RoFormer, tiny / MSST's vocals config size (dim 512, depth 12)
  mel-tiny / mel-real            - Mel-Band RoFormer, tiny / dim 384, depth 6, 60 bands
Each runs in a fresh process (so its peak RSS is its own), after one warm-up run on 5 s.
    .venv/bin/python bench/stems.py                         # tiny models, 1 min of audio
    .venv/bin/python bench/stems.py --sizes tiny real --minutes 0.25
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

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(REPO))

from tests.server.backends import roformer_tiny  # noqa: E402

BS_REAL = dict(dim=512, depth=12, stereo=True, num_stems=1, time_transformer_depth=1, freq_transformer_depth=1,
               dim_head=64, heads=8, flash_attn=True, mask_estimator_depth=2, stft_n_fft=2048, stft_hop_length=441,
               stft_win_length=2048)
MEL_REAL = dict(dim=384, depth=6, stereo=True, num_stems=1, time_transformer_depth=1, freq_transformer_depth=1,
                num_bands=60, dim_head=64, heads=8, sample_rate=44100, flash_attn=True, mask_estimator_depth=2,
                stft_n_fft=2048, stft_hop_length=441, stft_win_length=2048)


def build_all(folder: Path, sizes: list[str]) -> dict[str, dict]:
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_demucs", REPO / "bench" / "demucs.py")
    bench_demucs = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench_demucs)
    repo = bench_demucs.make_repo(folder / "demucs")
    out: dict[str, dict] = {}
    for size in sizes:
        demucs_name = "tiny" if size == "tiny" else "default"
        out[f"demucs-{size}"] = {"backend": "demucs", "path": str(repo), "name": demucs_name}
        bs, mel = (roformer_tiny.BS_TINY, roformer_tiny.MEL_TINY) if size == "tiny" else (BS_REAL, MEL_REAL)
        chunk = 44032 if size == "tiny" else 352800  # MSST's 8 s chunk (800 hops of 441)
        bs_ckpt = roformer_tiny.save(folder / "roformer", f"bs-{size}", "bs_roformer", bs, ["vocals", "other"],
                                     "vocals", chunk=chunk, num_overlap=2)
        mel_instruments = ["bass", "drums"] if size == "tiny" else ["vocals", "other"]
        mel_target = None if size == "tiny" else "vocals"
        mel_ckpt = roformer_tiny.save(folder / "roformer", f"mel-{size}", "mel_band_roformer", mel, mel_instruments,
                                      mel_target, chunk=chunk, num_overlap=2)
        out[f"bs-{size}"] = {"backend": "roformer", "path": str(bs_ckpt), "model_type": "bs_roformer"}
        out[f"mel-{size}"] = {"backend": "roformer", "path": str(mel_ckpt), "model_type": "mel_band_roformer"}
    return out


def measure(options: dict, song: str, warm: str, device: str) -> dict:
    """In a fresh process: load, one warm-up run, then the timed run."""
    from server.backends import backend_class
    from server.backends.base import RunContext

    backend = backend_class(options["backend"])("bench", {**options, "device": device})
    backend.check_available()
    started = time.perf_counter()
    backend.load()
    load = time.perf_counter() - started
    backend.run("separate", RunContext({"input": warm}))
    started = time.perf_counter()
    out = backend.run("separate", RunContext({"input": song}))
    seconds = time.perf_counter() - started
    result = {"load_s": round(load, 2), "run_s": round(seconds, 2), "stems": len(out),
              "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}
    if device.startswith("cuda"):
        import torch

        result["cuda_peak_mb"] = round(torch.cuda.max_memory_allocated() / 2**20)
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", nargs="+", default=["tiny"], choices=["tiny", "real"])
    parser.add_argument("--minutes", type=float, default=1.0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--only", nargs="*", help="model names to run (default: all)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        job = json.loads(args.child)
        print(json.dumps(measure(job["options"], job["song"], job["warm"], args.device)))
        return
    with tempfile.TemporaryDirectory(prefix="dawgen-bench-stems-") as tmp:
        folder = Path(tmp)
        import importlib.util

        spec = importlib.util.spec_from_file_location("bench_demucs", REPO / "bench" / "demucs.py")
        bench_demucs = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(bench_demucs)
        song = bench_demucs.make_song(folder / "song.wav", args.minutes)
        warm = bench_demucs.make_song(folder / "warm.wav", 5 / 60)
        models = build_all(folder, args.sizes)
        print(f"{args.minutes:g} min of 44.1 kHz stereo on {args.device}; seconds per minute of audio, peak memory")
        print(f"{'model':16} {'params':>8} {'load s':>7} {'s/min':>8} {'peak RSS MB':>12} {'CUDA MB':>8}")
        for name, options in models.items():
            if args.only and name not in args.only:
                continue
            job = json.dumps({"options": options, "song": str(song), "warm": str(warm)})
            done = subprocess.run([sys.executable, __file__, "--device", args.device, "--child", job],
                                  capture_output=True, text=True, cwd=REPO)
            if done.returncode:
                print(f"{name:16} failed: {done.stderr.strip().splitlines()[-1:]}")
                continue
            r = json.loads(done.stdout.strip().splitlines()[-1])
            print(f"{name:16} {params(options):>8} {r['load_s']:>7} {r['run_s'] / args.minutes:>8.2f} "
                  f"{r['peak_rss_mb']:>12} {r.get('cuda_peak_mb', '-'):>8}", flush=True)


def params(options: dict) -> str:
    from server.backends import backend_class

    backend = backend_class(options["backend"])("count", {**options, "device": "cpu"})
    backend.load()
    n = sum(p.numel() for p in backend.model.parameters())
    return f"{n / 1e6:.1f}M" if n >= 1e5 else f"{n / 1e3:.0f}k"


if __name__ == "__main__":
    main()
