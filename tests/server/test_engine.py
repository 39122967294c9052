"""The engine with the real synth backend, in-thread (the immediate mode) and in a model process."""
import os
import signal
import time

import pytest

from server.config import load
from server.engine import MAX_ATTEMPTS, Engine
from server.errors import DawgenError
from server.jobs import EventKind, JobState, Request
from tests.waiting import wait_until


def make_engine(tmp_path, isolation="thread", start=True):
    cfg = load(None, {"output.root": str(tmp_path / "p"), "server.state_dir": str(tmp_path / "s"),
                      "server.isolation": isolation})
    eng = Engine(cfg)
    if start:
        eng.start()
    return eng


def wait_final(eng, job_id, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job, _ = eng.status(job_id)
        if job.state.finished:
            return job
        time.sleep(0.02)
    raise AssertionError("job did not finish")


def start_slow_job(eng):
    """A long job, returned once it is generating (a cancel or a kill then lands mid-job)."""
    slow, _ = eng.submit(Request("generate", {"prompt": "drum loop", "bars": 40, "bpm": 60, "count": 64}, "slow"))
    wait_until(lambda: eng.status(slow.id)[0].progress.stage == "generating", timeout=30, what="the slow job to run")
    return slow


@pytest.mark.parametrize("isolation", ["thread", "process"])
def test_submit_runs_to_done_with_ordered_events(tmp_path, isolation):
    eng = make_engine(tmp_path, isolation)
    events = []
    eng.subscribe(lambda e: events.append((e.kind, e.job.progress.stage)))
    try:
        job, position = eng.submit(Request("generate", {"prompt": "snare", "seed": 4, "count": 2}, "r1"))
        assert position == 0
        done = wait_final(eng, job.id)
        assert done.state is JobState.DONE and len(done.outputs) == 2
        deadline = time.monotonic() + 10  # the state is final just before the event goes out
        while not any(k is EventKind.DONE for k, _ in events) and time.monotonic() < deadline:
            time.sleep(0.01)
        kinds = [k for k, _ in events]
        assert kinds[0] is EventKind.ACCEPTED and kinds[-1] is EventKind.DONE
        assert EventKind.PROGRESS in kinds
        assert [s for k, s in events if k is EventKind.PROGRESS][-1] == "writing"
    finally:
        eng.stop(5)
        eng.close()


def test_cancel_a_queued_job_and_errors(tmp_path):
    eng = make_engine(tmp_path, start=False)
    eng.start(workers=False)  # no workers: everything stays queued
    a, _ = eng.submit(Request("generate", {"seed": 1}, "a"))
    b, pos = eng.submit(Request("generate", {"seed": 2}, "b"))
    assert pos == 1
    cancelled = eng.cancel("b")  # by request id
    assert cancelled.state is JobState.CANCELLED and eng.journal.get(b.id).state is JobState.CANCELLED
    with pytest.raises(DawgenError) as info:
        eng.cancel(b.id)
    assert info.value.code == "already_finished"
    with pytest.raises(DawgenError) as info:
        eng.cancel("nobody")
    assert info.value.code == "not_found"
    assert [j.id for j in eng.queue()] == [a.id]
    with pytest.raises(DawgenError) as info:
        eng.submit(Request("separate", {}, "c"))
    assert info.value.code == "unknown_verb"
    eng.stop(1)
    with pytest.raises(DawgenError) as info:
        eng.submit(Request("generate", {}, "d"))
    assert info.value.code == "shutting_down"
    eng.close()


def test_recovery_requeues_and_gives_up_on_a_job_that_keeps_crashing(tmp_path):
    eng = make_engine(tmp_path, start=False)
    eng.start(workers=False)
    ok, _ = eng.submit(Request("generate", {"prompt": "clap", "seed": 1}, "ok"))
    bad, _ = eng.submit(Request("generate", {"prompt": "clap", "seed": 2}, "bad"))
    for job, attempts in ((ok, 1), (bad, MAX_ATTEMPTS)):
        job.state, job.attempts = JobState.RUNNING, attempts
        eng.journal.save(job)
    eng.journal.close()  # the daemon "dies" here

    again = make_engine(tmp_path)
    try:
        assert wait_final(again, ok.id).state is JobState.DONE
        failed = again.journal.get(bad.id)
        assert failed.state is JobState.FAILED and "not retrying" in failed.error_message
    finally:
        again.stop(5)
        again.close()


def test_a_killed_model_process_fails_its_job_and_is_restarted(tmp_path):
    eng = make_engine(tmp_path, "process")
    try:
        slow = start_slow_job(eng)
        (worker,) = eng.workers
        killed = worker.runner.pid
        os.kill(killed, signal.SIGKILL)  # as the kernel's out-of-memory killer does
        failed = wait_final(eng, slow.id)
        assert failed.state is JobState.FAILED and failed.error_code == "backend_failed"
        assert "model process stopped" in failed.error_message
        after, _ = eng.submit(Request("generate", {"prompt": "kick", "seed": 3}, "after"))
        assert wait_final(eng, after.id).state is JobState.DONE
        assert worker.runner.pid not in (None, killed)  # a new model process ran it
    finally:
        eng.stop(5)
        eng.close()


def test_running_job_cancel_in_a_model_process_writes_nothing(tmp_path):
    eng = make_engine(tmp_path, "process")
    try:
        slow = start_slow_job(eng)
        eng.cancel(slow.id)
        assert wait_final(eng, slow.id).state is JobState.CANCELLED
        assert not [p for p in (tmp_path / "p").rglob("*") if p.is_file()]
    finally:
        eng.stop(5)
        eng.close()


def test_queued_jobs_get_an_eta_that_grows_down_the_queue(tmp_path):
    eng = make_engine(tmp_path, start=False)
    eng.start(workers=False)
    ids = [eng.submit(Request("generate", {"prompt": "drum loop", "bars": 8, "seed": i}, f"q{i}"))[0].id for i in range(3)]
    etas = [eng.status(i)[0].progress.eta_seconds for i in ids]
    assert 0 < etas[0] < etas[1] < etas[2]
    assert [j.progress.eta_seconds for j in eng.queue()] == etas
    eng.close()


def test_a_model_pinned_to_a_device_runs_only_in_that_lane(tmp_path):
    """With two lanes, a model whose `device` names one of them always runs there (loaded in one
    model process only); a model that names no lane runs wherever a worker is free."""
    import json
    from pathlib import Path

    from server.config import parse

    cfg = parse({"server": {"isolation": "thread", "devices": ["cpu", "cuda:0"], "state_dir": str(tmp_path / "s")},
                 "output": {"root": str(tmp_path / "p")},
                 "models": {"pinned": {"backend": "synth", "device": "cuda:0"}}})
    eng = Engine(cfg)
    eng.start()
    try:
        assert eng.lane_for("pinned") == "cuda:0" and eng.lane_for("synth") is None
        jobs = [eng.submit(Request("generate", {"model": model, "prompt": "hat", "seed": i}, f"{model}{i}"))[0]
                for i in range(6) for model in ("pinned", "synth")]
        lanes: dict[str, set[str]] = {"pinned": set(), "synth": set()}
        for job in jobs:
            done = wait_final(eng, job.id)
            assert done.state is JobState.DONE, done.error_message
            sidecar = json.loads(Path(done.outputs[0]).with_suffix(".json").read_text())
            lanes[job.model].add(sidecar["worker"])
        assert lanes["pinned"] == {"cuda:0"}
        assert lanes["synth"] <= {"cpu", "cuda:0"} and lanes["synth"]
    finally:
        eng.stop(5)
        eng.close()


def test_immediate_mode_runs_the_job_inside_submit_with_every_event_sent(tmp_path):
    cfg = load(None, {"output.root": str(tmp_path / "p"), "server.state_dir": str(tmp_path / "s"),
                      "server.isolation": "immediate", "server.progress_interval": 0})
    eng = Engine(cfg)
    events = []
    eng.subscribe(lambda e: events.append((e.kind, e.job.progress.stage)))
    eng.start()
    try:
        job, position = eng.submit(Request("generate", {"prompt": "kick", "seed": 3, "count": 3}, "im1"))
        # no waiting: the job is finished, its files written and its events sent when submit returns
        assert position == 0 and job.state is JobState.DONE and len(job.outputs) == 3
        assert eng.status(job.id)[0].state is JobState.DONE
        kinds = [k for k, _ in events]
        assert kinds[0] is EventKind.ACCEPTED and kinds[-1] is EventKind.DONE
        assert [s for k, s in events if k is EventKind.PROGRESS][-1] == "writing"
        assert eng.queue() == []
    finally:
        eng.stop(5)
        eng.close()
