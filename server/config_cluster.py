"""[cluster]: where the model lanes run: in this daemon's model processes ("local", the default) or
as Ray actors on a cluster ("ray", server/lanes/ray_lane.py). Parsed with the rest of the config by
server/config.py."""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ENGINES = ("local", "ray")


@dataclass
class ClusterConfig:
    engine: str = "local"
    # "auto": the cluster `ray start` made on this machine; or "HEAD:6379"
    address: str = "auto"
    # Ray's token (`RAY_AUTH_MODE=token`): a file holding it, relative to the config file's folder
    token_file: str = ""
    # lane name -> the Ray resources its actor needs, e.g. {big-gpu = {GPU = 1}}; empty: one lane
    # per GPU of the cluster (one CPU lane when it has none)
    resources: dict[str, Any] = field(default_factory=dict)


def check_cluster(obj: ClusterConfig, base: Path | None, errors: list[str]) -> None:
    if obj.engine not in ENGINES:
        errors.append(f"cluster.engine: {obj.engine!r} is not one of {', '.join(ENGINES)}")
    if obj.token_file and base is not None and not Path(obj.token_file).expanduser().is_absolute():
        obj.token_file = str(base / obj.token_file)
    for lane, needs in obj.resources.items():
        if not isinstance(needs, dict) or not needs or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0 for v in needs.values()):
            errors.append(f"cluster.resources.{lane}: a table of Ray resources and positive amounts, "
                          f"e.g. {{GPU = 1}}, got {needs!r}")


def is_loopback_address(address: str) -> bool:
    """`127.0.0.1:6379`, `localhost:6379`, `[::1]:6379`: a cluster on this machine only."""
    host = address.rsplit(":", 1)[0].strip("[]") if ":" in address else address
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
