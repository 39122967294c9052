"""Pipelining (server/post_pool.py): a model lane takes its next job while the previous job's
post-processing and write run beside it. The real engine, scheduler and writer; the model and the
post step are held on barriers and events, so overlap is shown by what happened, not by timing."""
import multiprocessing
import os
import signal
import threading
from pathlib import Path

import soundfile as sf

from server.config import load
from server.engine import Engine
from server.errors import DawgenError, ErrorCode
from server.execute import Made
from server.jobs import EventKind, Job, JobState, Request
from server.post_pool import PostPool
from tests.waiting import wait_until

HANG = 60  # a generous bound on a wait that only a bug makes long


def make_engine(root: Path) -> Engine:
    eng = Engine(load(None, {"output.root": str(root / "p"), "server.state_dir": str(root / "s"),
                             "server.isolation": "thread"}))
    eng.start()
    return eng


def final(eng: Engine, ident: str) -> Job:
    return wait_until(lambda: (job := eng.status(ident)[0]).state.finished and job, HANG, f"{ident} to finish")


def gate_model(eng: Engine, hold: dict[str, threading.Barrier]) -> list[str]:
    """The synth's run meets the test at `hold[prompt]` first, for the prompts named there; returns
    the order the model runs started in."""
    backend = eng.registry.backend("synth")
    real, started = backend.run, []

    def run(verb, ctx):
        started.append(ctx.params["prompt"])
        if ctx.params["prompt"] in hold:
            hold[ctx.params["prompt"]].wait(HANG)
        return real(verb, ctx)
    backend.run = run
    return started


def gate_post(eng: Engine) -> tuple[threading.Event, threading.Event]:
    """Post of every job waits for `release` once it has begun (`entered` is set then)."""
    real = eng.writer.write_job
    entered, release = threading.Event(), threading.Event()

    def write_job(job, outputs, provenance, before_placing=None):
        entered.set()
        assert release.wait(HANG)
        return real(job, outputs, provenance, before_placing)
    eng.writer.write_job = write_job
    return entered, release


def files(root: Path) -> list[Path]:
    return sorted(p for p in (root / "p").rglob("*") if p.is_file())


def test_the_lane_runs_the_next_model_while_the_previous_job_is_in_post(tmp_path):
    eng = make_engine(tmp_path)
    try:
        second = threading.Barrier(2)
        started = gate_model(eng, {"snare": second})
        in_post, release = gate_post(eng)
        one, _ = eng.submit(Request("generate", {"prompt": "kick", "seed": 1}, "one"))
        two, _ = eng.submit(Request("generate", {"prompt": "snare", "seed": 2}, "two"))
        assert in_post.wait(HANG)
        second.wait(HANG)  # passes only once job 2's model runs, and job 1's post is still held
        held = eng.status(one.id)[0]
        assert held.state is JobState.RUNNING and held.progress.stage == "writing" and not held.outputs
        assert started == ["kick", "snare"] and eng.post.in_post >= 1 and not files(tmp_path)  # job 2 may be in post too
        release.set()
        for job in (one, two):
            done = final(eng, job.id)
            assert done.state is JobState.DONE and all(Path(p).is_file() for p in done.outputs)
    finally:
        eng.stop(5)
        eng.close()


def test_a_job_is_done_only_once_its_files_are_written_and_its_event_comes_after(tmp_path):
    eng = make_engine(tmp_path)
    seen: list[tuple[EventKind, bool]] = []
    eng.subscribe(lambda e: seen.append((e.kind, all(Path(p).is_file() for p in e.job.outputs))))
    try:
        in_post, release = gate_post(eng)
        job, _ = eng.submit(Request("generate", {"prompt": "kick", "seed": 1, "count": 3}, "c3"))
        assert in_post.wait(HANG)
        assert eng.status(job.id)[0].state is JobState.RUNNING and [j.id for j in eng.queue()] == [job.id]
        release.set()
        done = final(eng, job.id)
        assert done.state is JobState.DONE and len(done.outputs) == 3
        wait_until(lambda: any(kind is EventKind.DONE for kind, _ in seen), HANG, "the done event")
        assert (EventKind.DONE, True) in seen and eng.queue() == []
    finally:
        eng.stop(5)
        eng.close()


