"""LoRA adapter figures on a small Stable Audio Open-shaped model built from config (random weights;
a DiT of 8 layers 384 wide, ~10x the test-tiny one) with rank-16 adapters on every Linear layer of
its diffusion network, written by stable-audio-tools itself (tests/server/backends/lora_tiny.py).

1. Switching adapters (restore the originals, merge the next set in place) against reloading the
   base model (what a daemon without merging would do per adapter change). Target: >= 10x faster.
2. Generation with 0, 1 and 2 adapters applied, the same set each request (merged weights cost
   nothing per step) and alternating sets (a merge per request). Target: slowdown <= 1.1x.

    .venv/bin/python bench/lora.py [--seconds 2.0] [--steps 8] [--runs 3]
"""
from __future__ import annotations

import argparse
import copy
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import _common  # noqa: F401 - puts the repository on sys.path


def best_time(fn: Callable[[], Any], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)  # the least disturbed run: the machine is shared


def build(tmp: Path) -> dict[str, Path]:
    from tests.server.backends import stable_audio_tiny as tiny
    from tests.server.backends.lora_tiny import sat_adapter

    t5 = tiny.build_t5(tmp / "t5")
    config = tiny.sao_config("v")
    config["model"]["diffusion"]["config"].update(embed_dim=384, depth=8, num_heads=6)
    base = tiny.build_model(tmp / "sao", copy.deepcopy(config), t5, seed=0)
    adapters = {name: sat_adapter(base, tmp / f"{name}.safetensors", seed, rank=16, alpha=16.0, t5=t5)
                for name, seed in (("a", 1), ("b", 2))}
    return {"t5": t5, "sao": base, **adapters}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    import torch

    from server.backends.base import RunContext
    from server.config import parse
    from server.registry import Registry

    torch.set_num_threads(2)
    with tempfile.TemporaryDirectory(prefix="dawgen-bench-lora-") as name:
        files = build(Path(name))
        registry = Registry(parse({
            "models": {"sao": {"backend": "stable-audio", "path": str(files["sao"]), "t5_path": str(files["t5"]),
                               "device": "cpu", "threads": 2}},
            "loras": {n: {"path": str(files[n]), "base": "sao"} for n in ("a", "b")}}))
        backend = registry.backend("sao")
        params = {"prompt": "dark techno", "seconds": args.seconds, "steps": args.steps, "seed": 1}

        def generate(lora: str | None) -> None:
            backend.run("generate", RunContext({**params, **({"lora": lora} if lora else {})}))

        def reload() -> None:
            registry.unload("sao")
            registry.backend("sao")

        reload_s = best_time(reload, args.runs)
        backend = registry.backend("sao")
        adapters = registry.adapters.all()
        patcher = backend._patcher
        started = time.perf_counter()
        patcher.apply([(adapters["a"], 1.0)])  # the first use reads the file
        first_s = time.perf_counter() - started
        patcher.apply([(adapters["b"], 1.0)])
        flip = iter([adapters["a"], adapters["b"]] * 50)
        switch_s = best_time(lambda: patcher.apply([(next(flip), 1.0)]), 10)
        patcher.apply([])
        generate(None)  # the first generation in a process pays one-off costs
        gen = {label: best_time(lambda lora=lora: generate(lora), args.runs)
               for label, lora in (("0 adapters", None), ("1 adapter", "a"), ("2 adapters", "a,b"))}
        alternate = iter(["a", "b"] * 50)
        gen["1, alternating"] = best_time(lambda: generate(next(alternate)), args.runs)
        params_m = sum(p.numel() for p in backend._loaded_model.model.model.parameters()) / 1e6
        print(f"LoRA on a {params_m:.1f} M-parameter diffusion network, rank 16, {torch.get_num_threads()} threads")
        print(f"reload the base        {reload_s * 1000:8.1f} ms")
        print(f"switch adapters        {switch_s * 1000:8.1f} ms   ({reload_s / switch_s:.0f}x faster than a reload)")
        print(f"first use (file read)  {first_s * 1000:8.1f} ms")
        base = gen["0 adapters"]
        for label, seconds in gen.items():
            print(f"generate, {label:14s} {seconds:6.2f} s   ({seconds / base:.2f}x the base)")
        print(f"adapter memory (cache + originals) {backend._patcher.bytes() / 1e6:.1f} MB; base loads: {backend.loads}")


if __name__ == "__main__":
    main()
