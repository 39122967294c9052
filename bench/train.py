"""Training figures: seconds per step and peak memory for each kind, with projected minutes per
1,000 steps, next to the memory preflight's estimate for the same run.

    .venv/bin/python bench/train.py                        # tiny models (the trainer tests' ones), CPU
    .venv/bin/python bench/train.py --size sao-small       # a Stable Audio Open Small-sized model, LoRA and full
    .venv/bin/python bench/train.py --kinds stable-audio-lora --steps 5 --batch-size 2 --seconds 1

Each kind runs in its own process, so a peak is that run's alone: the peak RSS of the timed steps
on the CPU (VmHWM reset after the warm-up step), torch.cuda.max_memory_allocated on CUDA; "run" is
that peak less the RSS after the imports (Python, torch, the library). The first step is not
timed (allocations, lazy init).

`--size sao-small` builds random weights in the shape of stabilityai/stable-audio-open-small as
far as the field notes and the library's defaults tell it (assumed, not read from the published
file): a DiT of width 1024, 16 layers, 8 heads, 64 latent channels, rf_denoiser objective, T5-base
(768) cross-attention tokens and one seconds_total number conditioner; SAO 1.0's Oobleck VAE
(128 channels, c_mults 1-2-4-8-16, strides 2-4-4-8-8: 2048x downsampling); window 524288 frames
(11.9 s). The T5 encoder is the tests' tiny 768-wide one: it runs under no_grad once per step, so
its size changes the step time a little and the trained memory not at all.
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

KINDS = ("dance-diffusion", "dance-diffusion-lora", "stable-audio", "stable-audio-lora")
SMALL_KINDS = ("stable-audio-lora", "stable-audio")


def sao_small_config() -> dict:
    from tests.server.backends.stable_audio_tiny import sao_config

    config = sao_config("rf_denoiser")
    config["sample_size"] = 524288
    pre = config["model"]["pretransform"]["config"]
    for part in ("encoder", "decoder"):
        pre[part]["config"].update(channels=128, c_mults=[1, 2, 4, 8, 16], strides=[2, 4, 4, 8, 8])
    pre["encoder"]["config"]["latent_dim"], pre["decoder"]["config"]["latent_dim"] = 128, 64
    pre.update(latent_dim=64, downsampling_ratio=2048)
    dit = config["model"]["diffusion"]["config"]
    dit.update(io_channels=64, embed_dim=1024, depth=16, num_heads=8, cond_token_dim=768, global_cond_dim=768)
    config["model"]["io_channels"] = 64
    for entry in config["model"]["conditioning"]["configs"]:
        if entry["type"] == "t5":
            entry["config"]["max_length"] = 64
    return config


def _rss_now() -> int:
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * resource.getpagesize()
    except OSError:  # not Linux: count from zero
        return 0


def _reset_rss_peak() -> bool:
    """Linux: writing 5 to clear_refs resets the peak RSS (VmHWM), so the peak is the timed steps'
    alone, not the model build's transients. Elsewhere ru_maxrss (the process's peak) is used."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def _rss_peak(reset: bool) -> int:
    if reset:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def one(args: argparse.Namespace) -> dict:
    """One kind in this process: build, warm up, time `steps` steps, report."""
    import numpy as np
    import torch

    from server.backends.stable_audio.imports import import_library
    from server.backends.stable_audio.model import build_from_config
    from server.backends.torch_util import pick_device
    from server.training import loop, models, preflight
    from server.training.settings import Settings
    from tests.server.backends.stable_audio_tiny import build_model, tiny_models
    from tests.server.training.tiny_runs import dance_config, kicks

    import_library()
    torch.set_num_threads(args.threads)
    baseline = _rss_now()  # Python, torch and the library: not the run's
    device = pick_device(args.device)
    tmp = Path(args.tmp)
    tiny = tiny_models(tmp)
    dd = args.kind.startswith("dance")
    seconds = args.seconds or (0.256 if dd and args.size == "tiny" else 0.75 if args.size == "tiny" else 524288 / 44100)
    settings = Settings(kind=args.kind, steps=args.steps + 1, batch_size=args.batch_size, seconds=seconds,
                        save_every=10**6, lora_rank=args.rank)
    if args.size == "sao-small":
        config = sao_small_config()
        files = models.files_from_config(config, tmp / "sao-small", str(tiny["t5"]))
        torch.manual_seed(0)
        wrapper = build_from_config(config, files.t5_folder)
        shape = preflight.shape_of_model(wrapper, config)
        trainee = models.prepare(settings, wrapper, files, models.Base("sao-small-random", None, None, None), device)
    else:
        if dd:
            base = tmp / "train-dance"
            if not (base / "model.safetensors").is_file():
                build_model(base, dance_config(), None, seed=5)
        else:
            base = tiny["sao"]
        trainee = models.load(settings, str(base), str(tiny["t5"]), device)
        shape = preflight.shape_of_files(trainee.files.config, trainee.files.weights)
    need = preflight.estimate(shape, settings, device)
    rate = trainee.files.sample_rate
    batch = kicks(settings.batch_size, seconds, rate)
    prompts = ["deep techno kick"] * settings.batch_size
    run = loop.open_run(trainee, tmp / f"run-{args.kind}")
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    loop.train(run, lambda i: (batch, prompts), steps=1)  # warm-up, not timed
    if device.startswith("cuda"):
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    reset = _reset_rss_peak()
    started = time.perf_counter()
    loop.train(run, lambda i: (batch, prompts), steps=1 + args.steps, save_every=10**6)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    per_step = (time.perf_counter() - started) / args.steps
    peak = torch.cuda.max_memory_allocated() if device.startswith("cuda") else _rss_peak(reset)
    trained = sum(p.numel() for p in trainee.parameters())
    return {"kind": args.kind, "device": device, "precision": run.precision, "params": shape.total_params,
            "trained": trained, "batch": settings.batch_size, "seconds": round(seconds, 3), "s_per_step": per_step,
            "peak_bytes": peak, "over_imports": peak - (0 if device.startswith("cuda") else baseline),
            "estimate_bytes": need.total, "min_per_1000": per_step * 1000 / 60,
            "last_loss": float(np.mean([v for _, v in run.losses[-args.steps:]]))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", choices=("tiny", "sao-small"), default="tiny")
    parser.add_argument("--kinds", nargs="*", default=None)
    parser.add_argument("--steps", type=int, default=None, help="timed steps (default 5 tiny, 2 sao-small)")
    parser.add_argument("--batch-size", type=int, default=None, help="default 2 tiny, 1 sao-small")
    parser.add_argument("--seconds", type=float, default=None, help="default: 0.256 s DD / 0.75 s SAO tiny, 11.9 s small")
    parser.add_argument("--rank", type=int, default=16)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--one", default="", help=argparse.SUPPRESS)
    parser.add_argument("--tmp", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    small = args.size == "sao-small"
    args.steps = args.steps or (2 if small else 5)
    args.batch_size = args.batch_size or (1 if small else 2)
    if args.one:
        args.kind = args.one
        print("RESULT " + json.dumps(one(args)))
        return
    kinds = args.kinds or (SMALL_KINDS if small else KINDS)
    print(f"training, {args.size} models ({args.steps} timed steps each, {args.threads} torch thread(s))")
    print(f"{'kind':<22} {'device':<6} {'prec':<5} {'params':>9} {'trained':>9} {'batch x s':>10} {'s/step':>8} "
          f"{'peak':>9} {'run':>9} {'estimate':>9} {'min/1k steps':>12}")
    with tempfile.TemporaryDirectory(prefix="dawgen-bench-train-") as tmp:
        for kind in kinds:
            command = [sys.executable, __file__, "--one", kind, "--tmp", tmp, "--size", args.size, "--steps",
                       str(args.steps), "--batch-size", str(args.batch_size), "--rank", str(args.rank), "--device",
                       args.device, "--threads", str(args.threads)] + (["--seconds", str(args.seconds)] if args.seconds else [])
            out = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
            lines = [line for line in out.stdout.splitlines() if line.startswith("RESULT ")]
            if out.returncode != 0 or not lines:
                print(f"{kind:<22} failed: {out.stderr.strip().splitlines()[-1:] or out.returncode}")
                continue
            r = json.loads(lines[-1][len("RESULT "):])
            print(f"{r['kind']:<22} {r['device']:<6} {r['precision']:<5} {r['params'] / 1e6:>8.2f}M {r['trained'] / 1e6:>8.3f}M "
                  f"{r['batch']:>3} x {r['seconds']:<5g} {r['s_per_step']:>8.3f} {r['peak_bytes'] / 2**30:>7.2f}GB "
                  f"{r['over_imports'] / 2**30:>7.2f}GB "
                  f"{r['estimate_bytes'] / 2**30:>7.2f}GB {r['min_per_1000']:>12.1f}")
    print("peak: RSS of the process during the timed steps on CPU (Python, torch and the library included), allocated "
          "memory on CUDA; run: the peak less the RSS after the imports (CPU); estimate: server/training/preflight.py")


if __name__ == "__main__":
    main()
