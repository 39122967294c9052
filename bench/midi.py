"""midi backend figures on the shipped weights (server/backends/midi/weights).

1. Latency of 8 bars (drums, melody) after warm-up, in-process, one torch thread: median and p95 of
   `--runs` calls. Target: well under 100 ms on a CPU. Also one call of each other verb.
2. Model sizes: parameters and bytes on disk (float16 state dicts).
3. Training time of each shipped model on the machine that trained it (recorded in midi.json by
   `dawgen train-midi`).
4. Quality on held-out data: negative log-likelihood (nats per token / per 16th step) against an
   interpolated trigram on the same vocabulary (which the models must beat). Recomputed here when
   the data is at hand (hydrogen-data installed; the parsed music21 corpus cached by train-midi),
   else the figures train-midi recorded are printed.
5. The harmony models' musicality on held-out Bach chorales beside the data and a random baseline
   (bench/midi_harmony.py).

    .venv/bin/python bench/midi.py [--runs 20]
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from _common import percentile

from server.backends.base import RunContext
from server.backends.midi import MidiBackend
from server.backends.midi.store import SHIPPED, read_index


def _ms(values: list[float]) -> str:
    return f"median {1000 * statistics.median(values):6.1f} ms, p95 {1000 * percentile(values, 95):6.1f} ms"


def latency(backend: MidiBackend, runs: int) -> dict[str, float]:
    """Prints every verb's latency; returns the median seconds of generating 8 bars, per kind."""
    print("latency, 8 bars at 120 bpm after warm-up (in-process, 1 torch thread):")
    medians = {}
    for kind in ("drums", "melody"):
        times = []
        for seed in range(runs):
            started = time.perf_counter()
            backend.run("midi/generate", RunContext({"kind": kind, "bars": 8, "bpm": 120, "seed": seed}))
            times.append(time.perf_counter() - started)
        print(f"  generate {kind:6s}: {_ms(times)}  (target: well under 100 ms)")
        medians[kind] = statistics.median(times)
    with tempfile.TemporaryDirectory() as tmp:
        a = Path(tmp) / "a.mid"
        b = Path(tmp) / "b.mid"
        m = Path(tmp) / "m.mid"
        a.write_bytes(backend.run("midi/generate", RunContext({"kind": "drums", "bars": 4, "seed": 1}))[0].data)
        b.write_bytes(backend.run("midi/generate", RunContext({"kind": "drums", "bars": 4, "seed": 2}))[0].data)
        m.write_bytes(backend.run("midi/generate", RunContext({"kind": "melody", "bars": 4, "seed": 3}))[0].data)
        for verb, params in (("midi/continue", {"input": str(m), "bars": 8}),
                             ("midi/continue", {"input": str(a), "bars": 8}),
                             ("midi/drumify", {"input": str(m), "bars": 8}),
                             ("midi/interpolate", {"input": str(a), "input2": str(b), "steps": 5}),
                             ("midi/groove", {"input": str(a), "amount": 0.5})):
            times = []
            for seed in range(max(3, runs // 4)):
                started = time.perf_counter()
                backend.run(verb, RunContext({**params, "seed": seed}))
                times.append(time.perf_counter() - started)
            what = Path(params["input"]).stem
            print(f"  {verb:16s} ({what}): {_ms(times)}")
    return medians


def sizes(index: dict) -> None:
    print("models (shipped weights):")
    total_p = total_b = 0
    for kind, entry in index["models"].items():
        size = (SHIPPED / entry["file"]).stat().st_size
        total_p += entry["params"]
        total_b += size
        print(f"  {kind:10s}: {entry['params']:8d} params, {size / 1e6:5.2f} MB, trained in "
              f"{entry['train_seconds']:6.1f} s")
    t = index.get("training", {})
    print(f"  total     : {total_p:8d} params, {total_b / 1e6:5.2f} MB (float16); trained with seed {t.get('seed')}, "
          f"{t.get('epochs')} epochs, {t.get('threads')} thread(s) on {t.get('machine')}")


def quality(index: dict, backend: MidiBackend) -> None:
    from server.backends.midi import train as T

    print("held-out negative log-likelihood (lower is better) vs an interpolated trigram on the same vocabulary:")
    melody = index["models"]["melody"]["eval"]
    drums = index["models"]["drums"]["eval"]
    where = "recorded by train-midi"
    try:  # recompute where the data is at hand
        tunes, _ = T.melody_tunes(None, 1, lambda line: None)
        _, held = T.split_tunes(tunes)
        train, _ = T.split_tunes(tunes)
        nll, count = T.melody_nll(backend._models["melody"], held)
        base = T.trigram_nll([T.tune_arrays(t)[0] for t in train], [T.tune_arrays(t)[0] for t in held])
        melody = {"held_out_nll_nats_per_token": nll, "trigram_nll_nats_per_token": base, "tokens": count}
        where = "recomputed"
    except (SystemExit, ImportError, OSError, RuntimeError):
        pass
    print(f"  melody ({where}): model {melody['held_out_nll_nats_per_token']:.3f} vs trigram "
          f"{melody['trigram_nll_nats_per_token']:.3f} nats/token over {melody['tokens']} tokens "
          f"({melody['trigram_nll_nats_per_token'] / melody['held_out_nll_nats_per_token']:.2f}x)")
    where = "recorded by train-midi"
    try:
        dtrain, dheld, _ = T.drum_songs(None)
        nll, count = T.drums_nll(backend._models["drums"], dheld)
        base = T.trigram_nll([T.step_symbols(s.hits) for s in dtrain], [T.step_symbols(s.hits) for s in dheld])
        drums = {"held_out_nll_nats_per_step": nll, "trigram_nll_nats_per_step": base, "steps": count}
        where = "recomputed"
    except (SystemExit, OSError, RuntimeError):
        pass
    print(f"  drums  ({where}): model {drums['held_out_nll_nats_per_step']:.3f} vs trigram "
          f"{drums['trigram_nll_nats_per_step']:.3f} nats/16th step over {drums['steps']} steps "
          f"({drums['trigram_nll_nats_per_step'] / drums['held_out_nll_nats_per_step']:.2f}x)")
    for kind in ("vae_melody", "vae_drums"):
        ev = index["models"][kind]["eval"]
        print(f"  {kind} (recorded): reconstruction accuracy {ev['reconstruction_accuracy_per_cell']:.3f} per grid "
              f"cell over {ev['held_out_windows']} held-out 2-bar windows")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=20)
    args = p.parse_args(argv)
    print("== midi backend (shipped weights) ==")
    index = read_index(SHIPPED)
    backend = MidiBackend("midi", {})
    started = time.perf_counter()
    backend.load()
    print(f"load + warm-up: {1000 * (time.perf_counter() - started):.0f} ms")
    latency(backend, args.runs)
    sizes(index)
    quality(index, backend)
    import midi_harmony

    midi_harmony.main()


if __name__ == "__main__":
    main()
