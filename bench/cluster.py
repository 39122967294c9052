"""Ray lanes ([cluster] engine = "ray", server/lanes/ray_lane.py): what a job pays for running on a
Ray actor, and what a second worker node adds.

- Per-job overhead: the same tiny job (the built-in synth, one 1 s one-shot) submitted one at a time
  to an Engine with a local lane (a model process, the default) and to one with a Ray lane (an
  actor on a worker node); submit → done, median. The difference is the Ray lane's overhead: the
  actor call, progress polling, the outputs through the object store (the daemon writes both).
- Throughput with one vs two worker nodes: 8 jobs of 4 one-shots queued at once, lanes on one or two
  worker nodes (a custom resource `bench_gpu` standing for a GPU). SIMULATED ON ONE MACHINE: every
  node is a set of processes on this machine, on 127.0.0.1, so the two nodes share its cores; the
  ratio says how well the lanes overlap, not what two real GPU boxes give.
    .venv/bin/python bench/cluster.py          (needs the ray extra; about a minute, about 1.5 GB)
"""
from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _common import percentile
from table import Row

from server.config import load
from server.engine import Engine
from server.jobs import JobState, Request

TOKEN = "dawgen-bench-token-" + "0123456789abcdef" * 2
ONE_SHOT = {"prompt": "kick", "seconds": 1.0}


def engine(root: Path, **cluster) -> Engine:
    overrides = {"output.root": str(root / "p"), "server.state_dir": str(root / "s"), "server.isolation": "process",
                 "server.progress_interval": 0.1}
    overrides.update({f"cluster.{k}": v for k, v in cluster.items()})
    eng = Engine(load(None, overrides))
    eng.start()
    eng.preload()
    return eng


def run_jobs(eng: Engine, params: list[dict]) -> float:
    """Submit all, wait for all; seconds from the first submit to the last done."""
    started = time.perf_counter()
    ids = [eng.submit(Request("generate", dict(p), f"b{i}-{time.monotonic_ns()}"))[0].id for i, p in enumerate(params)]
    for job_id in ids:
        while not (job := eng.status(job_id)[0]).state.finished:
            time.sleep(0.002)
        assert job.state is JobState.DONE, job.error_message
    return time.perf_counter() - started


def latency(eng: Engine, runs: int) -> list[float]:
    run_jobs(eng, [dict(ONE_SHOT, seed=0)])  # warm: model loaded, actor started
    return [run_jobs(eng, [dict(ONE_SHOT, seed=i + 1)]) for i in range(runs)]


def main(runs: int = 20) -> dict[str, float]:
    os.environ.update(RAY_USAGE_STATS_ENABLED="0", RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER="0")
    from ray.cluster_utils import Cluster

    from server.lanes import ray_lane

    res: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="dawgen-bench-cluster-") as tmp:
        root = Path(tmp)
        token = root / "token"
        token.write_text(TOKEN)
        ray_lane.use_token(token)
        ray_lane.keep_on_loopback()
        local = engine(root / "local")
        try:
            local_times = latency(local, runs)
        finally:
            local.stop()
            local.close()
        cluster = Cluster(initialize_head=False)
        try:
            cluster.add_node(num_cpus=1, include_dashboard=False, node_ip_address="127.0.0.1")
            for _ in range(2):
                cluster.add_node(num_cpus=1, resources={"bench_gpu": 1}, node_ip_address="127.0.0.1")
            common = {"engine": "ray", "address": cluster.address, "token_file": str(token)}
            one = engine(root / "ray1", resources={"a": {"bench_gpu": 1}}, **common)
            try:
                ray_times = latency(one, runs)
                batch = [dict(ONE_SHOT, seed=i, count=4) for i in range(8)]
                run_jobs(one, batch[:1])
                res["one_node_s"] = run_jobs(one, batch)
            finally:
                one.stop()
                one.close()
            two = engine(root / "ray2", resources={"a": {"bench_gpu": 1}, "b": {"bench_gpu": 1}}, **common)
            try:
                run_jobs(two, [dict(ONE_SHOT, seed=0), dict(ONE_SHOT, seed=1)])  # both actors warm
                res["two_nodes_s"] = run_jobs(two, batch)
            finally:
                two.stop()
                two.close()
        finally:
            cluster.shutdown()
    res.update(local_ms=percentile(local_times, 50) * 1e3, ray_ms=percentile(ray_times, 50) * 1e3,
               ray_sd_ms=statistics.pstdev(ray_times) * 1e3, runs=runs, cores=os.cpu_count() or 1)
    res["overhead_ms"] = res["ray_ms"] - res["local_ms"]
    print(f"cluster: one 1 s synth one-shot, submit -> done, median of {runs}: local lane (model process) "
          f"{res['local_ms']:.1f} ms, Ray lane (actor on a worker node) {res['ray_ms']:.1f} ms: "
          f"overhead {res['overhead_ms']:.1f} ms")
    print(f"cluster: 8 jobs x 4 one-shots, SIMULATED on one machine ({res['cores']} cores shared by all nodes): "
          f"one worker node {res['one_node_s']:.2f} s, two worker nodes {res['two_nodes_s']:.2f} s "
          f"({res['one_node_s'] / res['two_nodes_s']:.2f}x)")
    return res


def rows(res: dict[str, float]) -> list[Row]:
    return [Row("cluster", "Ray lane per-job overhead (1 s one-shot)", res["overhead_ms"], "ms",
                beside=f"local lane {res['local_ms']:.0f} ms, Ray lane {res['ray_ms']:.0f} ms"),
            Row("cluster", "two vs one worker node, simulated on one machine", res["one_node_s"] / res["two_nodes_s"],
                "x", beside=f"{res['one_node_s']:.2f} s vs {res['two_nodes_s']:.2f} s, {res['cores']:.0f} cores shared")]


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
