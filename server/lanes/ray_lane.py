"""Model lanes as Ray actors (`[cluster] engine = "ray"`): past one machine.

The daemon the DAW talks to keeps its front doors, journal, scheduler, post-processing and writer.
Each lane is a `LaneActor` (ray_actor.py) placed by Ray on a node that has the lane's resources (one
per GPU, or one per `[cluster] resources` entry); it holds its own Registry and backends (the model
process's code: server/execute.py), so models stay warm there under the same memory budget. The
daemon's `RayRunner` sends a job's params, polls the actor for progress events, and receives the raw
outputs (audio arrays, through Ray's object store); the daemon's OutputWriter renders and places the
files, so exactly-once and no-partial-file hold as in a local lane.

Faults: a node that dies mid-job (the actor's call fails with RayActorError and friends) → the job
runs once more on another lane with the same resources, or on this lane's actor, which Ray restarts on
a node that has them (`max_restarts`); a second loss fails the job with backend_failed. Nothing was
written for the lost run (only the daemon writes), so nothing is doubled. Cancel is an actor call that
sets the job's cancel flag, which the backend checks at its next step (RunContext.check_cancel).

Security: Ray's token authentication (`RAY_AUTH_MODE=token`, Ray >= 2.52) with the token from
`[cluster] token_file`; the daemon refuses to join a cluster beyond this machine without it.
Ray is imported here only, lazily: without it (or without a reachable cluster) the daemon runs on
local lanes and `dawgen doctor` says why (`problem`).
"""
from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

from ..config import Config
from ..config_cluster import is_loopback_address
from ..errors import ErrorCode
from ..execute import fail
from ..jobs import Job, JobState
from ..output.writer import OutputWriter
from .ray_actor import LaneActor
from .ray_setup import (  # noqa: F401 - part of this module's API (engine, doctor, cluster_cmd, tests)
    ACTOR_PREFIX,
    MAX_RESTARTS,
    NAMESPACE,
    POLL_SECONDS,
    RESTART_WAIT,
    TOKEN_AUTH_SINCE,
    ClusterUnavailable,
    LaneLost,
    actor_options,
    head_address,
    keep_on_loopback,
    plan_lanes,
    problem,
    ray_version,
    token_auth_supported,
    use_token,
)

log = logging.getLogger("dawgen.ray")

# -- connection -------------------------------------------------------------------------------------
def connect(config: Config) -> Cluster:
    """Join the cluster (`[cluster] address`) as a driver and plan the lanes; ClusterUnavailable
    when Ray is missing, refused, or unreachable. An already connected process (tests, benchmarks) is
    used as it is."""
    why = problem(config)
    if why:
        raise ClusterUnavailable(why)
    import ray

    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    cluster = config.cluster
    if cluster.token_file:
        use_token(Path(cluster.token_file))
    owned = False
    if not ray.is_initialized():
        kwargs: dict[str, Any] = {}
        if is_loopback_address(cluster.address):
            keep_on_loopback()
            kwargs["_node_ip_address"] = "127.0.0.1"
        try:
            ray.init(address=cluster.address, namespace=NAMESPACE, log_to_driver=False,
                     logging_level=logging.WARNING, configure_logging=False, **kwargs)
        except Exception as exc:  # ConnectionError, an auth refusal, a bad address
            raise ClusterUnavailable(f"cannot join the Ray cluster at {cluster.address!r}: "
                                     f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}") from exc
        owned = True
    return Cluster(config, plan_lanes(config, ray.cluster_resources()), owned)


class Cluster:
    """The lanes planned on one cluster and their runners (one RayRunner per lane)."""

    def __init__(self, config: Config, lanes: dict[str, dict[str, float]], owned: bool = False) -> None:
        self.config, self.lanes, self._owned = config, lanes, owned
        self.runners: dict[str, RayRunner] = {}

    @property
    def lane_names(self) -> list[str]:
        return list(self.lanes)

    def runner(self, lane: str, writer: OutputWriter) -> RayRunner:
        runner = RayRunner(self, lane, self.lanes[lane], writer)
        self.runners[lane] = runner
        return runner

    def rerun_target(self, lost: RayRunner) -> RayRunner:
        """Where a job whose node died runs again: another live lane with the same resources, else
        the lost lane itself (Ray restarts its actor on a node that has them)."""
        for runner in self.runners.values():
            if runner is not lost and runner.needs == lost.needs and runner.alive(timeout=2.0):
                return runner
        return lost

    def close(self) -> None:
        for runner in self.runners.values():
            runner.stop()
        if self._owned:
            import ray

            ray.shutdown()


