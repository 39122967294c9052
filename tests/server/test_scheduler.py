import threading
import time

from server.jobs import Job, JobState
from server.scheduler import Scheduler, Worker, fill_etas


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


class HeldRunner:
    """A runner whose jobs end when the test says; `model_done` is called as each one starts."""

    def __init__(self, pipelines=True):
        self.pipelines = pipelines
        self.started, self.ends = [], {}
        self.lock = threading.Lock()

    def start(self):
        return None

    def execute(self, job, runner, model_done=None):
        end = threading.Event()
        with self.lock:
            self.started.append(job.id)
            self.ends[job.id] = end
        if self.pipelines and model_done is not None:
            model_done()  # the device is free: this job is only being written now
        assert end.wait(10)


def _started(runner, n, timeout=5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with runner.lock:
            if len(runner.started) >= n:
                return list(runner.started)
        time.sleep(0.01)
    with runner.lock:
        return list(runner.started)


def test_a_pipelining_lane_takes_the_next_job_while_the_last_is_written_up_to_its_depth():
    sched, runner = Scheduler(), HeldRunner()
    worker = Worker("cpu", sched, runner, runner.execute, depth=2)
    for seq in (1, 2, 3):
        sched.put(job(seq))
    worker.start()
    assert _started(runner, 2) == ["j1", "j2"]  # j2 began while j1 was still held
    time.sleep(0.2)
    assert _started(runner, 3, timeout=0.1) == ["j1", "j2"]  # depth 2: j3 waits in the queue
    runner.ends["j1"].set()
    assert _started(runner, 3) == ["j1", "j2", "j3"]
    runner.ends["j2"].set()
    runner.ends["j3"].set()
    worker.stop()
    worker.join(5)
    assert not worker.is_alive()


def test_a_runner_that_never_says_model_done_runs_one_job_at_a_time():
    sched, runner = Scheduler(), HeldRunner(pipelines=False)
    worker = Worker("cpu", sched, runner, runner.execute, depth=2)
    sched.put(job(1))
    sched.put(job(2))
    worker.start()
    assert _started(runner, 1) == ["j1"]
    time.sleep(0.2)
    assert _started(runner, 2, timeout=0.1) == ["j1"]
    runner.ends["j1"].set()
    assert _started(runner, 2) == ["j1", "j2"]
    runner.ends["j2"].set()
    worker.stop()
    worker.join(5)


def test_stopping_a_lane_waits_for_the_jobs_it_holds():
    sched, runner = Scheduler(), HeldRunner()
    worker = Worker("cpu", sched, runner, runner.execute, depth=2)
    sched.put(job(1))
    worker.start()
    assert _started(runner, 1) == ["j1"]
    worker.stop()
    worker.join(1.0)
    assert worker.is_alive()  # j1 is still being written: the drain waits for it
    runner.ends["j1"].set()
    worker.join(5)
    assert not worker.is_alive()


def test_queue_etas_are_a_list_schedule_over_the_lanes():
    running, unknown, *queued = [job(i) for i in range(1, 6)]
    running.state, running.progress.eta_seconds = JobState.RUNNING, 5.0  # holds lane 1 for 5 s
    unknown.state, unknown.progress.eta_seconds = JobState.RUNNING, -1.0  # no ETA yet: its estimate
    estimates = {"j2": 3.0, "j3": 2.0, "j4": 4.0, "j5": 1.0}
    fill_etas([running, unknown, *queued], 2, lambda j: estimates[j.id])
    # lanes free at 5 and 3: j3 on lane 2 (3 + 2 = 5), j4 on lane 1 (5 + 4 = 9), j5 on lane 2 (5 + 1)
    assert [j.progress.eta_seconds for j in queued] == [5.0, 9.0, 6.0]
    assert running.progress.eta_seconds == 5.0 and unknown.progress.eta_seconds == -1.0
