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


def measure(seconds: float = 2.0, steps: int = 8, runs: int = 3) -> dict[str, Any]:
    """Switch vs reload, and generation with 0, 1, 2 adapters, the labels measured in interleaved
    rounds (each round runs every label once; the best of `runs` rounds counts), so a busy machine
    disturbs them alike."""
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
        params = {"prompt": "dark techno", "seconds": seconds, "steps": steps, "seed": 1}

        def generate(lora: str | None) -> None:
            registry.backend("sao").run("generate", RunContext({**params, **({"lora": lora} if lora else {})}))

        def reload() -> None:
            registry.unload("sao")
            registry.backend("sao")

        reload_s = best_time(reload, runs)
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
        labels = {"0 adapters": [None], "1 adapter": ["a"], "2 adapters": ["a,b"], "1, alternating": ["a", "b"]}
        a, b = adapters["a"], adapters["b"]
        # the set in place before a label is timed: the same set again costs nothing (no merge), while
        # "alternating" starts on b, so each of its requests merges the other adapter in
        before = {"0 adapters": [], "1 adapter": [(a, 1.0)], "2 adapters": [(a, 1.0), (b, 1.0)],
                  "1, alternating": [(b, 1.0)]}
        gen: dict[str, float] = {}
        for _ in range(runs):
            for label, loras in labels.items():
                patcher.apply(before[label])
                took = best_time(lambda loras=loras: [generate(x) for x in loras], 1) / len(loras)
                gen[label] = min(gen.get(label, took), took)
        return {"params_m": sum(p.numel() for p in backend._loaded_model.model.model.parameters()) / 1e6,
                "reload_s": reload_s, "switch_s": switch_s, "first_s": first_s, "generate_s": gen,
                "memory_mb": patcher.bytes() / 1e6, "base_loads": backend.loads}


def rows(figures: dict[str, Any]) -> list[Any]:
    """The `make bench` table's rows (bench/table.py)."""
    from table import at_least, at_most

    gen, base = figures["generate_s"], figures["generate_s"]["0 adapters"]
    beside = f"reload the base {figures['reload_s'] * 1000:.0f} ms"
    out = [at_least("lora", "switch adapters: faster than reloading the base", figures["reload_s"] / figures["switch_s"],
                    "x", 10.0, beside)]
    for label, figure in (("1 adapter", "generate with 1 adapter"), ("2 adapters", "generate with 2 adapters"),
                          ("1, alternating", "generate, adapter changed every request")):
        out.append(at_most("lora", f"{figure}: slowdown", gen[label] / base, "x", 1.1, f"0 adapters {base:.2f} s"))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    f = measure(args.seconds, args.steps, args.runs)
    reload_s, switch_s = f["reload_s"], f["switch_s"]
    print(f"LoRA on a {f['params_m']:.1f} M-parameter diffusion network, rank 16, 2 threads")
    print(f"reload the base        {reload_s * 1000:8.1f} ms")
    print(f"switch adapters        {switch_s * 1000:8.1f} ms   ({reload_s / switch_s:.0f}x faster than a reload)")
    print(f"first use (file read)  {f['first_s'] * 1000:8.1f} ms")
    base = f["generate_s"]["0 adapters"]
    for label, seconds in f["generate_s"].items():
        print(f"generate, {label:14s} {seconds:6.2f} s   ({seconds / base:.2f}x the base)")
    print(f"adapter memory (cache + originals) {f['memory_mb']:.1f} MB; base loads: {f['base_loads']}")


if __name__ == "__main__":
    main()
