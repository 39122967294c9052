"""The `dawgen` command line against a real daemon."""
import json
import subprocess
import sys
import time
from pathlib import Path

import soundfile as sf

REPO = Path(__file__).resolve().parents[2]


def dawgen(*args, timeout=60):
    return subprocess.run([sys.executable, "-m", "bridge", *args], cwd=REPO, capture_output=True, text=True, timeout=timeout)


def test_send_wait_prints_paths_and_progress(daemon):
    r = dawgen("send", "generate", "prompt=lofi drum loop", "bars=1", "count=2", "seed=7", "--wait", "--port", str(daemon.port))
    assert r.returncode == 0, r.stderr
    paths = r.stdout.split()
    assert [Path(p).name for p in paths] == ["lofi-drum-loop_7_120bpm_1bar.wav", "lofi-drum-loop_8_120bpm_1bar.wav"]
    assert all(sf.info(p).frames == round(4 * 60 / 120 * 48000) for p in paths)
    assert "queued job" in r.stderr and "%" in r.stderr


def test_send_errors_exit_non_zero_with_the_message(daemon):
    r = dawgen("send", "generate", "count=0", "--port", str(daemon.port))
    assert r.returncode == 1 and "bad_request" in r.stderr and "count" in r.stderr
    r = dawgen("send", "generate", "oops", "--port", str(daemon.port))
    assert r.returncode == 2 and "key=value" in r.stderr


def test_send_without_daemon_says_so(tmp_path):
    r = dawgen("send", "ping", "--port", "9", "--timeout", "2")
    assert r.returncode == 3 and "no reply" in r.stderr


def test_jobs_models_doctor(daemon):
    dawgen("send", "generate", "prompt=snare", "seed=3", "--wait", "--port", str(daemon.port))
    r = dawgen("jobs", "--state-dir", str(daemon.state), "--json")
    jobs = json.loads(r.stdout)
    assert r.returncode == 0 and jobs[0]["state"] == "done" and jobs[0]["params"]["prompt"] == "snare"
    r = dawgen("models", "--json")
    models = {m["name"]: m for m in json.loads(r.stdout)}
    assert models["synth"]["default"] is True and {"midi", "transcribe"} <= set(models)
    r = dawgen("models", "--daemon", "--port", str(daemon.port), "--json")
    live = {m["name"]: m for m in json.loads(r.stdout)}
    assert r.returncode == 0 and live["synth"]["loaded"] is True and live["synth"]["device"] == "cpu"
    r = dawgen("models", "--daemon", "--port", str(daemon.port))
    assert "synth (default): backend synth, warm on cpu" in r.stdout
    r = dawgen("doctor", "--project", str(daemon.project), "--state-dir", str(daemon.state), "--port", str(daemon.port))
    assert r.returncode == 1  # the port is taken by the running daemon
    assert "✗ port" in r.stdout and "✓ output root" in r.stdout and "✓ model synth" in r.stdout


def test_bad_config_is_reported_at_start(tmp_path):
    cfg = tmp_path / "bad.toml"
    cfg.write_text("[server]\nprot = 1\n")
    r = dawgen("serve", "--config", str(cfg), "--project", str(tmp_path))
    assert r.returncode == 2 and "server.prot" in r.stderr and "did you mean 'port'" in r.stderr


def test_unavailable_model_is_reported_and_others_work(daemon_factory):
    d = daemon_factory(config_text='[models.my-kicks]\nbackend = "stable-audio"\npath = "/nope"\n').start()
    r = dawgen("send", "generate", "model=my-kicks", "--port", str(d.port))
    assert r.returncode == 1 and "model_unavailable" in r.stderr and "/nope" in r.stderr
    r = dawgen("send", "generate", "prompt=clap", "--wait", "--port", str(d.port))
    assert r.returncode == 0
    assert "my-kicks unavailable" in d.log.read_text()


def test_sigterm_drains_running_job_and_keeps_the_queue(daemon_factory):
    d = daemon_factory().start()
    from bridge.client import Client
    with Client("127.0.0.1", d.port) as c:
        running = str(c.call("generate", {"prompt": "drum loop", "bars": 8, "bpm": 60, "count": 8, "seed": 1}).args[1])
        queued = [str(c.call("generate", {"prompt": "kick", "seed": i}).args[1]) for i in range(3)]
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            r = c.recv(1)
            if r and r.address == "/dawgen/progress" and r.args[0] == running:
                break
        assert d.terminate(timeout=60) == 0
    jobs = {j["job_id"]: j for j in json.loads(dawgen("jobs", "--state-dir", str(d.state), "--json").stdout)}
    assert jobs[running]["state"] == "done" and len(jobs[running]["outputs"]) == 8
    assert all(jobs[q]["state"] == "queued" for q in queued)
    assert not [p for p in d.project.rglob("kick_*.wav")]
    d.start(port=d.port)  # the queue runs on the next start
    with Client("127.0.0.1", d.port) as c:
        for q in queued:
            c.wait(q, timeout=30)
