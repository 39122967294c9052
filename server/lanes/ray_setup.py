"""Ray lanes' set-up, without a connection: whether Ray can be used (`problem`, shown by `dawgen
doctor`), its token authentication (`RAY_AUTH_MODE=token`, Ray >= 2.52, the token from `[cluster]
token_file`), keeping a one-machine cluster on loopback, and which lanes a cluster gets. Ray is
imported lazily, inside the functions that need it (ray_lane.py is the rest: the connection and the
daemon's runners; ray_actor.py the actor on a node).
"""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

from ..config import Config
from ..config_cluster import is_loopback_address

NAMESPACE = "dawgen"
ACTOR_PREFIX = "dawgen-lane-"
MAX_RESTARTS = 4  # an actor whose node died is started again on another node with its resources
RESTART_WAIT = 60.0  # seconds a re-run waits for a lane to come back before the job fails
POLL_SECONDS = 0.1  # progress polling while a job runs (the result itself is waited for, not polled)
TOKEN_AUTH_SINCE = "2.52"


class ClusterUnavailable(Exception):
    """Ray lanes cannot be used; the message says why (logged, and shown by `dawgen doctor`)."""


class LaneLost(Exception):
    """The actor running a job went away (its node died, or its process): the job may run again."""


# -- checks (cheap: no connection) --------------------------------------------------------------------
def ray_version() -> str | None:
    if importlib.util.find_spec("ray") is None:
        return None
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("ray")
    except PackageNotFoundError:
        return "unknown"


def token_auth_supported() -> bool:
    """Ray's token authentication (RAY_AUTH_MODE=token, RAY_AUTH_TOKEN_PATH) is in this Ray."""
    return importlib.util.find_spec("ray._private.authentication.authentication_token_setup") is not None


def problem(config: Config) -> str | None:
    """Why `[cluster] engine = "ray"` cannot be used here, without connecting; None when it can be tried."""
    cluster = config.cluster
    installed = ray_version()
    if installed is None:
        return "Ray is not installed (pip install 'dawgen[ray]')"
    local = is_loopback_address(cluster.address)
    if not cluster.token_file:
        if not local:
            return (f"[cluster] address {cluster.address!r} is not this machine only and no [cluster] token_file "
                    "is set: dawgen joins a Ray cluster only with Ray's token authentication (RAY_AUTH_MODE=token)")
        return None
    if not token_auth_supported():
        return (f"ray {installed} has no token authentication (RAY_AUTH_MODE=token came in Ray {TOKEN_AUTH_SINCE}); "
                "upgrade Ray on every node, or use a loopback address for a cluster on this machine only")
    try:
        token = Path(cluster.token_file).expanduser().read_text().strip()
    except OSError as exc:
        return f"[cluster] token_file {cluster.token_file}: {exc}"
    if not token:
        return f"[cluster] token_file {cluster.token_file} is empty"
    return None


def head_address(address: str) -> str | None:
    """HOST:PORT of the head `address` names; "auto": the cluster `ray start` made on this machine
    (RAY_ADDRESS, else Ray's own record of it), None when there is none."""
    if address != "auto":
        return address
    if os.environ.get("RAY_ADDRESS"):
        return os.environ["RAY_ADDRESS"]
    try:
        from ray._private.services import get_ray_address_from_environment

        found = get_ray_address_from_environment("auto", None)
    except Exception:  # noqa: BLE001 - Ray's private helper: any failure means "none found"
        return None
    return None if not found or found == "auto" else str(found)


def use_token(path: Path) -> None:
    """Ray's token authentication for this process and the ones it starts (RAY_AUTH_MODE=token, the
    token read from `path`); Ray's cached settings are refreshed, so a process that imported Ray
    before still joins with the token."""
    os.environ["RAY_AUTH_MODE"] = "token"
    os.environ["RAY_AUTH_TOKEN_PATH"] = str(path.expanduser().resolve())
    os.environ.pop("RAY_AUTH_TOKEN", None)
    from ray._raylet import AuthenticationTokenLoader
    from ray._raylet import Config as RayConfig

    RayConfig.initialize("")
    AuthenticationTokenLoader.instance().reset_cache()


def keep_on_loopback() -> None:
    """Ray rewrites a loopback address to this machine's LAN address before it connects; for a
    cluster on 127.0.0.1 keep every connection on loopback (tests, one-machine set-ups)."""
    from ray._private import ray_constants

    ray_constants.ENABLE_RAY_CLUSTER = False  # services.get_node_ip_address() -> 127.0.0.1


def plan_lanes(config: Config, cluster_resources: dict[str, float]) -> dict[str, dict[str, float]]:
    """lane name -> the resources its actor needs: `[cluster] resources`, else one lane per GPU of
    the cluster, else one CPU lane."""
    if config.cluster.resources:
        return {name: {k: float(v) for k, v in needs.items()} for name, needs in config.cluster.resources.items()}
    gpus = int(cluster_resources.get("GPU", 0))
    if gpus:
        return {f"gpu{i}": {"GPU": 1.0} for i in range(gpus)}
    return {"cpu": {"CPU": 1.0}}


def actor_options(lane: str, needs: dict[str, float]) -> dict[str, Any]:
    opts: dict[str, Any] = {"name": ACTOR_PREFIX + lane, "namespace": NAMESPACE, "max_restarts": MAX_RESTARTS,
                            "max_task_retries": 0,  # a lost job is re-run by RayRunner, once, not by Ray
                            "max_concurrency": 8}  # run (one at a time, locked) beside poll / cancel / status
    needs = dict(needs)
    opts["num_gpus"] = needs.pop("GPU", 0)
    opts["num_cpus"] = needs.pop("CPU", 0)
    if needs:
        opts["resources"] = needs
    return opts
