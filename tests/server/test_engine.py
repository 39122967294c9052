"""The engine with the real synth backend, in-thread (the immediate mode) and in a model process."""
import os
import queue
import signal
import sqlite3
import threading
import time

import pytest

from server.config import load
from server.engine import MAX_ATTEMPTS, Engine
from server.errors import DawgenError
from server.jobs import EventKind, Job, JobState, Request
from server.journal import DAY, Journal, Pruner
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


def test_a_killed_writer_process_loses_nothing_later_jobs_are_written(tmp_path):
    eng = make_engine(tmp_path, "process")
    try:
        first, _ = eng.submit(Request("generate", {"prompt": "kick", "seed": 1}, "first"))
        assert wait_final(eng, first.id).state is JobState.DONE
        (worker,) = eng.workers
        writer, model = worker.runner.writer_pid, worker.runner.pid
        assert writer is not None and writer != model  # the lane's files are written beside the model
        os.kill(writer, signal.SIGKILL)
        wait_until(lambda: worker.runner.writer_pid is None, timeout=10, what="the writer process to go")
        after, _ = eng.submit(Request("generate", {"prompt": "snare", "seed": 2}, "after"))
        done = wait_final(eng, after.id)
        assert done.state is JobState.DONE and os.path.exists(done.outputs[0])  # written in the model process
        assert worker.runner.pid == model
    finally:
        eng.stop(5)
        eng.close()


def test_writer_thread_writes_in_the_model_process(tmp_path):
    cfg = load(None, {"output.root": str(tmp_path / "p"), "server.state_dir": str(tmp_path / "s"),
                      "server.isolation": "process", "server.writer": "thread"})
    eng = Engine(cfg)
    eng.start()
    try:
        job, _ = eng.submit(Request("generate", {"prompt": "hat", "seed": 5, "count": 2}, "t"))
        done = wait_final(eng, job.id)
        assert done.state is JobState.DONE and len(done.outputs) == 2
        (worker,) = eng.workers
        assert worker.runner.writer_pid is None and worker.runner.pid is not None
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


# -- the queue's bound, group commit, pruning -----------------------------------------------------
def queued_engine(tmp_path, **server):
    """An engine that accepts and journals but runs nothing (no workers): jobs stay queued."""
    overrides = {"output.root": str(tmp_path / "p"), "server.state_dir": str(tmp_path / "s"),
                 "server.isolation": "thread", **{f"server.{k}": v for k, v in server.items()}}
    eng = Engine(load(None, overrides))
    eng.start(workers=False)
    return eng


def on_disk(eng) -> list[str]:
    """Request ids another connection sees: committed rows only."""
    db = sqlite3.connect(eng.journal.path)
    try:
        return [r[0] for r in db.execute("SELECT req_id FROM jobs ORDER BY seq")]
    finally:
        db.close()


def test_max_queued_refuses_past_the_limit_and_journals_nothing(tmp_path):
    eng = queued_engine(tmp_path, max_queued=2)
    a, _ = eng.submit(Request("generate", {"seed": 1}, "a"))
    eng.submit(Request("generate", {"seed": 2}, "b"))
    with pytest.raises(DawgenError) as info:
        eng.submit(Request("generate", {"seed": 3}, "c"))
    assert info.value.code == "queue_full"
    assert info.value.message == "2 jobs queued, the limit is [server] max_queued = 2"
    assert on_disk(eng) == ["a", "b"] and eng.queue_full()
    again, position = eng.submit(Request("generate", {"seed": 1}, "a"))  # dedupe comes before the bound
    assert again.id == a.id and position == 0 and on_disk(eng) == ["a", "b"]
    assert eng.scheduler.take(timeout=0).id == a.id  # a worker takes "a": running jobs do not count
    c, position = eng.submit(Request("generate", {"seed": 3}, "c"))
    assert position == 2 and on_disk(eng) == ["a", "b", "c"]
    eng.cancel("b")  # a cancelled job leaves room too
    eng.submit(Request("generate", {"seed": 4}, "d"))
    with pytest.raises(DawgenError):
        eng.submit(Request("generate", {"seed": 5}, "e"))
    eng.close()


def test_concurrent_submits_are_each_acknowledged_after_their_commit(tmp_path):
    eng = queued_engine(tmp_path)
    acked: list[tuple[str, bool]] = []
    lock = threading.Lock()

    def on_accepted(job, position):
        committed = job.req_id in on_disk(eng)
        with lock:
            acked.append((job.req_id, committed))

    def client(n):
        for i in range(25):
            eng.submit(Request("generate", {"seed": i}, f"c{n}-{i}"), on_accepted=on_accepted)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(acked) == 200 and all(committed for _, committed in acked)
    assert sorted(on_disk(eng)) == sorted(req_id for req_id, _ in acked)
    assert len({j.id for j in eng.queue()}) == 200
    eng.close()


