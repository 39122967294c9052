"""The one progress throttle and ETA, on an injected clock (no sleeping, no machine speed)."""
import pytest

from server.jobs import EventKind, Job
from server.progress import ProgressReporter, Throttle, eta_seconds
from tests.waiting import FakeClock


def test_throttle_passes_the_first_then_one_per_interval_and_every_forced():
    clock = FakeClock()
    throttle = Throttle(0.1, clock)
    assert throttle.ready()
    clock.now += 0.05
    assert not throttle.ready()
    assert throttle.ready(force=True)  # and the interval restarts here
    clock.now += 0.09
    assert not throttle.ready()
    clock.now += 0.02
    assert throttle.ready()


def test_zero_interval_passes_every_call():
    throttle = Throttle(0, FakeClock())
    assert all(throttle.ready() for _ in range(50))


def test_eta_from_the_pace_once_there_is_some_else_from_the_estimate():
    assert eta_seconds(0.5, elapsed=4.0, estimate=100.0) == pytest.approx(4.0)
    assert eta_seconds(0.25, elapsed=1.0, estimate=100.0) == pytest.approx(3.0)
    assert eta_seconds(0.0, elapsed=2.0, estimate=10.0) == pytest.approx(8.0)
    assert eta_seconds(0.01, elapsed=20.0, estimate=10.0) == 0.0  # past the estimate: never negative
    assert eta_seconds(1.0, elapsed=5.0, estimate=10.0) == 0.0


def _reporter(interval: float, clock: FakeClock):
    job = Job(id="j1", verb="generate", model="synth", params={})
    events = []  # (kind, stage) as each event went out: the job itself changes afterwards
    emit = lambda e: events.append((e.kind, e.job.progress.stage))  # noqa: E731
    return ProgressReporter(job, emit, estimate=10.0, interval=interval, clock=clock), events, job


def test_reporter_sends_stage_changes_and_the_end_and_throttles_the_rest():
    clock = FakeClock()
    report, events, job = _reporter(0.1, clock)
    report(0.0, "warming")
    for step in range(1, 101):  # 100 steps, 10 ms apart: one second of generating
        clock.now += 0.01
        report(step / 100 * 0.9, "generating")
    clock.now += 0.01
    report(1.0, "writing")
    stages = [stage for _, stage in events]
    assert all(kind is EventKind.PROGRESS for kind, _ in events)
    assert stages[0] == "warming" and stages[1] == "generating" and stages[-1] == "writing"
    generating = stages.count("generating")
    assert 10 <= generating <= 11  # the stage change, then one per 0.1 s of the 1 s
    assert job.progress.fraction == 1.0 and job.progress.eta_seconds == 0.0


def test_reporter_with_interval_zero_sends_one_event_per_step_with_a_pace_eta():
    clock = FakeClock()
    report, events, job = _reporter(0, clock)
    for step in range(1, 21):
        clock.now += 0.5
        report(step / 40, "generating")
    assert len(events) == 20
    # half way after 10 s of reports at a steady pace: 10 s left
    assert job.progress.fraction == 0.5 and job.progress.eta_seconds == pytest.approx(10.0)
