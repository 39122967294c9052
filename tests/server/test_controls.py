"""The engine's controls: a queued job's priority (scheduler + journal), and model load / unload
routed to the lane's runner (inline: at once or after the running job; process: the model process)."""
from __future__ import annotations

import pytest

from server.config import load
from server.engine import Engine
from server.errors import DawgenError, ErrorCode
from server.jobs import Job, Request
from server.scheduler import Scheduler
from tests.waiting import wait_until


def job(seq: int, priority: int = 0) -> Job:
    j = Job(id=f"j{seq}", verb="generate", model="synth", params={}, priority=priority)
    j.seq = seq
    return j


def test_a_reprioritised_job_runs_in_its_new_place_and_its_old_entry_is_skipped():
    s = Scheduler()
    for i in range(1, 5):
        s.put(job(i))
    assert s.reprioritise("j3", 10).priority == 10
    assert s.position(s.get("j3")) == 0 and s.position_of_new(10) == 1
    s.reprioritise("j1", 5)
    s.reprioritise("j1", 0)  # and back: its age still puts it first among the zeros
    assert [j.id for j in s.snapshot()] == ["j3", "j1", "j2", "j4"]
    assert [s.take(0.01).id for _ in range(4)] == ["j3", "j1", "j2", "j4"]
    assert s.take(0.01) is None  # the stale heap entries run nothing twice
    assert s.reprioritise("j2", 1) is None  # not queued any more


def engine_at(tmp_path, isolation: str = "thread") -> Engine:
    return Engine(load(None, {"output.root": str(tmp_path / "out"), "server.state_dir": str(tmp_path / "state"),
                              "server.isolation": isolation}))


def test_set_priority_moves_a_queued_job_and_the_journal_keeps_it(tmp_path):
    engine = engine_at(tmp_path)
    engine.start(workers=False)
    ids = [engine.submit(Request("generate", {"prompt": f"p{i}"}))[0].id for i in range(3)]
    moved, position = engine.set_priority(ids[2], 7)
    assert (moved.priority, position) == (7, 0)
    assert [j.id for j in engine.queue()] == [ids[2], ids[0], ids[1]]
    assert [j.id for j in engine.journal.unfinished()] == [ids[2], ids[0], ids[1]]  # a restart keeps the order
    for bad in (101, -101, True):
        with pytest.raises(DawgenError) as refused:
            engine.set_priority(ids[0], bad)
        assert refused.value.code is ErrorCode.BAD_REQUEST
    engine.cancel(ids[1])
    with pytest.raises(DawgenError) as finished:
        engine.set_priority(ids[1], 3)
    assert finished.value.code is ErrorCode.ALREADY_FINISHED
    with pytest.raises(DawgenError) as unknown:
        engine.set_priority("nope", 3)
    assert unknown.value.code is ErrorCode.NOT_FOUND
    engine.stop(1)
    engine.close()


def loaded(engine: Engine, name: str) -> bool:
    return next(m for m in engine.models() if m["name"] == name).get("loaded") is True


@pytest.mark.parametrize("isolation", ["thread", "process"])
def test_load_and_unload_reach_the_lane_that_holds_the_model(tmp_path, isolation):
    engine = engine_at(tmp_path, isolation)
    engine.start()
    try:
        assert not loaded(engine, "synth")
        assert engine.load("synth") == ["cpu"]
        wait_until(lambda: loaded(engine, "synth"), timeout=60, what="the synth to be warm")
        assert engine.unload("synth") == ["cpu"]
        wait_until(lambda: not loaded(engine, "synth"), timeout=30, what="the synth to be unloaded")
        with pytest.raises(DawgenError) as unknown:
            engine.load("no-such-model")
        assert unknown.value.code is ErrorCode.UNKNOWN_MODEL
        with pytest.raises(DawgenError) as unknown:
            engine.unload("no-such-model")
        assert unknown.value.code is ErrorCode.UNKNOWN_MODEL
    finally:
        engine.stop(5)
        engine.close()


def test_an_inline_unload_asked_during_a_job_waits_for_it(tmp_path):
    from server.model_process import InlineRunner

    engine = engine_at(tmp_path)
    runner = InlineRunner(engine.config, "cpu", engine.registry, engine.writer)
    engine.registry.backend("synth")
    runner._busy = True  # a job runs here (it may be using the synth)
    runner.manage("unload", "synth")
    assert engine.registry.get("synth").backend.loaded  # not pulled out from under the job
    runner._drain()  # the job ended
    assert not engine.registry.get("synth").backend.loaded
    engine.close()
