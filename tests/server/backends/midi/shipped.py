"""Running a verb of the shipped midi model the way the engine does (the `backend` fixture: conftest.py)."""
from __future__ import annotations

from typing import Any


def run(backend: Any, verb: str, **params: Any) -> Any:
    """A verb through the backend's submit-time checks, then run (seed 5 unless given)."""
    from server.backends.base import RunContext

    params.setdefault("seed", 5)
    backend.check_params(verb, params)
    return backend.run(verb, RunContext(params))
