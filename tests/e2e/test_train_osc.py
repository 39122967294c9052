"""Training through a real `dawgen serve` (a model process per lane) over OSC: `/dawgen/train` with its
`/dawgen/training` and `/dawgen/checkpoint` replies, live generation served by the model process
between two training steps, and a kill -9 mid-run that the restarted daemon continues from the
last checkpoint. The model is the tiny Dance Diffusion of the trainer tests, named in a config file."""
from __future__ import annotations

import csv
import json
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from bridge.client import Client
from tests.conftest import DaemonProcess
from tests.server.training.test_job import kick_folder
from tests.server.training.tiny_runs import DD_SECONDS, dance_config
from tests.waiting import wait_until

TIMEOUT = 240


@pytest.fixture(scope="module")
def dance(tmp_path_factory) -> Path:
    pytest.importorskip("torch", reason="torch is not installed (make test installs it)")
    pytest.importorskip("stable_audio_tools", reason="stable-audio-tools is not installed (make install-stable-audio)")
    from tests.server.backends.stable_audio_tiny import build_model

    folder = tmp_path_factory.mktemp("dance")
    build_model(folder, dance_config(), None, seed=5)
    return folder


def daemon_for(tmp: Path, dance: Path) -> DaemonProcess:
    return DaemonProcess(tmp, config_text=f'[models.dd]\nbackend = "stable-audio"\npath = "{dance}"\n'
                                          '[server]\nprogress_interval = 0\n')


def train_params(data: Path, **more: object) -> dict:
    return {"kind": "dance-diffusion", "base": "dd", "data": str(data), "name": "my-kicks", "batch_size": 2,
            "seconds": DD_SECONDS, "learning_rate": 5e-4, "demo_every": 0, "seed": 3, **more}


def replies_until(client: Client, job_id: str, stop, timeout: float = TIMEOUT) -> list:
    """Every reply about `job_id` until `stop(reply)` is true for one of them."""
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        reply = client.recv(1.0)
        if reply is None or not reply.args or str(reply.args[0]) != job_id:
            continue
        seen.append(reply)
        if stop(reply):
            return seen
    raise AssertionError(f"gave up waiting; saw {[r.address for r in seen][-10:]}")


def test_train_over_osc_reports_steps_and_checkpoints_and_serves_a_generate_meanwhile(tmp_path, dance):
    d = daemon_for(tmp_path, dance).start()
    try:
        with Client("127.0.0.1", d.port) as c:
            ack = c.call("train", train_params(kick_folder(tmp_path / "kicks"), steps=100000, save_every=5))
            job = str(ack.args[1])
            seen = replies_until(c, job, lambda r: r.address == "/dawgen/checkpoint")
            step, path = int(seen[-1].args[1]), str(seen[-1].args[2])
            assert step == 5 and Path(path).name == "step-5" and (Path(path) / "model.safetensors").is_file()
            training = [r for r in seen if r.address == "/dawgen/training"]
            assert training and all(int(r.args[2]) == 100000 and np.isfinite(float(r.args[3])) for r in training)
            assert any(r.address == "/dawgen/progress" and r.args[2] == "training" for r in seen)

            # live work: the model process serves it between two training steps
            files = c.generate({"model": "my-kicks", "seconds": 0.5, "seed": 1}, timeout=TIMEOUT)
            assert sf.info(files[0]).frames > 0
            status = c.call("status", {"job": job})
            assert status.args[2] == "running"  # the training job did not have to end first

            cancelled = c.call("cancel", {"job": job})
            assert cancelled.args[1] == job
            end = replies_until(c, job, lambda r: r.address == "/dawgen/error")
            assert end[-1].args[1] == "cancelled" and "resume=true" in str(end[-1].args[2])
    finally:
        d.terminate()


def test_kill_9_mid_run_then_restart_continues_from_the_last_checkpoint(tmp_path, dance):
    d = daemon_for(tmp_path, dance).start()
    data = kick_folder(tmp_path / "kicks")
    with Client("127.0.0.1", d.port) as c:
        job = str(c.call("train", train_params(data, steps=24, save_every=4)).args[1])
        seen = replies_until(c, job, lambda r: r.address == "/dawgen/checkpoint" and int(r.args[1]) >= 8)
        saved = int(seen[-1].args[1])
    d.kill9()

    d.start(port=d.port)
    with Client("127.0.0.1", d.port) as c:
        paths = c.wait(job, timeout=TIMEOUT)
    folder = Path(paths[0])
    assert (folder / "step-24").is_dir()
    with open(folder / "loss.csv", newline="") as fh:
        steps = [int(row[0]) for row in list(csv.reader(fh))[1:]]
    assert steps == list(range(1, 25))  # nothing trained twice, nothing skipped
    log = d.log.read_text()
    resumed = [int(x.split("resumed at step ")[1].split()[0]) for x in log.splitlines() if "resumed at step" in x]
    assert resumed and resumed[-1] >= saved  # it went on from a checkpoint, not from the start
    d.terminate()


def test_a_folder_dropped_into_inbox_train_trains_a_model_named_after_it(tmp_path, dance):
    d = DaemonProcess(tmp_path, config_text=f'[models.dd]\nbackend = "stable-audio"\npath = "{dance}"\n'
                                            "[hotfolder]\nsettle_seconds = 0.5\nrescan_seconds = 0.3\n").start()
    try:
        staging = kick_folder(tmp_path / "staging" / "My Kicks", n=8)
        params = train_params(staging, steps=4, save_every=2)
        del params["data"], params["name"]  # the hot folder sets them: the folder, and its name
        (staging / "train.json").write_text(json.dumps(params))
        inbox = d.project / "dawgen" / "inbox" / "train"
        wait_until(inbox.is_dir, 30, "the train inbox")
        (staging).rename(inbox / "My Kicks")  # a whole folder arrives at once, as a drag and drop does
        done = d.project / "dawgen" / "done" / "train" / "My Kicks"
        wait_until(done.is_dir, TIMEOUT, "the folder to be filed in done/")
        run = d.state / "models" / "my-kicks"
        assert (run / "step-4" / "model.safetensors").is_file() and (run / "dawgen-model.toml").is_file()
        assert not (d.project / "dawgen" / "failed" / "train").exists() or not list((d.project / "dawgen" / "failed" / "train").iterdir())
    finally:
        d.terminate()
