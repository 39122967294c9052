import os
import queue
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

import server.journal as journal_module
from server.errors import DawgenError, ErrorCode
from server.jobs import Job, JobState
from server.journal import DAY, WAL_SIZE_LIMIT, Entry, Journal, Pruner

REPO = Path(__file__).resolve().parents[2]


def make_job(req_id="r1", priority=0, age_days=0.0):
    return Job(id=Job.new_id(), verb="generate", model="synth", params={"prompt": "kick"},
               req_id=req_id, client={"udp": ["127.0.0.1", 9]}, priority=priority,
               created=time.time() - age_days * 86400)


def test_record_survives_reopen_and_recovers_in_order(tmp_path):
    path = tmp_path / "j.sqlite3"
    j = Journal(path)
    a, _ = j.record(make_job("a"), {"v": 1})
    b, _ = j.record(make_job("b", priority=5), {"v": 2})
    c, _ = j.record(make_job("c"), {"v": 3})
    c.state = JobState.DONE
    j.save(c)
    a.state = JobState.RUNNING
    a.attempts = 1
    j.save(a)
    j.close()  # as after a crash: nothing but the file remains
    again = Journal(path)
    unfinished = again.unfinished()
    assert [x.req_id for x in unfinished] == ["b", "a"]  # priority first, then FIFO
    assert unfinished[1].state is JobState.RUNNING and unfinished[1].attempts == 1
    assert again.find("c").state is JobState.DONE
    assert again.request_of(b.id) == {"v": 2}


def test_same_request_id_dedupes_and_conflict_is_an_error():
    j = Journal(":memory:")
    first, created = j.record(make_job("same"), {"p": 1})
    second, created2 = j.record(make_job("same"), {"p": 1})
    assert created and not created2 and second.id == first.id
    with pytest.raises(DawgenError) as info:
        j.record(make_job("same"), {"p": 2})
    assert info.value.code == "duplicate_id"
    # empty ids never dedupe
    x, cx = j.record(make_job(""), {"p": 1})
    y, cy = j.record(make_job(""), {"p": 1})
    assert cx and cy and x.id != y.id


def test_dedupe_window_expires():
    j = Journal(":memory:", dedupe_seconds=600.0)
    first, _ = j.record(make_job("r", age_days=1), {"p": 1})  # made a day ago: outside the window
    second, created = j.record(make_job("r"), {"p": 2})
    assert created and second.id != first.id


def test_prune_forgets_only_old_finished_jobs():
    j = Journal(":memory:")
    old_done, _ = j.record(make_job("a", age_days=40), {})
    old_queued, _ = j.record(make_job("b", age_days=40), {})
    new_done, _ = j.record(make_job("c"), {})
    for job in (old_done, new_done):
        job.state = JobState.DONE
        j.save(job)
    assert j.prune(30) == 1
    assert j.get(old_done.id) is None
    assert j.get(old_queued.id) is not None and j.get(new_done.id) is not None


# -- group commit ---------------------------------------------------------------------------------
def committed_req_ids(path) -> list[str]:
    """What another connection (another process after a crash) sees: committed rows only."""
    db = sqlite3.connect(str(path))
    try:
        return [r[0] for r in db.execute("SELECT req_id FROM jobs ORDER BY seq")]
    finally:
        db.close()


def test_a_batch_is_one_transaction_that_dedupes_within_itself(tmp_path):
    path = tmp_path / "j.sqlite3"
    j = Journal(path)
    entries = [Entry(make_job("x"), {"p": 1}), Entry(make_job("x"), {"p": 1}), Entry(make_job("x"), {"p": 2}),
               Entry(make_job(""), {"p": 1}), Entry(make_job(""), {"p": 1})]
    first, again, conflict, blank1, blank2 = j.record_batch(entries)
    assert first == (entries[0].job, True)
    assert again == (entries[0].job, False)  # the resent request inside the same batch: the same job
    assert isinstance(conflict, DawgenError) and conflict.code == "duplicate_id"
    assert blank1[1] and blank2[1] and blank1[0].id != blank2[0].id  # no id: never deduplicated
    assert committed_req_ids(path) == ["x", "", ""]  # on disk when record_batch returns
    assert 0 < entries[0].job.seq < entries[3].job.seq < entries[4].job.seq  # FIFO order kept
    # the next batch dedupes against what the first committed
    (later,) = j.record_batch([Entry(make_job("x"), {"p": 1})])
    assert later[0].id == entries[0].job.id and later[1] is False
    j.close()


def test_admit_runs_after_dedupe_and_a_refusal_journals_nothing():
    j = Journal(":memory:")
    calls = []

    def full() -> None:
        calls.append(1)
        raise DawgenError(ErrorCode.QUEUE_FULL, "1 jobs queued, the limit is [server] max_queued = 1")

    accepted, _ = j.record(make_job("a"), {"p": 1})
    resent, created = j.record(make_job("a"), {"p": 1}, admit=full)  # dedupe first: a resend is answered
    assert resent.id == accepted.id and not created and calls == []
    with pytest.raises(DawgenError) as info:
        j.record(make_job("b"), {"p": 1}, admit=full)
    assert info.value.code == "queue_full" and calls == [1]
    assert j.find("b") is None and [x.req_id for x in j.recent()] == ["a"]


