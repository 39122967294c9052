"""Pipelining: 8 requests submitted back to back to a warm engine with one lane and its model
process (the daemon minus its front doors), until the 8th file is written, measured side by side
in one run pipelined (the default: the lane's writer process writes one job while its model runs the
next), pipelined with the writer in a thread of the model process (`[server] writer = "thread"`),
and not (`pipeline_depth=1`: each job written before the next starts), beside 8 x one request's
model time and 8 x (model + post) measured in this process (the daemon's own code:
server/execute.py `run_model`, then `write_made`).

Pipelined, 8 requests cost about 8 x max(model, post), not 8 x (model + post), where a core is
free for the writer. No pipeline does better than 8 x max(model, post) + min(model, post): the first
model runs before any post can, and the last post after every model (its fill and drain), so that
is the figure the ratio is held to. The post is measured here as the writer runs it beside a
running model (`model_running`: on a machine under 4 cores, its channels in one thread).
On the synth (a 10 s loop) and, when stable-audio-tools is installed, a tiny SAO-Small-shaped model.
    .venv/bin/python bench/pipeline.py [--runs 3] [--no-stable-audio]
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import _common  # noqa: F401 - the repository on sys.path
from table import Row, at_most

N = 8


@dataclass
class Case:
    name: str
    params: dict[str, Any]
    config: str | None = None  # the daemon's config file (None: built-in models only)


def synth_case() -> Case:
    return Case("synth 10 s loop", {"prompt": "drum loop", "bpm": 96, "bars": 4})


def stable_audio_case(tmp: Path) -> Case:
    from tests.server.backends.stable_audio_tiny import tiny_models

    models = tiny_models(tmp)
    config = (f'[models.tiny]\nbackend = "stable-audio"\npath = "{models["small"]}"\n'
              f't5_path = "{models["t5"]}"\ndevice = "cpu"\npreload = true\n')
    return Case("stable-audio tiny 2.5 s", {"model": "tiny", "prompt": "dark techno", "seconds": 2.5}, config)


def engine(case: Case, root: Path, isolation: str, depth: int | None = None, writer: str = "process") -> Any:
    from server.config import load
    from server.engine import Engine

    overrides = {"output.root": str(root / "p"), "server.state_dir": str(root / "s"), "server.isolation": isolation,
                 "server.writer": writer}
    config_path = None
    if case.config is not None:
        root.mkdir(parents=True, exist_ok=True)
        config_path = root / "dawgen.toml"
        config_path.write_text(case.config)
    config = load(config_path, overrides)
    return Engine(config) if depth is None else Engine(config, pipeline_depth=depth)


class InProcess:
    """One request's model run and its post + write, here, with the daemon's code (an engine in
    immediate mode), timed apart: the yardstick the lanes are held to."""

    def __init__(self, case: Case, root: Path) -> None:
        self.case, self.eng = case, engine(case, root, "immediate")
        self.eng.start(workers=False)
        self.model: list[float] = []
        self.post: list[float] = []
        self.one(0, keep=False)  # warms the model: not counted

    def one(self, seed: int, keep: bool = True) -> None:
        from server.execute import run_model, write_made
        from server.jobs import Request
        from server.post._parallel import model_running

        params = {**self.case.params, "seed": 1000 + seed}
        job = self.eng.prepare(Request("generate", params)).job
        job.started = time.time()
        started = time.perf_counter()
        made = run_model(job, {"verb": "generate", "params": params}, self.eng.registry, lambda f, s: None,
                         threading.Event(), "cpu")
        middle = time.perf_counter()
        assert made is not None, job.error_message
        with model_running():  # as in a pipelined lane, where the next job's model runs meanwhile
            write_made(job, made, self.eng.writer, threading.Event())
        if keep:
            self.model.append(middle - started)
            self.post.append(time.perf_counter() - middle)

    def close(self) -> None:
        self.eng.close()


class Lane:
    """A started engine (process isolation, one lane) that runs N requests back to back."""

    def __init__(self, case: Case, root: Path, depth: int | None, writer: str = "process") -> None:
        from server.jobs import EventKind

        self.case, self.eng = case, engine(case, root, "process", depth, writer)
        self._done = threading.Semaphore(0)
        self.eng.subscribe(lambda e: e.kind in (EventKind.DONE, EventKind.FAILED) and self._done.release())
        self.eng.start()
        self.run(0, 1)  # warm: the model process started, the model loaded

    def run(self, run: int, n: int = N) -> float:
        """Seconds from the first of n submits to the last file written."""
        from server.jobs import Request

        started = time.perf_counter()
        jobs = [self.eng.submit(Request("generate", {**self.case.params, "seed": 100 * run + i}))[0] for i in range(n)]
        for _ in jobs:
            self._done.acquire()
        elapsed = time.perf_counter() - started
        failed = [j.error_message for j in jobs if self.eng.status(j.id)[0].error_message]
        if failed:
            raise RuntimeError(f"a job failed: {failed[0]}")
        return elapsed

    def close(self) -> None:
        self.eng.stop(30)
        self.eng.close()


def measure(case: Case, runs: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="dawgen-bench-pipe-") as name:
        root = Path(name)
        here = InProcess(case, root / "here")
        lanes = {"pipelined": Lane(case, root / "pipelined", None),
                 "thread": Lane(case, root / "thread", None, writer="thread"),
                 "inline": Lane(case, root / "inline", 1)}
        try:
            times: dict[str, list[float]] = {name: [] for name in lanes}
            for run in range(runs):  # interleaved, yardstick included, so a noisy moment hits every variant alike
                for i in range(3):
                    here.one(10 * run + i)
                for name, lane in lanes.items():
                    times[name].append(lane.run(run + 1))
        finally:
            here.close()
            for lane in lanes.values():
                lane.close()
    model, post = statistics.median(here.model), statistics.median(here.post)
    return {"model_s": model, "post_s": post, "sequential_s": statistics.median(times["pipelined"]),
            "thread_s": statistics.median(times["thread"]), "unpipelined_s": statistics.median(times["inline"])}


def main(runs: int = 3, stable_audio: bool = True) -> dict[str, dict[str, float]]:
    import importlib.util

    results = {}
    with tempfile.TemporaryDirectory(prefix="dawgen-bench-models-") as models:
        cases = [synth_case()]
        if stable_audio and importlib.util.find_spec("stable_audio_tools") is not None:
            cases.append(stable_audio_case(Path(models)))
        for case in cases:
            res = results[case.name] = measure(case, runs)
            m, p, s, u = res["model_s"], res["post_s"], res["sequential_s"], res["unpipelined_s"]
            print(f"{case.name}: {N} requests back to back {s * 1e3:.0f} ms (writer process), "
                  f"{res['thread_s'] * 1e3:.0f} ms (writer thread), unpipelined {u * 1e3:.0f} ms "
                  f"({u / s:.2f}x) (medians of {runs}); one request here: model {m * 1e3:.1f} ms, "
                  f"post + write {p * 1e3:.1f} ms")
            print(f"  vs {N} x model {N * m * 1e3:.0f} ms: {s / (N * m):.2f}x;  vs the ideal pipeline, {N} x max(model, "
                  f"post) + min {_ideal(m, p) * 1e3:.0f} ms: {s / _ideal(m, p):.2f}x;  vs {N} x (model + post) "
                  f"{N * (m + p) * 1e3:.0f} ms: {s / (N * (m + p)):.2f}x")
    return results


def _ideal(model: float, post: float) -> float:
    """The least N requests can take through a two-stage pipeline: N x the slower stage, plus the
    faster one once (the first model before any post, or the last post after every model)."""
    return N * max(model, post) + min(model, post)


def rows(results: dict[str, dict[str, float]]) -> list[Row]:
    out = []
    for name, res in results.items():
        m, p, s, u = res["model_s"], res["post_s"], res["sequential_s"], res["unpipelined_s"]
        beside = (f"{N} x model {N * m * 1e3:.0f} ms, {N} x (model + post) {N * (m + p) * 1e3:.0f} ms, "
                  f"unpipelined {u * 1e3:.0f} ms")
        out.append(Row("pipeline", f"{name}: {N} requests back to back", s * 1e3, "ms", beside=beside))
        out.append(Row("pipeline", "  speed-up over unpipelined", u / s, "x", beside=beside))
        if "thread_s" in res:
            out.append(Row("pipeline", "  speed-up over a writer thread in the model process", res["thread_s"] / s, "x",
                           beside=f"writer thread {res['thread_s'] * 1e3:.0f} ms"))
        # about max(model, post) per request, not the sum: at most 1.1x of the least a pipeline can take
        out.append(at_most("pipeline", "  ratio to the ideal, 8 x max(model, post) + min(model, post)", s / _ideal(m, p),
                           "x", 1.1, beside + f", ideal {_ideal(m, p) * 1e3:.0f} ms"))
        out.append(Row("pipeline", "  ratio to 8 x (model + post), unpipelined", s / (N * (m + p)), "x", beside=beside))
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-stable-audio", action="store_true")
    cli = parser.parse_args()
    main(cli.runs, not cli.no_stable_audio)
