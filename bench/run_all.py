"""Every benchmark of the daemon spine and of each installed backend, as one table (`make bench`).

Each figure is printed beside what it was measured against in the same run, with its target and
pass/fail. Sizes are cut to keep the whole run to a few minutes on 2 cores; each script run on
its own takes its fuller defaults. `--json PATH` writes the same rows (and the machine) for tools;
`--markdown PATH` writes the table as a page (docs/PERFORMANCE.md is this output).
    .venv/bin/python bench/run_all.py [--json bench.json] [--markdown docs/PERFORMANCE.md]
"""
from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

# bench/ itself on the path: a model process started by `spawn` (the cluster bench's local lane)
# runs this file again as __mp_main__, where the script's folder is not on sys.path
sys.path.insert(0, str(Path(__file__).resolve().parent))

import handoff
import osc_latency
import pipeline
import post
import startup
import time_to_file
import writer
from table import Row, as_json, at_most, machine, markdown


def _installed(*modules: str) -> bool:
    return all(importlib.util.find_spec(m) is not None for m in modules)


def _stable_audio() -> list[Row]:
    import stable_audio

    return stable_audio.rows(stable_audio.main(seconds=1.0, runs=2))


def _writer_beside_model() -> list[Row]:
    import writer_beside_model

    return writer_beside_model.rows(writer_beside_model.main(runs=8))


def _musicgen() -> list[Row]:
    import musicgen

    return musicgen.rows(musicgen.main(seconds=1.0, runs=2))


def _bark() -> list[Row]:
    bark = _bench_module("bark")
    return bark.rows(bark.main(runs=2))


def _diffusers() -> list[Row]:
    module = _bench_module("diffusers_audio")
    return module.rows(module.main(seconds=1.0, steps=5, runs=2))


def _midi() -> list[Row]:
    from server.backends.midi import MidiBackend

    midi = _bench_module("midi")

    backend = MidiBackend("midi", {})
    backend.load()
    return [at_most("midi", f"generate 8 bars of {kind} (median)", seconds * 1e3, "ms", 100.0)
            for kind, seconds in midi.latency(backend, runs=10).items()]


def _midi_harmony() -> list[Row]:
    harmony = _bench_module("midi_harmony")
    return harmony.rows(harmony.main())


def _demucs() -> list[Row]:
    demucs_bench = _bench_module("demucs", library_first=True)
    row = demucs_bench.main(sizes=("tiny",), minutes=(0.5,), ways=("direct", "daemon"), repeat=2)[("tiny", 0.5)]
    direct, daemon = row["direct"]["seconds"], row["daemon"]["seconds"]
    overhead = 100 * (daemon / direct - 1)
    return [Row("demucs", "tiny, 30 s of audio: daemon overhead over direct", overhead, "%", "<= 5 %", overhead <= 5,
                f"direct {direct:.2f} s, daemon {daemon:.2f} s")]


def _rvc() -> list[Row]:
    rvc = _bench_module("rvc")
    return rvc.rows(rvc.main(sizes=("tiny",), seconds=5.0, runs=2))