# -- the daemon's side of a lane --------------------------------------------------------------------------
class RayRunner:
    """A lane whose models run in a LaneActor: the runner face of server/model_process.py's runners."""

    def __init__(self, cluster: Cluster, lane: str, needs: dict[str, float], writer: OutputWriter) -> None:
        self.cluster, self.lane, self.needs, self.device = cluster, lane, needs, lane
        self._writer = writer
        self._actor: Any = None
        self._lock = threading.Lock()
        self.warm_models: dict[str, dict[str, Any]] = {}
        self.reruns = 0  # jobs this lane ran again after losing a node (tests, `cluster status`)

    @property
    def actor(self) -> Any:
        with self._lock:
            if self._actor is None:
                import ray

                device = "cuda" if self.needs.get("GPU") else "cpu"
                self._actor = ray.remote(LaneActor).options(**actor_options(self.lane, self.needs)).remote(
                    self.cluster.config, self.lane, device)
            return self._actor

    def start(self) -> None:
        self.actor  # noqa: B018 - placed now: the first job finds it started (and its models warming)

    def alive(self, timeout: float = 2.0) -> bool:
        import ray

        try:
            ray.get(self.actor.status.remote(), timeout=timeout)
            return True
        except Exception:  # noqa: BLE001 - dead, restarting or unreachable: not alive
            return False

    def preload(self) -> None:
        self._in_background(lambda: self.actor.preload.remote())

    def manage(self, action: str, model: str) -> None:
        self._in_background(lambda: self.actor.manage.remote(action, model))

    def _in_background(self, call: Any) -> None:
        import ray

        def wait() -> None:
            try:
                self.warm_models = ray.get(call())
            except Exception as exc:  # noqa: BLE001 - a lost actor: the next job's run says so
                log.warning("lane %s: %s", self.lane, exc)

        threading.Thread(target=wait, name=f"dawgen-ray-{self.lane}", daemon=True).start()

    def status(self, timeout: float = 5.0) -> dict[str, Any]:
        import ray

        try:
            return {**ray.get(self.actor.status.remote(), timeout=timeout), "alive": True, "reruns": self.reruns}
        except Exception as exc:  # noqa: BLE001 - any Ray error: reported as not alive
            return {"lane": self.lane, "alive": False, "why": type(exc).__name__, "reruns": self.reruns}

    def run(self, job: Job, request: dict[str, Any], reporter: Any, cancel: threading.Event,
            model_done: Any = None) -> Job:
        """The job, final (not pipelined: the actor writes before it returns; `model_done` unused)."""
        runner: RayRunner = self
        for attempt in (1, 2):
            try:
                return runner._run_on_actor(job, request, reporter, cancel, wait_start=attempt > 1)
            except LaneLost as exc:
                if attempt == 2:
                    fail(job, JobState.FAILED, ErrorCode.BACKEND_FAILED,
                         f"the cluster node running this job was lost twice ({exc}); it was not re-run again")
                    return job
                runner = self.cluster.rerun_target(self)
                runner.reruns += 1
                log.warning("lane %s lost its node during job %s (%s); running it once more on lane %s",
                            self.lane, job.id, exc, runner.lane)
        return job

    def _run_on_actor(self, job: Job, request: dict[str, Any], reporter: Any, cancel: threading.Event,
                      wait_start: bool) -> Job:
        import ray
        from ray.exceptions import (
            GetTimeoutError,
            NodeDiedError,
            ObjectLostError,
            RayActorError,
            RayTaskError,
            WorkerCrashedError,
        )

        lost = (RayActorError, NodeDiedError, WorkerCrashedError, ObjectLostError)
        actor = self.actor
        if wait_start:  # a restarted actor: Ray places it once a node with the resources is there
            try:
                ray.get(actor.status.remote(), timeout=RESTART_WAIT)
            except GetTimeoutError:
                raise LaneLost(f"no node with {self.needs} came back within {RESTART_WAIT:.0f} s") from None
            except lost as exc:
                raise LaneLost(type(exc).__name__) from None
        ref = actor.run.remote(job, request)
        cancel_sent = False
        next_poll = time.monotonic() + POLL_SECONDS
        while True:
            if cancel.is_set() and not cancel_sent:
                actor.cancel.remote(job.id)
                cancel_sent = True
            ready, _ = ray.wait([ref], timeout=POLL_SECONDS / 2)
            if ready:
                break
            if time.monotonic() >= next_poll:
                next_poll = time.monotonic() + POLL_SECONDS
                try:
                    self._deliver(ray.get(actor.poll.remote(job.id), timeout=5.0), reporter)
                except Exception:  # noqa: BLE001 - a poll lost with the node: the result's error says what happened
                    pass
        try:
            result, outputs, provenance, events, warm = ray.get(ref)
        except lost as exc:
            raise LaneLost(type(exc).__name__) from None
        except RayTaskError as exc:
            fail(job, JobState.FAILED, ErrorCode.BACKEND_FAILED, f"the lane's actor failed: {exc.cause!r}")
            return job
        self._deliver(events, reporter)
        self.warm_models = warm
        if result.state is JobState.DONE:
            self._write(result, outputs, provenance)
        return result

    @staticmethod
    def _deliver(events: list[tuple[Any, ...]], reporter: Any) -> None:
        for event in events:
            if event[0] == "progress":
                reporter(event[1], event[2])
            elif event[0] == "report":
                reporter.report(event[1], event[2])

    def _write(self, job: Job, outputs: list[Any], provenance: dict[str, Any]) -> None:
        """The files, in the daemon: server/output's atomic writer, as in a local lane."""
        from ..errors import DawgenError

        try:
            job.outputs = self._writer.write_job(job, outputs, provenance)
        except DawgenError as exc:
            fail(job, JobState.FAILED, exc.code, exc.message)
        except Exception as exc:
            log.exception("writing the outputs of job %s failed", job.id)
            fail(job, JobState.FAILED, ErrorCode.BACKEND_FAILED, f"{type(exc).__name__}: {exc}")

    def stop(self, timeout: float = 5.0) -> None:
        with self._lock:
            actor, self._actor = self._actor, None
        if actor is not None:
            import ray

            try:
                ray.kill(actor, no_restart=True)
            except Exception:  # noqa: BLE001 - already gone
                pass


