"""`dawgen cluster status`: the Ray cluster the daemon's lanes run on ([cluster] engine = "ray"):
nodes, lane actors with their warm models, and the daemon's queue (from its journal)."""
from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

from server.config import Config


def add_parser(sub: argparse._SubParsersAction, config_flags: Callable[[argparse.ArgumentParser], None]) -> None:
    s = sub.add_parser("cluster", help="the Ray cluster of [cluster] engine = \"ray\": nodes, actors, warm models, queue")
    cluster = s.add_subparsers(dest="cluster_command", required=True)
    st = cluster.add_parser("status", help="nodes, lane actors, their warm models and the daemon's queue")
    config_flags(st)
    st.add_argument("--json", action="store_true", help="machine-readable output")


def queue(config: Config) -> list[dict[str, Any]]:
    from server.journal import Journal

    path = config.state_dir / "journal.sqlite3"
    if not path.exists():
        return []
    journal = Journal(path)
    try:
        return [{"id": j.id, "state": j.state.value, "model": j.model, "verb": j.verb, "owner": j.owner,
                 "stage": j.progress.stage} for j in journal.unfinished()]
    finally:
        journal.close()


def run_status(config: Config, as_json: bool) -> tuple[int, str]:
    """(exit code, text to print)."""
    from server.lanes.ray_lane import ClusterUnavailable, cluster_status

    if config.cluster.engine != "ray":
        return 1, "[cluster] engine is \"local\": the lanes are this daemon's model processes (dawgen models --daemon)"
    try:
        status = cluster_status(config)
    except ClusterUnavailable as exc:
        return 3, f"dawgen: {exc}"
    status["queue"] = queue(config)
    if as_json:
        return 0, json.dumps(status, indent=2, default=str)
    lines = [f"ray {status['ray']} at {status['address']}", "nodes:"]
    for node in status["nodes"]:
        res = ", ".join(f"{k}={v:g}" for k, v in sorted(node["resources"].items()) if not k.startswith("object_store"))
        lines.append(f"  {node['node'][:12]}  {'alive' if node['alive'] else 'dead ':5}  {node['ip']:15}  {res}")
    lines.append("actors:")
    for actor in status["actors"] or [{"lane": "(none: is the daemon running with [cluster] engine = \"ray\"?)"}]:
        if actor.get("alive"):
            warm = ", ".join(actor["warm"]) or "-"
            lines.append(f"  {actor['lane']:10} node {actor['node'][:12]} {actor['ip']:15} running "
                         f"{actor['running'] or '-':12} jobs {actor['jobs_run']:<5} warm: {warm}")
        else:
            lines.append(f"  {actor['lane']:10} {actor.get('why', '')}")
    lines.append(f"queue: {len(status['queue'])} unfinished")
    lines += [f"  {j['id']}  {j['state']:8} {j['verb']:9} {j['model']:10} {j['stage']}" for j in status["queue"]]
    return 0, "\n".join(lines)