def test_a_database_error_refuses_the_whole_batch(tmp_path):
    path = tmp_path / "j.sqlite3"
    j = Journal(path)

    def disk_trouble() -> None:
        raise sqlite3.OperationalError("disk I/O error")

    outcomes = j.record_batch([Entry(make_job("a"), {}), Entry(make_job("b"), {}, admit=disk_trouble),
                               Entry(make_job("c"), {})])
    assert [o.code for o in outcomes] == ["internal"] * 3  # none acknowledged...
    assert committed_req_ids(path) == []  # ...and none kept: "a" was rolled back with the rest
    assert j.record(make_job("d"), {})[1] and committed_req_ids(path) == ["d"]  # the journal goes on
    j.close()


def test_every_acknowledged_job_survives_a_kill(tmp_path):
    """A process records batches and prints each job once record_batch returned; kill -9 mid-stream:
    the reopened journal holds every printed job."""
    path = tmp_path / "j.sqlite3"
    code = (
        "import sys\n"
        "from server.journal import Entry, Journal\n"
        "from server.jobs import Job\n"
        f"j = Journal({str(path)!r})\n"
        "n = 0\n"
        "while True:\n"
        "    batch = [Entry(Job(id=Job.new_id(), verb='generate', model='synth', params={}, req_id=f'r{n + k}'), {'n': n + k})\n"
        "             for k in range(1 + n % 7)]\n"
        "    n += len(batch)\n"
        "    for job, created in j.record_batch(batch):\n"
        "        print(job.req_id, flush=True)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=REPO, stdout=subprocess.PIPE, text=True)
    acked = [proc.stdout.readline().strip() for _ in range(300)]
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    assert all(acked)
    again = Journal(path)
    assert {r.req_id for r in again.recent(100000)} >= set(acked)
    again.close()


def test_the_wal_file_is_cut_back_after_a_checkpoint(tmp_path):
    path = tmp_path / "j.sqlite3"
    j = Journal(path)
    for n in range(1200):  # one commit each: >= 4 KB of WAL per commit, past the limit
        j.record(make_job(f"r{n}"), {"n": n})
    db = sqlite3.connect(str(path))
    db.execute("PRAGMA wal_checkpoint(PASSIVE)")
    db.close()
    j.record(make_job("next"), {})  # the first write after a full checkpoint restarts the WAL
    assert os.path.getsize(str(path) + "-wal") <= WAL_SIZE_LIMIT
    assert len(j.recent(5000)) == 1201
    j.close()


# -- pruning ----------------------------------------------------------------------------------------
def finish(j, job, when):
    job.state, job.finished = JobState.DONE, when
    j.save(job)


def test_prune_counts_from_when_a_job_finished_and_deletes_in_chunks(monkeypatch):
    monkeypatch.setattr(journal_module, "PRUNE_CHUNK", 2)
    j = Journal(":memory:")
    now = time.time()
    old = [j.record(make_job(f"old{n}"), {})[0] for n in range(5)]
    for job in old:
        finish(j, job, now - 31 * DAY)
    late, _ = j.record(make_job("late"), {})  # created long ago, finished yesterday: kept
    j._db.execute("UPDATE jobs SET created = created - 40 * 86400 WHERE req_id = 'late'")
    finish(j, late, now - DAY)
    queued, _ = j.record(make_job("queued"), {})
    j._db.execute("UPDATE jobs SET created = created - 40 * 86400 WHERE req_id = 'queued'")
    assert j.prune(30, now=now) == 5
    assert sorted(x.req_id for x in j.recent()) == ["late", "queued"]
    assert j.prune(30, now=now + 30 * DAY) == 1  # a month on, yesterday's job goes too
    assert [x.req_id for x in j.recent()] == ["queued"]  # unfinished jobs never


def test_the_pruner_runs_each_interval_until_stopped():
    j = Journal(":memory:")
    clock = [time.time()]
    ticks: queue.Queue = queue.Queue()
    waits: queue.Queue = queue.Queue()

    def wait(seconds: float) -> bool:  # stands for a day passing: the test says when
        waits.put(seconds)
        return ticks.get(timeout=30)

    pruner = Pruner(j, keep_days=30, clock=lambda: clock[0], wait=wait)
    pruner.start()
    assert waits.get(timeout=30) == DAY
    job, _ = j.record(make_job("a"), {})
    finish(j, job, clock[0])
    ticks.put(False)  # a day passes: nothing is old enough yet
    waits.get(timeout=30)
    assert j.find("a") is not None
    clock[0] += 31 * DAY
    ticks.put(False)
    waits.get(timeout=30)  # the loop is back waiting: that prune is done
    assert j.find("a") is None
    ticks.put(True)  # stop waiting: the loop ends
    pruner.stop()
