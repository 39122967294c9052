import time

import pytest

from server.errors import DawgenError
from server.jobs import Job, JobState
from server.journal import Journal


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
