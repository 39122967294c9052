"""Facts about the running daemon for the Models and memory page (GET /api/studio)."""
from __future__ import annotations

from typing import Any

from server import __version__
from server.config import Config
from server.engine import Engine
from server.memory import Budgets, gb, parse_size


def studio_facts(engine: Engine, config: Config) -> dict[str, Any]:
    return {"version": __version__, "output_root": str(engine.writer.root), "default_model": config.server.default_model,
            "isolation": config.server.isolation, "devices": [_device(d, config) for d in config.server.devices],
            "queued": len(engine.queue())}


def _device(device: str, config: Config) -> dict[str, Any]:
    """A lane's memory budget: configured, or (cpu, mps) half the RAM. A GPU's default needs torch to
    read its size, which this process never imports: it is left unknown here (the model process knows)."""
    configured = config.server.memory_budget
    family = device.split(":", 1)[0]
    key = device if device in configured else family if family in configured else ""
    if key:
        budget: int | None = parse_size(configured[key])
    else:
        budget = None if family == "cuda" else Budgets().for_device(device)
    return {"device": device, "budget_bytes": budget, "budget": gb(budget) if budget is not None else "",
            "source": f"server.memory_budget.{key}" if key else "default"}