# -- `dawgen cluster status` --------------------------------------------------------------------------------
def cluster_status(config: Config, timeout: float = 5.0) -> dict[str, Any]:
    """Nodes (alive, address, resources), the daemon's lane actors (node, running job, warm models)
    as the cluster sees them; ClusterUnavailable when it cannot be joined. Joins as a driver of its
    own (the same token); the daemon's queue comes from its journal (bridge/cluster_cmd.py)."""
    import ray

    cluster = connect(config)
    try:
        nodes = [{"node": n["NodeID"], "alive": bool(n["Alive"]), "ip": n.get("NodeManagerAddress", ""),
                  "resources": {k: v for k, v in n.get("Resources", {}).items() if not k.startswith("node:")}}
                 for n in ray.nodes()]
        actors = []
        for name in sorted(ray.util.list_named_actors()):
            if not name.startswith(ACTOR_PREFIX):
                continue
            lane = name[len(ACTOR_PREFIX):]
            try:
                actors.append({**ray.get(ray.get_actor(name, namespace=NAMESPACE).status.remote(), timeout=timeout),
                               "alive": True})
            except Exception as exc:  # noqa: BLE001 - restarting, or its node is gone: shown as such
                actors.append({"lane": lane, "alive": False, "why": type(exc).__name__})
        return {"address": config.cluster.address, "ray": ray_version(), "nodes": nodes, "actors": actors,
                "lanes": cluster.lanes}
    finally:
        if cluster._owned:
            ray.shutdown()
