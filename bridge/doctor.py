"""`dawgen doctor`: what a producer checks before blaming the DAW. Each check returns (name, ok, detail)."""
from __future__ import annotations

import importlib.util
import platform
import socket
import sys
import tempfile

from server.catalog import pull_hint
from server.config import Config
from server.errors import DawgenError

Check = tuple[str, bool, str]


def run_checks(config: Config) -> list[Check]:
    return [_python(), _torch(), _port(config), _output_root(config), _state_dir(config), *_models(config),
            *_cluster(config)]


def _python() -> Check:
    ok = sys.version_info >= (3, 10)
    return ("python", ok, f"{platform.python_version()} ({sys.executable})")


def _torch() -> Check:
    if importlib.util.find_spec("torch") is None:
        return ("torch", True, "not installed (only needed by model backends; synth works without it)")
    import torch  # doctor is the one command allowed to pay for this import

    devices = ["cpu"]
    if torch.cuda.is_available():
        devices += [f"cuda:{i} {torch.cuda.get_device_name(i)}" for i in range(torch.cuda.device_count())]
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        devices.append("mps")
    return ("torch", True, f"{torch.__version__}; devices: {', '.join(devices)}")


def _port(config: Config) -> Check:
    host, port = config.server.host, config.server.port
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
        with socket.socket(family, kind) as sock:
            try:
                sock.bind((host, port))
            except OSError as exc:
                return ("port", False, f"{host}:{port} is in use or not bindable ({exc}); is dawgen already running?")
    return ("port", True, f"{host}:{port} free for UDP and TCP")


def _writable(name: str, path) -> Check:  # type: ignore[no-untyped-def]
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".dawgen-doctor-"):
            pass
    except OSError as exc:
        return (name, False, f"{path} is not writable: {exc}")
    return (name, True, f"{path} writable")


def _output_root(config: Config) -> Check:
    return _writable("output root", config.output_root)


def _state_dir(config: Config) -> Check:
    return _writable("state dir", config.state_dir)


def _models(config: Config) -> list[Check]:
    from server.registry import Registry

    try:
        registry = Registry(config)
    except DawgenError as exc:
        return [("models", False, exc.message)]
    problems = registry.problems()
    checks = []
    for name in registry.names():
        if name not in problems:
            checks.append((f"model {name}", True, "available"))
        elif name in registry.builtin:  # a built-in model whose extra is not installed: optional
            checks.append((f"model {name}", True, f"optional, not installed: {problems[name]}"))
        else:
            checks.append((f"model {name}", False, problems[name] + pull_hint(name)))
    return checks


def _cluster(config: Config) -> list[Check]:
    """`[cluster] engine = "ray"`: whether the daemon can put its lanes on the cluster, without joining it
    (Ray installed with token auth, the token file, the head answering on its port)."""
    if config.cluster.engine != "ray":
        return []
    from server.lanes.ray_lane import head_address, problem, ray_version

    why = problem(config)
    if why is None:
        address = head_address(config.cluster.address)
        if address is None:
            why = "no Ray cluster found on this machine for address \"auto\" (ray start --head ...)"
        else:
            host, _, port = address.rpartition(":")
            try:
                socket.create_connection((host.strip("[]"), int(port)), timeout=3).close()
            except (OSError, ValueError) as exc:
                why = f"the Ray head at {address} does not answer ({exc})"
    if why:
        return [("cluster", False, f"{why}; the daemon runs on local lanes ([server] devices)")]
    return [("cluster", True, f"ray {ray_version()} at {config.cluster.address}, "
                              f"token auth {'on' if config.cluster.token_file else 'off (loopback only)'}")]