def test_cancel_during_post_writes_nothing(tmp_path):
    eng = make_engine(tmp_path)
    kinds: list[EventKind] = []
    eng.subscribe(lambda e: kinds.append(e.kind))
    try:
        in_post, release = gate_post(eng)
        job, _ = eng.submit(Request("generate", {"prompt": "kick", "seed": 1, "count": 2}, "c"))
        assert in_post.wait(HANG)
        assert eng.cancel(job.id).state is JobState.RUNNING  # the model is done: post sees the flag
        release.set()
        cancelled = final(eng, job.id)
        assert cancelled.state is JobState.CANCELLED and cancelled.error_code == "cancelled"
        assert eng.journal.get(job.id).state is JobState.CANCELLED
        assert not files(tmp_path)
        wait_until(lambda: EventKind.CANCELLED in kinds, HANG, "the cancelled event")
        after, _ = eng.submit(Request("generate", {"prompt": "kick", "seed": 2}, "after"))
        assert final(eng, after.id).state is JobState.DONE
    finally:
        eng.stop(5)
        eng.close()


def test_a_failure_in_post_fails_that_job_and_the_lane_goes_on(tmp_path):
    eng = make_engine(tmp_path)
    real = eng.writer.write_job

    def write_job(job, outputs, provenance, before_placing=None):
        if job.req_id == "bad":
            raise DawgenError(ErrorCode.WRITE_FAILED, "disk full")
        return real(job, outputs, provenance, before_placing)
    eng.writer.write_job = write_job
    try:
        bad, _ = eng.submit(Request("generate", {"prompt": "kick", "seed": 1}, "bad"))
        good, _ = eng.submit(Request("generate", {"prompt": "kick", "seed": 2}, "good"))
        failed = final(eng, bad.id)
        assert failed.state is JobState.FAILED and failed.error_code == "write_failed"
        assert final(eng, good.id).state is JobState.DONE
    finally:
        eng.stop(5)
        eng.close()


def test_a_lane_waits_while_the_pool_is_full(tmp_path):
    """The bound: with `limit` jobs in post, handing over one more blocks until one is written."""
    release, finished = threading.Event(), []

    class HeldWriter:
        def write_job(self, job, outputs, provenance, before_placing=None):
            assert release.wait(HANG)
            return []

    pool = PostPool(HeldWriter(), finished.append, limit=1)
    jobs = [Job(id=f"j{i}", verb="generate", model="synth", params={}) for i in range(2)]
    pool.hand_over(jobs[0], Made([]), threading.Event())
    lane = threading.Thread(target=pool.hand_over, args=(jobs[1], Made([]), threading.Event()))
    lane.start()
    lane.join(0.2)
    assert lane.is_alive() and pool.in_post == 1  # still waiting for room
    release.set()
    lane.join(HANG)
    assert not lane.is_alive() and pool.drain(HANG)
    assert [j.id for j in finished] == ["j0", "j1"] and all(j.state is JobState.DONE for j in finished)
    pool.close()


# -- a daemon that dies in the middle of writing a job ------------------------------------------------
def _die_mid_write(root: str, ready: str) -> None:
    """A daemon (child process) whose writer stops for good between a job's two files: the first
    placed, the second's temporary file written. The test kills it there."""
    eng = make_engine(Path(root))
    real = eng.writer._place_one

    def place(folder, job, index, item):
        if index == 1:
            tmp = eng.writer._tmp_write(folder, f"{item.stem}.{item.fmt}", job.id, item.data)
            Path(ready).write_text(str(tmp))
            threading.Event().wait()  # until killed
        return real(folder, job, index, item)
    eng.writer._place_one = place
    eng.submit(Request("generate", {"prompt": "kick", "seed": 7, "count": 2}, "crash"))
    threading.Event().wait()


def test_a_daemon_killed_during_post_reruns_the_job_once_and_leaves_no_partial_file(tmp_path):
    ready = tmp_path / "ready"
    child = multiprocessing.get_context("spawn").Process(target=_die_mid_write, args=(str(tmp_path), str(ready)))
    child.start()
    try:
        wait_until(ready.exists, HANG, "the child daemon to be mid-write")
        assert Path(ready.read_text()).exists()
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.join(HANG)
    visible = [p for p in files(tmp_path) if not p.name.startswith(".")]
    assert sorted(p.suffix for p in visible) == [".json", ".wav"]  # the first file only, complete

    again = make_engine(tmp_path)
    try:
        done = final(again, "crash")
        assert done.state is JobState.DONE and done.attempts == 2 and len(done.outputs) == 2
        wavs = [p for p in files(tmp_path) if p.suffix == ".wav"]
        assert sorted(map(str, wavs)) == sorted(done.outputs)  # exactly once: the re-run reused its names
        assert not [p for p in files(tmp_path) if p.name.endswith(".tmp")]
        for wav in wavs:
            assert sf.info(wav).frames > 0
    finally:
        again.stop(5)
        again.close()
