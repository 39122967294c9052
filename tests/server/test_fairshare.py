"""Fair share in Scheduler.take: round-robin across clients within a priority, weighted by share."""
from server.jobs import Job
from server.scheduler import Scheduler


def job(seq: int, owner: str = "", priority: int = 0) -> Job:
    j = Job(id=f"{owner or 'local'}{seq}", verb="generate", model="synth", params={}, priority=priority, owner=owner)
    j.seq = seq
    return j


def drain(s: Scheduler) -> list[str]:
    order = []
    while (j := s.take(0)) is not None:
        order.append(j.id)
        s.finish(j)
    return order


def test_one_clients_backlog_holds_another_clients_job_back_by_at_most_one_job_per_client():
    s = Scheduler()
    for seq in range(1, 21):
        s.put(job(seq, "a"))
    first = s.take(0)
    s.finish(first)
    s.put(job(21, "b"))
    assert s.position_of_new(0, "b") == 2  # another b job: after b21 and a2, before a3
    assert [j.id for j in s.snapshot()][:3] == ["b21", "a2", "a3"]
    assert s.position(job(21, "b")) == 0
    assert drain(s)[:1] == ["b21"]  # within the next 2 (= clients) jobs; here the very next


def test_a_client_arriving_at_once_alternates_fifo_by_seq():
    s = Scheduler()
    for seq in range(1, 6):
        s.put(job(seq, "a"))
    s.put(job(6, "b"))
    s.put(job(7, "b"))
    assert drain(s) == ["a1", "b6", "a2", "b7", "a3", "a4", "a5"]


def test_shares_two_to_one_give_two_to_one_order():
    s = Scheduler({"a": 2, "b": 1})
    for seq in range(1, 13):
        s.put(job(seq, "a" if seq <= 6 else "b"))
    order = drain(s)[:9]
    assert [o[0] for o in order] == list("abaabaaba")
    assert sum(o[0] == "a" for o in order) == 6 and sum(o[0] == "b" for o in order) == 3


def test_snapshot_and_positions_match_the_take_order():
    s = Scheduler({"a": 3})
    for seq, owner in enumerate("aaaaabbc", start=1):
        s.put(job(seq, owner))
    s.put(job(9, "", priority=5))  # a higher priority still goes first, whoever asks
    predicted = [j.id for j in s.snapshot()]
    positions = {j.id: s.position(j) for j in s.snapshot()}
    assert predicted[0] == "local9"
    assert drain(s) == predicted
    assert positions == {job_id: i for i, job_id in enumerate(predicted)}


def test_an_idle_client_does_not_hoard_credit():
    s = Scheduler()
    for seq in range(1, 4):
        s.put(job(seq, "a"))
    drain(s)  # a ran 3 jobs alone; b was idle all along
    for seq in range(4, 8):
        s.put(job(seq, "a" if seq % 2 == 0 else "b"))  # a4 b5 a6 b7
    assert drain(s) == ["a4", "b5", "a6", "b7"]  # b does not get 3 in a row for a's past


def test_cancelled_jobs_leave_the_order_and_the_owner_counts():
    s = Scheduler()
    for seq, owner in enumerate("aab", start=1):
        s.put(job(seq, owner))
    assert s.queued_count("a") == 2 and s.queued_count("b") == 1
    assert s.remove("b3") is not None
    assert s.queued_count("b") == 0 and s.queued_count() == 2
    assert drain(s) == ["a1", "a2"]


def test_a_pinned_job_of_the_chosen_client_is_skipped_for_the_next_eligible_one():
    s = Scheduler()
    s.put(job(1, "a"), lane="cuda:0")
    s.put(job(2, "a"))
    s.put(job(3, "b"), lane="cuda:0")
    got = s.take(0, lane="cpu")
    assert got is not None and got.id == "a2"
    assert s.take(0, lane="cpu") is None