def test_a_batch_is_committed_once_and_answered_in_order(tmp_path):
    eng = queued_engine(tmp_path, max_queued=4)
    answers = []
    batch = eng.batch()

    def add(req_id, params):
        batch.add(Request("generate", params, req_id),
                  lambda job, pos: answers.append((req_id, job.id, pos, on_disk(eng))),
                  lambda exc: answers.append((req_id, exc.code)))

    add("a", {"seed": 1})
    add("a", {"seed": 1})  # the same packet twice in one batch
    add("b", {"seed": 2})
    with pytest.raises(DawgenError) as info:  # a bad request is refused at once, not at commit
        add("bad", {"seed": "many"})
    assert info.value.code == "bad_request"
    for req_id, seed in (("c", 3), ("d", 4), ("e", 5)):
        add(req_id, {"seed": seed})
    assert len(batch) == 6 and on_disk(eng) == [] and answers == []
    batch.commit()
    whole = ["a", "b", "c", "d"]
    assert [a[0] for a in answers] == ["a", "a", "b", "c", "d", "e"]
    assert all(a[3] == whole for a in answers[:5])  # the first ack already sees the whole batch on disk
    assert answers[0][1] == answers[1][1] and [a[2] for a in answers[:5]] == [0, 0, 1, 2, 3]
    assert answers[5] == ("e", "queue_full")
    assert [j.req_id for j in eng.queue()] == whole and len(batch) == 0
    eng.close()


def test_finished_jobs_are_pruned_at_start_and_daily(tmp_path):
    cfg = load(None, {"output.root": str(tmp_path / "p"), "server.state_dir": str(tmp_path / "s"),
                      "server.isolation": "thread", "server.journal_keep_days": 10})  # the old name still works
    journal = Journal(cfg.state_dir / "journal.sqlite3")
    now = [time.time()]
    for req_id, finished in (("old", now[0] - 11 * DAY), ("recent", now[0])):
        job, _ = journal.record(Job(id=Job.new_id(), verb="generate", model="synth", params={}, req_id=req_id), {})
        job.state, job.finished = JobState.DONE, finished
        journal.save(job)
    ticks: queue.Queue = queue.Queue()
    waits: queue.Queue = queue.Queue()

    def wait(seconds):  # a day passes when the test says so
        waits.put(seconds)
        return ticks.get(timeout=30)

    eng = Engine(cfg, journal=journal, pruner=Pruner(journal, cfg.server.keep_finished_days,
                                                      clock=lambda: now[0], wait=wait))
    eng.start()
    try:
        assert journal.find("old") is None and journal.find("recent") is not None  # at start
        assert waits.get(timeout=30) == DAY
        now[0] += 11 * DAY
        ticks.put(False)
        waits.get(timeout=30)  # waiting for the next day: this one's prune is done
        assert journal.find("recent") is None
    finally:
        ticks.put(True)
        eng.stop(5)
        eng.close()


def test_a_model_process_started_from_a_thread_that_ends_lives_on(tmp_path):
    """The model process dies with its parent (PR_SET_PDEATHSIG), and Linux's parent is the thread
    that forked it: jobs run in threads of their own, so a process (re)started from one must not be
    tied to it."""
    from server.model_process import ProcessRunner
    from server.progress import ProgressReporter

    cfg = load(None, {"output.root": str(tmp_path / "p"), "server.state_dir": str(tmp_path / "s")})
    runner = ProcessRunner(cfg, "cpu")
    job = Job(id="j1", verb="generate", model="synth", params={"prompt": "kick", "seed": 1, "sample_rate": 48000,
                                                               "bit_depth": "24", "format": "wav"})
    job.started = time.time()
    ran = []

    def a_job_thread():  # as the lane's: it starts the process, runs one job through it, and ends
        ran.append(runner.run(job, {}, ProgressReporter(job, lambda event: None, 1.0, 0.1), threading.Event()))

    starter = threading.Thread(target=a_job_thread)
    starter.start()
    starter.join(60)
    try:
        assert ran and ran[0].state is JobState.DONE, ran and ran[0].error_message
        pid = runner.pid
        assert pid is not None
        time.sleep(1.0)  # the kernel's signal, if any, lands right after the thread exits
        assert runner.pid == pid
    finally:
        runner.stop()
