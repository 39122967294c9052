"""Model lanes as Ray actors (server/lanes/ray_lane.py) on a local two-node Ray cluster.

Every node is on 127.0.0.1, with the dashboard off, usage stats off and Ray's token authentication
on: a head without the lane's resource and a worker with `fake_gpu`, a custom resource standing for a
GPU, so the lane's actor can only run on the worker node. The cluster is made once for this module
(about 10 s, about 1 GB) and torn down at its end; the node-loss test adds the node it removes.
"""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from server.config import ConfigError, load
from server.engine import Engine
from server.jobs import JobState, Request
from server.lanes import ray_lane
from tests.waiting import wait_until

TOKEN = "dawgen-test-token-" + "0123456789abcdef" * 2
ENV = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}


def make_config(tmp_path, address="127.0.0.1:6379", token_file="", **cluster):
    overrides = {"output.root": str(tmp_path / "p"), "server.state_dir": str(tmp_path / "s"),
                 "server.isolation": "thread", "cluster.engine": "ray", "cluster.address": address,
                 "cluster.token_file": token_file}
    overrides.update({f"cluster.{k}": v for k, v in cluster.items()})
    return load(None, overrides)


def wait_final(eng, job_id, timeout=120):
    return wait_until(lambda: (j := eng.status(job_id)[0]).state.finished and j, timeout=timeout,
                      what=f"job {job_id} to finish", every=0.05)


def audio_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.suffix in (".wav", ".flac"))


# -- without a cluster --------------------------------------------------------------------------------
def test_cluster_config_keys_and_their_checks(tmp_path):
    (tmp_path / "tok").write_text(TOKEN)
    (tmp_path / "c.toml").write_text('[cluster]\nengine = "ray"\naddress = "10.0.0.5:6379"\ntoken_file = "tok"\n'
                                     '[cluster.resources]\nbig = {GPU = 1}\nsmall = {dawgen_small = 1, CPU = 2}\n')
    config = load(tmp_path / "c.toml")
    assert config.cluster.token_file == str(tmp_path / "tok")  # relative to the config file
    assert ray_lane.plan_lanes(config, {}) == {"big": {"GPU": 1.0}, "small": {"dawgen_small": 1.0, "CPU": 2.0}}
    assert ray_lane.actor_options("small", {"dawgen_small": 1.0, "CPU": 2.0})["resources"] == {"dawgen_small": 1.0}
    with pytest.raises(ConfigError, match="cluster.engine"):
        load(None, {"cluster.engine": "dask"})
    with pytest.raises(ConfigError, match="cluster.resources.x"):
        load(None, {"cluster.resources": {"x": {"GPU": 0}}})
    assert ray_lane.plan_lanes(load(None), {"GPU": 2.0}) == {"gpu0": {"GPU": 1.0}, "gpu1": {"GPU": 1.0}}
    assert ray_lane.plan_lanes(load(None), {"CPU": 8.0}) == {"cpu": {"CPU": 1.0}}


def test_a_cluster_beyond_this_machine_needs_the_token(tmp_path):
    pytest.importorskip("ray")
    why = ray_lane.problem(make_config(tmp_path, address="10.0.0.5:6379"))
    assert why and "token_file" in why and "RAY_AUTH_MODE=token" in why
    assert ray_lane.problem(make_config(tmp_path, address="127.0.0.1:6379")) is None  # this machine only
    assert "token_file" in ray_lane.problem(make_config(tmp_path, address="auto"))
    assert ray_lane.token_auth_supported()  # the Ray the tests install has it (>= 2.52)


