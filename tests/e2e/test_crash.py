"""kill -9 with jobs queued and running: after a restart every acknowledged job completes exactly
once and nothing temporary or partial is left in the output root."""
import json
import time
from pathlib import Path

import soundfile as sf

from bridge.client import Client


def outputs(root: Path):
    return sorted(p for p in root.rglob("*") if p.suffix == ".wav")


def test_kill_9_then_restart_completes_every_acked_job_once(daemon_factory):
    d = daemon_factory().start()
    acked: dict[str, int] = {}  # job id -> expected number of files
    with Client("127.0.0.1", d.port) as c:
        # a long job first (it will be running at the kill), then a queue behind it
        long = c.call("generate", {"prompt": "drum loop", "bars": 8, "bpm": 60, "count": 12, "seed": 1})
        acked[str(long.args[1])] = 12
        for i in range(6):
            ack = c.call("generate", {"prompt": "kick", "seed": 100 + 10 * i, "count": 2})
            acked[str(ack.args[1])] = 2
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            r = c.recv(1)
            if r and r.address == "/dawgen/progress" and r.args[0] == str(long.args[1]) and r.args[1] > 0.2:
                break
        else:
            raise AssertionError("the long job never ran")
    d.kill9()

    d.start(port=d.port)  # same port: replies go back to the same clients
    with Client("127.0.0.1", d.port) as c:
        deadline = time.monotonic() + 120
        pending = set(acked)
        while pending and time.monotonic() < deadline:
            for job_id in list(pending):
                status = c.call("status", {"job": job_id})
                assert status.args[2] in ("queued", "running", "done"), status.args
                if status.args[2] == "done":
                    assert len(status.args[7:]) == acked[job_id]
                    pending.discard(job_id)
            time.sleep(0.2)
        assert not pending, f"jobs not finished after restart: {pending}"

    files = outputs(d.project)
    assert len(files) == sum(acked.values())  # exactly once: no duplicates, nothing missing
    assert not [p for p in d.project.rglob("*") if p.name.endswith(".tmp")]
    for f in files:
        assert "-2" not in f.stem  # a re-run reuses its own names
        sf.info(f)  # every file is complete and readable
        side = json.loads(f.with_suffix(".json").read_text())
        assert side["job_id"] in acked
    log = d.log.read_text()
    assert "recovered" in log
