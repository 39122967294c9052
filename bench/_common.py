"""Helpers shared by the benchmarks: a daemon process and a percentile."""
from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from server.malloc import keep_buffers  # noqa: E402

# A bench process allocates as the model process does (server/malloc.py), so the chain measured here
# is the one the daemon runs, and a side-by-side ratio compares the work, not the allocator.
keep_buffers()
READY = re.compile(r"ready: osc udp\+tcp (\S+):(\d+)")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def serve(root: Path, config_text: str | None = None) -> tuple[subprocess.Popen, int]:
    """A `dawgen serve` on a free port with its project and state under `root` (and `config_text`
    as its config file): (process, port), once it has printed its ready line."""
    args = [sys.executable, "-m", "bridge", "serve", "--port", "0", "--project", str(root / "project"),
            "--state-dir", str(root / "state"), "--log-level", "warning"]
    if config_text is not None:
        (root / "dawgen.toml").write_text(config_text)
        args += ["--config", str(root / "dawgen.toml")]
    proc = subprocess.Popen(args, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    for line in proc.stdout:
        match = READY.search(line)
        if match:
            return proc, int(match.group(2))
    raise RuntimeError("daemon did not start")


class Daemon:
    def __init__(self, config_text: str | None = None) -> None:
        self.tmp = tempfile.TemporaryDirectory(prefix="dawgen-bench-")
        self.proc, self.port = serve(Path(self.tmp.name), config_text)

    def wait_warm(self) -> None:
        """One generation end to end: the default model is loaded before anything is measured."""
        from bridge.client import Client

        with Client("127.0.0.1", self.port) as client:
            client.generate({"prompt": "kick", "seed": 1}, timeout=60)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(60)
        self.tmp.cleanup()