def test_without_ray_the_daemon_runs_on_local_lanes_and_doctor_says_why(tmp_path, monkeypatch):
    from bridge.doctor import run_checks

    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` fails, find_spec says not installed
    config = make_config(tmp_path)
    eng = Engine(config)
    eng.start()
    try:
        assert eng.cluster is None and "Ray is not installed" in eng.cluster_problem
        assert [w.device for w in eng.workers] == ["cpu"]
        job, _ = eng.submit(Request("generate", {"prompt": "kick", "seed": 1}, "local"))
        assert wait_final(eng, job.id).state is JobState.DONE
    finally:
        eng.stop()
        eng.close()
    checks = {name: (ok, detail) for name, ok, detail in run_checks(config)}
    ok, detail = checks["cluster"]
    assert not ok and "Ray is not installed" in detail and "local lanes" in detail


# -- on a local two-node cluster ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def ray_cluster(tmp_path_factory):
    ray = pytest.importorskip("ray")
    from ray._private.authentication_test_utils import reset_auth_token_state
    from ray.cluster_utils import Cluster

    token = tmp_path_factory.mktemp("ray") / "token"
    token.write_text(TOKEN)
    saved = {k: os.environ.get(k) for k in [*ENV, "RAY_AUTH_MODE", "RAY_AUTH_TOKEN_PATH", "RAY_AUTH_TOKEN"]}
    os.environ.update(ENV)
    ray_lane.use_token(token)  # the nodes started below inherit it: the cluster takes only this token
    ray_lane.keep_on_loopback()
    cluster = Cluster(initialize_head=False)
    try:
        cluster.add_node(num_cpus=1, include_dashboard=False, node_ip_address="127.0.0.1")
        worker = cluster.add_node(num_cpus=1, resources={"fake_gpu": 1}, node_ip_address="127.0.0.1")
        yield cluster, token, worker
    finally:
        if ray.is_initialized():
            ray.shutdown()
        cluster.shutdown()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        reset_auth_token_state()


@pytest.fixture
def ray_engine(ray_cluster, tmp_path):
    cluster, token, _ = ray_cluster
    eng = Engine(make_config(tmp_path, address=cluster.address, token_file=str(token),
                             resources={"gpu": {"fake_gpu": 1}}))
    eng.start()
    try:
        yield eng
    finally:
        eng.stop(drain_seconds=30)
        eng.close()


def test_jobs_run_on_the_worker_nodes_actor(ray_cluster, ray_engine, tmp_path):
    _, _, worker = ray_cluster
    eng = ray_engine
    assert eng.cluster is not None and [w.device for w in eng.workers] == ["gpu"]
    job, _ = eng.submit(Request("generate", {"prompt": "snare", "seed": 4, "count": 2}, "r1"))
    done = wait_final(eng, job.id)
    assert done.state is JobState.DONE, done.error_message
    assert len(done.outputs) == 2 and all(Path(p).is_file() for p in done.outputs)
    assert audio_files(tmp_path / "p") == sorted(Path(p) for p in done.outputs)  # written by the daemon
    status = eng.cluster.runners["gpu"].status()
    assert status["alive"] and status["node"] == worker.node_id and status["ip"] == "127.0.0.1"
    assert status["pid"] != os.getpid() and "synth" in status["warm"]  # warm in the actor, kept there
    models = {m["name"]: m for m in eng.models()}
    assert models["synth"]["loaded"] and models["synth"]["worker"] == "gpu"
    again, _ = eng.submit(Request("generate", {"prompt": "snare", "seed": 5}, "r2"))
    assert wait_final(eng, again.id).state is JobState.DONE
    assert eng.cluster.runners["gpu"].status()["jobs_run"] == 2  # the same actor: the model stayed warm


def test_cluster_status_lists_nodes_actors_warm_models_and_queue(ray_cluster, ray_engine, capsys):
    import json

    from bridge.cluster_cmd import run_status

    _, _, worker = ray_cluster
    eng = ray_engine
    job, _ = eng.submit(Request("generate", {"prompt": "hat", "seed": 2}, "s1"))
    assert wait_final(eng, job.id).state is JobState.DONE
    code, text = run_status(eng.config, as_json=True)
    status = json.loads(text)
    assert code == 0 and len([n for n in status["nodes"] if n["alive"]]) >= 2
    assert any(n["resources"].get("fake_gpu") == 1 for n in status["nodes"])
    (actor,) = status["actors"]
    assert actor["lane"] == "gpu" and actor["node"] == worker.node_id and "synth" in actor["warm"]
    assert status["queue"] == []
    code, text = run_status(eng.config, as_json=False)
    assert code == 0 and "gpu" in text and "warm: synth" in text and "queue: 0 unfinished" in text


def test_cancel_reaches_a_job_on_a_remote_actor(ray_engine, tmp_path):
    eng = ray_engine
    slow, _ = eng.submit(Request("generate", {"prompt": "drum loop", "bars": 40, "bpm": 60, "count": 64}, "slow"))
    wait_until(lambda: eng.status(slow.id)[0].progress.stage == "generating", timeout=60,
               what="the slow job to run on the actor")
    started = time.monotonic()
    eng.cancel(slow.id)
    cancelled = wait_final(eng, slow.id, timeout=30)
    assert cancelled.state is JobState.CANCELLED and time.monotonic() - started < 10
    assert audio_files(tmp_path / "p") == []
    assert eng.cluster.runners["gpu"].status()["running"] is None


def test_a_driver_without_the_token_is_refused(ray_cluster, tmp_path):
    cluster, _, _ = ray_cluster
    wrong = tmp_path / "wrong"
    wrong.write_text("not-the-token-" + "x" * 32)
    code = textwrap.dedent(f"""
        import ray
        from server.lanes.ray_lane import keep_on_loopback
        keep_on_loopback()
        ray.init(address={cluster.address!r}, _node_ip_address="127.0.0.1")
        print("CONNECTED")
    """)
    env = {**os.environ, **ENV, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(wrong)}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120,
                            cwd=Path(__file__).resolve().parents[2])
    assert result.returncode != 0 and "CONNECTED" not in result.stdout
    assert "token" in result.stderr.lower() or "authentication" in result.stderr.lower()


def test_a_node_lost_mid_job_is_survived_once_not_doubled(ray_cluster, ray_engine, tmp_path):
    cluster, _, _ = ray_cluster
    spare = cluster.add_node(num_cpus=1, resources={"fake_gpu": 1}, node_ip_address="127.0.0.1")
    eng = ray_engine
    runner = eng.cluster.runners["gpu"]
    job, _ = eng.submit(Request("generate", {"prompt": "drum loop", "bars": 16, "bpm": 60, "count": 6, "seed": 3},
                                "long"))
    wait_until(lambda: eng.status(job.id)[0].progress.stage == "generating", timeout=60, what="the job to run")
    first = runner.status()["node"]
    victim = next(n for n in cluster.worker_nodes if n.node_id == first)
    cluster.remove_node(victim)  # the node and the actor on it die mid-job
    done = wait_final(eng, job.id, timeout=180)
    assert done.state is JobState.DONE, done.error_message
    assert runner.reruns == 1
    assert len(done.outputs) == 6 and audio_files(tmp_path / "p") == sorted(Path(p) for p in done.outputs)
    status = runner.status()
    assert status["alive"] and status["node"] != first and status["node"] == spare.node_id  # restarted
    assert eng.journal.get(job.id).state is JobState.DONE and eng.journal.get(job.id).attempts == 1
