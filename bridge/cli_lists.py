"""The listing commands of the `dawgen` CLI: `models`, `jobs`, `plugins` (each given its loaded
config by bridge/cli.py)."""
from __future__ import annotations

import argparse
import json
import sys

from server.config import Config

from .exits import EXIT_ERROR, EXIT_OK


def models(args: argparse.Namespace, config: Config) -> int:
    from server.registry import Registry

    if args.daemon:
        from .client import Client, ClientError

        try:  # TCP: the full catalogue, never abridged to fit a UDP datagram
            with Client(config.server.host, config.server.port, tcp=True) as client:
                models = client.json_call("models")
        except (ClientError, OSError) as exc:
            print(f"dawgen models: {exc}", file=sys.stderr)
            return EXIT_ERROR
    else:
        models = Registry(config).describe()
    if args.json:
        print(json.dumps(models, indent=2))
        return EXIT_OK
    for m in models:
        flag = " (default)" if m.get("default") else ""
        warm = f", warm on {m['device']} ({m.get('memory_bytes', 0) / 1e6:.1f} MB)" if args.daemon and m.get("loaded") else ""
        print(f"{m['name']}{flag}: backend {m['backend']}{warm}"
              + (f" - UNAVAILABLE: {m['unavailable']}" if "unavailable" in m else ""))
        for verb, params in m.get("verbs", {}).items():
            print(f"  {verb}: " + ", ".join(p["name"] for p in params))
    return EXIT_OK


def jobs(args: argparse.Namespace, config: Config) -> int:
    from server.journal import Journal

    path = config.state_dir / "journal.sqlite3"
    if not path.exists():
        print(f"no journal yet at {path}", file=sys.stderr)
        return EXIT_OK
    jobs = Journal(path).recent(args.limit)
    if args.json:
        print(json.dumps([j.summary() for j in jobs], indent=2))
        return EXIT_OK
    for job in jobs:
        detail = job.outputs[0] if job.outputs else job.error_message
        print(f"{job.id}  {job.state.value:9}  {job.verb:9} {job.model:10} {job.params.get('prompt', '')!s:24.24}  {detail}")
    return EXIT_OK


def plugins(args: argparse.Namespace, config_all: Config) -> int:
    from server.backends.process.host import describe_plugin, run_isolated
    from server.backends.process.plugins import roots, scan
    from server.errors import DawgenError

    config = config_all.plugins
    found = []
    for path in scan(config):  # each plugin loads in a child process: a crashing one is listed as such
        try:
            found.append(run_isolated(describe_plugin, (str(path),), what=f"plugin {path.name}", timeout=config.timeout))
        except DawgenError as exc:
            found.append({"name": path.stem, "path": str(path), "error": exc.message})
    if args.json:
        print(json.dumps({"folders": [str(r) for r in roots(config)], "plugins": found}, indent=2))
        return 0
    print("plugin folders: " + (", ".join(str(r) for r in roots(config)) or "none (set [plugins] paths)"))
    for plugin in found:
        print(f"{plugin['name']}  ({plugin['path']})" + (f"  cannot load: {plugin['error']}" if "error" in plugin else ""))
        for p in plugin.get("parameters", []):
            span = f" {p['min']}..{p['max']}" if "min" in p and "max" in p else ""
            print(f"    {p['name']}{span} {p.get('unit', '')}".rstrip())
    return 0
