"""Time to file: a warm daemon's `generate` -> `/dawgen/done` (the DAW-ready file and its sidecar in
the project folder) beside the bare call in this warm process, the model's own output plus a 24-bit
`soundfile.write`, measured in the same run, interleaved.

The difference is dawgen's own work per request: OSC, the job journal, the model process and the
pipe back, the DAW-ready chain and the atomic write. The synth (a 10 s loop, 4 bars at 96 bpm, the
default `generate` path) always; tiny random-weight stable-audio (2.5 s, SAO-Small shape) and
musicgen (1 s) models when their libraries are installed (demucs: bench/demucs.py's daemon vs direct).
    .venv/bin/python bench/time_to_file.py [--runs 10] [--synth-only]
    .venv/bin/python bench/time_to_file.py --sao-small cuda   # where a GPU is lent (target 1.3x)

`--sao-small DEVICE` measures only a Stable Audio Open Small-sized model (random weights in
bench/train.py's SAO Small shape, the tests' tiny T5) rendering 12 s (11.9 s: its window) on
DEVICE: on a GPU the model takes tens of ms, and dawgen's own work is what is left to see.
"""
from __future__ import annotations

import argparse
import importlib.util
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import soundfile as sf
from _common import Daemon, percentile
from pipeline import Case, engine, stable_audio_case
from table import Row, at_most

PARAMS = {"prompt": "drum loop", "bpm": 96, "bars": 4}


def synth_bare(tmp: Path) -> Callable[[int], None]:
    from server.backends.synth.render import render

    def bare(run: int) -> None:
        audio = render(PARAMS["prompt"], seed=run, bpm=PARAMS["bpm"], bars=PARAMS["bars"], sample_rate=48000)
        sf.write(tmp / f"{run}.wav", audio.samples, 48000, subtype="PCM_24")
    return bare


def backend_bare(case: Case, tmp: Path) -> Callable[[int], None]:
    """The model's run in this process (dawgen's backend around the library call) + a 24-bit write."""
    from server.backends.base import RunContext
    from server.jobs import Request

    eng = engine(case, tmp / "here", "immediate")
    eng.start(workers=False)
    backend = eng.registry.backend(case.params["model"])

    def bare(run: int) -> None:
        params = eng.prepare(Request("generate", {**case.params, "seed": run})).job.params
        audio = backend.run("generate", RunContext(params))[0]
        sf.write(tmp / f"{run}.wav", audio.samples, audio.sample_rate, subtype="PCM_24")
    return bare


def musicgen_case(tmp: Path) -> Case:
    from tests.server.backends.musicgen_tiny import build_musicgen

    folder = build_musicgen(tmp / "musicgen-tiny")
    return Case("musicgen tiny 1 s", {"model": "tiny", "prompt": "dark techno", "seconds": 1.0},
                f'[models.tiny]\nbackend = "musicgen"\npath = "{folder}"\npreload = true\n')


def sao_small_case(tmp: Path, device: str) -> Case:
    from train import sao_small_config

    from tests.server.backends.stable_audio_tiny import build_model, tiny_models

    t5 = tiny_models(tmp)["t5"]
    folder = build_model(tmp / "sao-small", sao_small_config(), t5, seed=7)
    return Case("stable-audio SAO Small-sized 12 s", {"model": "sao-small", "prompt": "dark techno", "seconds": 11.88},
                f'[models.sao-small]\nbackend = "stable-audio"\npath = "{folder}"\nt5_path = "{t5}"\n'
                f'device = "{device}"\npreload = true\n')


def measure(case: Case, bare: Callable[[int], None], runs: int) -> dict[str, float]:
    from bridge.client import Client

    daemon = Daemon(case.config)
    try:
        with Client("127.0.0.1", daemon.port) as client:
            client.generate({**case.params, "seed": 10_000}, timeout=600)  # warm: model loaded, pools started
            bare(10_000)
            bare_s, warm_s = [], []
            for run in range(runs):  # interleaved, so a noisy moment hits both sides alike
                started = time.perf_counter()
                bare(run)
                bare_s.append(time.perf_counter() - started)
                started = time.perf_counter()
                client.generate({**case.params, "seed": run}, timeout=600)
                warm_s.append(time.perf_counter() - started)
    finally:
        daemon.stop()
    return {"bare_ms": percentile(bare_s, 50) * 1e3, "daemon_ms": percentile(warm_s, 50) * 1e3}


def main(runs: int = 10, synth_only: bool = False, sao_small: str | None = None) -> dict[str, dict[str, float]]:
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="dawgen-bench-ttf-") as name:
        tmp = Path(name)
        cases: list[tuple[Case, Callable[[], Callable[[int], None]]]] = [
            (Case("synth 10 s loop", PARAMS), lambda: synth_bare(tmp))]
        if sao_small:
            big = sao_small_case(tmp, sao_small)
            cases = [(big, lambda: backend_bare(big, tmp))]
        if not synth_only and not sao_small and _installed("stable_audio_tools", "torch"):
            sa = stable_audio_case(tmp)
            cases.append((sa, lambda: backend_bare(sa, tmp)))
        if not synth_only and not sao_small and _installed("transformers", "torch"):
            mg = musicgen_case(tmp)
            cases.append((mg, lambda: backend_bare(mg, tmp)))
        for case, make_bare in cases:
            res = results[case.name] = measure(case, make_bare(), runs)
            print(f"time to file, {case.name}, median of {runs}: bare call + sf.write {res['bare_ms']:.1f} ms, "
                  f"warm daemon generate -> done {res['daemon_ms']:.1f} ms ({res['daemon_ms'] / res['bare_ms']:.2f}x, "
                  f"{res['daemon_ms'] - res['bare_ms']:.0f} ms added)")
    return results


def _installed(*modules: str) -> bool:
    return all(importlib.util.find_spec(m) is not None for m in modules)


def rows(results: dict[str, Any]) -> list[Row]:
    out = []
    for name, res in results.items():
        beside = f"bare call + sf.write {res['bare_ms']:.1f} ms"
        out.append(Row("time to file", f"{name}: generate -> done", res["daemon_ms"], "ms", beside=beside))
        ratio = res["daemon_ms"] / res["bare_ms"]
        if name.startswith("synth"):  # the synth's render is ~30 ms: the chain dominates, no target (see post)
            out.append(Row("time to file", "  ratio to the bare call + write", ratio, "x", beside=beside))
        elif "SAO Small" in name:  # the GPU target
            out.append(at_most("time to file", "  ratio to the bare call + write", ratio, "x", 1.3, beside))
        else:
            out.append(at_most("time to file", "  ratio to the bare call + write", ratio, "x", 1.1, beside))
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--synth-only", action="store_true")
    parser.add_argument("--sao-small", metavar="DEVICE", help="only a SAO Small-sized model on DEVICE (cuda, mps, cpu)")
    cli = parser.parse_args()
    res = main(cli.runs, cli.synth_only, cli.sao_small)
    if cli.sao_small:  # the README's figures, with the machine and the device they came from
        from table import machine, markdown

        print(f"{machine()}, device {cli.sao_small}\n" + markdown(rows(res)))
