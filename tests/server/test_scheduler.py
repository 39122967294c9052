import threading

from server.jobs import Job
from server.scheduler import Scheduler


def job(seq, priority=0):
    j = Job(id=f"j{seq}", verb="generate", model="synth", params={}, priority=priority)
    j.seq = seq
    return j


def test_priority_then_fifo_and_positions():
    s = Scheduler()
    assert s.position_of_new(0) == 0
    s.put(job(1))
    assert s.position_of_new(0) == 1
    s.put(job(2))
    assert s.position_of_new(5) == 0  # jumps the queue
    s.put(job(3, priority=5))
    assert s.position(job(2)) == 2
    order = [s.take(0.1).id for _ in range(3)]
    assert order == ["j3", "j1", "j2"]
    assert s.take(0.01) is None


def test_removed_jobs_are_skipped_and_running_counts_ahead():
    s = Scheduler()
    for i in range(1, 4):
        s.put(job(i))
    assert s.remove("j2") is not None
    first = s.take(0.1)
    assert first.id == "j1"
    assert s.position(job(3)) == 1  # j1 running ahead of it
    assert [j.id for j in s.snapshot()] == ["j1", "j3"]
    s.finish(first)
    assert s.take(0.1).id == "j3"


def test_close_wakes_a_waiting_worker():
    s = Scheduler()
    got = []
    t = threading.Thread(target=lambda: got.append(s.take(30)))
    t.start()
    s.close()
    t.join(5)
    assert not t.is_alive() and got == [None]


def test_a_lane_takes_its_own_and_unpinned_jobs_in_order_and_leaves_the_rest():
    s = Scheduler()
    s.put(job(1), lane="cuda:0")
    s.put(job(2))
    s.put(job(3), lane="cuda:0")
    s.put(job(4), lane="cpu")
    assert [s.take(0.01, lane="cpu").id for _ in range(2)] == ["j2", "j4"]
    assert s.take(0.01, lane="cpu") is None  # j1 and j3 wait for their lane
    s.remove("j1")
    assert s.take(0.01, lane="cuda:0").id == "j3"
    assert s.take(0.01, lane="cuda:0") is None


def test_a_pinned_job_wakes_its_lane_while_another_lane_waits():
    s = Scheduler()
    got = []
    waiters = [threading.Thread(target=lambda lane=lane: got.append((lane, s.take(2.0, lane=lane))))
               for lane in ("cpu", "cuda:0")]
    for t in waiters:
        t.start()
    s.put(job(1), lane="cuda:0")
    waiters[1].join(2.5)
    assert ("cuda:0", "j1") in [(lane, j.id if j else None) for lane, j in got]
    waiters[0].join(2.5)