def _bench_module(name: str, library_first: bool = False) -> ModuleType:
    """bench/<name>.py, loaded from its file as bench_<name>. With `library_first`, the library of
    the same name is imported first: with bench/ on sys.path a plain `import <name>` would give the
    script, and the library's own imports (`<name>.submodule`) would fail."""
    here = Path(__file__).resolve().parent
    if library_first:
        saved = list(sys.path)
        sys.path[:] = [p for p in saved if Path(os.path.abspath(p or ".")) != here]
        try:
            importlib.import_module(name)
        finally:
            sys.path[:] = saved
    spec = importlib.util.spec_from_file_location(f"bench_{name}", here / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _lora() -> list[Row]:
    lora = _bench_module("lora")
    return lora.rows(lora.measure(seconds=1.0, steps=8, runs=3))


def _process() -> list[Row]:
    bench = _bench_module("process_bench")
    return bench.rows(bench.main(seconds=5.0))


def _web() -> list[Row]:
    web = _bench_module("web")
    figures = web.main(results=1000, requests=20, jobs=3)
    lib, ev = figures["library"], figures["events"]
    return [at_most("web", "library page of 50 from 1,000 results, warm (median)", lib["warm_p50_ms"], "ms", 50.0,
                    f"re-reading every sidecar: {lib['rescan_ms']:.1f} ms"),
            at_most("web", "job progress -> the page's event stream (median)", ev["p50_ms"], "ms", 10.0)]


# (name, how to measure it); backends also name the modules they need installed
SPINE: list[tuple[str, Callable[[], list[Row]]]] = [
    ("startup", lambda: startup.rows(startup.main(runs=3))),
    ("accept latency", lambda: osc_latency.rows(osc_latency.main(runs=2, clients=100, requests=500, rate=1000.0))),
    ("writer", lambda: writer.rows(writer.main(runs=30), writer.batch(runs=3), writer.loop(runs=20))),
    ("handoff", lambda: handoff.rows(handoff.main(runs=15))),
    ("post", lambda: post.rows(post.main())),
    ("time to file", lambda: time_to_file.rows(time_to_file.main(runs=10))),
    ("pipeline", lambda: pipeline.rows(pipeline.main(runs=3))),
]
BACKENDS: list[tuple[str, Callable[[], list[Row]], tuple[str, ...]]] = [
    ("stable-audio", _stable_audio, ("stable_audio_tools", "torch")),
    ("writer beside a model", _writer_beside_model, ("stable_audio_tools", "torch")),
    ("musicgen", _musicgen, ("transformers", "torch")),
    ("bark", _bark, ("transformers", "torch")),
    ("demucs", _demucs, ("demucs", "torch")),
    ("diffusers", _diffusers, ("diffusers", "torchsde", "transformers", "torch")),
    ("midi", _midi, ("torch",)),
    ("midi harmony", _midi_harmony, ("torch", "music21")),
    ("rvc", _rvc, ("rvc_next", "transformers", "librosa", "torch")),
    ("lora", _lora, ("stable_audio_tools", "torch")),
    ("web", _web, ("fastapi", "uvicorn")),
    # deepfilternet rows only with the denoise extra; the spectral gate and paulstretch are numpy/scipy
    ("process", _process, ()),
    ("cluster", lambda: _bench_module("cluster").rows(_bench_module("cluster").main(runs=10)), ("ray",)),
]


def collect() -> list[Row]:
    rows: list[Row] = []
    plan = [(name, run) for name, run in SPINE]
    plan += [(name, run) for name, run, needs in BACKENDS if _installed(*needs)]
    for name, run in plan:
        print(f"== {name}", flush=True)
        try:
            rows += run()
        except Exception:  # noqa: BLE001 - one broken benchmark must not hide the others' figures
            traceback.print_exc()
            rows.append(Row(name, "benchmark failed (see above)", float("nan"), "", "runs", False))
        print(flush=True)
    return rows


def page(rows: list[Row]) -> str:
    import datetime

    failed = sum(1 for r in rows if r.ok is False)
    return (f"# Performance\n\nEvery figure of `make bench` (`bench/run_all.py`), each beside what it was measured "
            f"against in the same run, with its target. Measured on {machine()}, "
            f"{datetime.date.today().isoformat()}, CPU only; {failed} of {sum(1 for r in rows if r.ok is not None)} "
            f"targets missed. Each script in `bench/` run on its own prints more detail.\n\n{markdown(rows)}\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", metavar="PATH", help="also write the rows as JSON here")
    parser.add_argument("--markdown", metavar="PATH", help="also write the table as a Markdown page here")
    args = parser.parse_args(argv)
    rows = collect()
    print(f"Measured on {machine()}")
    print(markdown(rows))
    if args.markdown:
        Path(args.markdown).write_text(page(rows))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(as_json(rows), fh, indent=2)
    return 0  # a missed target is a row marked FAIL (and "passed": false in the JSON), not a broken run


if __name__ == "__main__":
    sys.exit(main())
