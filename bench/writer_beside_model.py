"""Why the writer is a process of its own: a model's run time alone, beside a writer thread in its
process, and beside a writer process, measured side by side in one run; and how many files the
writer makes meanwhile.

The model is the tiny Stable Audio model (torch on one thread, leaving the other core to the
writer), run through dawgen's backend as the model process runs it; the writer writes the synth's
10 s drum loop (grid, seam, -14 LUFS with the limiter acting, 24-bit WAV, sidecar) over and over,
the model process's post and write (server/writer_process.py). Needs stable-audio-tools.
    .venv/bin/python bench/writer_beside_model.py [--runs 12]
"""
from __future__ import annotations

import argparse
import multiprocessing
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import _common  # noqa: F401 - the repository on sys.path, large buffers kept (server/malloc.py)
from table import Row, at_most


def write_loops(stop: Any, files: Any) -> None:
    """Write the synth's drum loop until `stop` is set, counting files (a thread or a process)."""
    from dataclasses import replace

    from writer import drum_loop

    from server.jobs import Job
    from server.output.writer import OutputWriter
    from server.post import _parallel

    _parallel.THREADS = 1  # one core for the writer, one for the model
    audio, params = drum_loop()
    writer = OutputWriter([tempfile.mkdtemp(prefix="dawgen-bench-beside-")], fsync=False)
    seed = 0
    while not stop.is_set():
        job = Job(id=Job.new_id(), verb="generate", model="synth", params=dict(params, seed=seed))
        writer.write_job(job, [replace(audio, seed=seed)], {"params": params})
        seed += 1
        with files.get_lock():
            files.value += 1


def main(runs: int = 12) -> dict[str, float]:
    import torch
    from pipeline import stable_audio_case
    from time_to_file import backend_bare

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory(prefix="dawgen-bench-beside-") as name:
        tmp = Path(name)
        model = backend_bare(stable_audio_case(tmp / "models"), tmp)
        for seed in range(3):  # warm
            model(seed)

        def model_ms() -> float:
            times = []
            for seed in range(runs):
                started = time.perf_counter()
                model(100 + seed)
                times.append(time.perf_counter() - started)
            return statistics.median(times) * 1e3

        ctx = multiprocessing.get_context("spawn")
        res: dict[str, list[float]] = {"alone": [], "thread": [], "process": [], "thread_fps": [], "process_fps": []}
        for _ in range(2):  # interleaved, so a noisy moment hits each variant alike
            res["alone"].append(model_ms())
            for kind in ("thread", "process"):
                stop, files = ctx.Event(), ctx.Value("i", 0)
                runner: Any = (threading.Thread(target=write_loops, args=(stop, files)) if kind == "thread"
                               else ctx.Process(target=write_loops, args=(stop, files)))
                runner.start()
                while files.value < 2:  # the writer warm and at work
                    time.sleep(0.05)
                before, started = files.value, time.perf_counter()
                res[kind].append(model_ms())
                res[f"{kind}_fps"].append((files.value - before) / (time.perf_counter() - started))
                stop.set()
                runner.join()
    out = {key: statistics.median(values) for key, values in res.items()}
    print(f"stable-audio tiny, one torch thread, median of {runs} x 2: alone {out['alone']:.1f} ms; "
          f"beside a writer thread {out['thread']:.1f} ms ({out['thread_fps']:.1f} files/s); "
          f"beside a writer process {out['process']:.1f} ms ({out['process_fps']:.1f} files/s)")
    return out


def rows(res: dict[str, float]) -> list[Row]:
    beside = f"alone {res['alone']:.1f} ms"
    return [Row("pipeline", "stable-audio tiny run beside a writer thread (slowdown)", res["thread"] / res["alone"], "x",
                beside=f"{beside}; writer {res['thread_fps']:.1f} files/s"),
            # the reason for the writer process: the model's run unchanged within noise
            at_most("pipeline", "stable-audio tiny run beside a writer process (slowdown)", res["process"] / res["alone"],
                    "x", 1.1, f"{beside}; writer {res['process_fps']:.1f} files/s")]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=12)
    main(parser.parse_args().runs)
