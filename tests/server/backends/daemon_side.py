"""The check that a backend's daemon side (registry, `models`, submit-time checks) imports none of
its model libraries: run in a fresh interpreter, because this test process has long imported them."""
from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[3]


def assert_daemon_side_imports_none(backend: str, options: Mapping[str, Any], verb: str,
                                    params: Mapping[str, Any], modules: Sequence[str]) -> None:
    """Configure one model (`backend`, `options`) as a user's config would, check it, list the models
    and check one request (`verb`, `params`); fail naming any of `modules` that got imported."""
    code = (
        "import sys\n"
        "from server.config import ModelConfig, load\n"
        "from server.registry import Registry\n"
        "config = load(None)\n"
        f"config.models['m'] = ModelConfig('m', {backend!r}, {dict(options)!r})\n"
        "registry = Registry(config)\n"
        "problems = {k: v for k, v in registry.problems().items() if k == 'm'}\n"
        "assert not problems, problems\n"
        "assert registry.describe()\n"
        f"registry.resolve('m').backend.check_params({verb!r}, {dict(params)!r})\n"
        f"bad = [m for m in {list(modules)!r} if m in sys.modules]\n"
        "print(bad)\n"
        "sys.exit(1 if bad else 0)\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
