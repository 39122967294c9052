"""Progress: the one throttle and the one ETA, for generation and training alike.

A backend reports (fraction, stage) as often as it likes (every decoding or sampler step); what
reaches clients is throttled here and nowhere else: a stage change, the end (fraction 1.0) and the
first report always go out, others at most every `interval` seconds. `interval = 0` sends every
report, which is how tests check one event per step without depending on the machine's speed. The
clock is injectable so the throttle and the ETA are tested without sleeping.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from .jobs import Event, EventKind, Job

log = logging.getLogger("dawgen.progress")

Clock = Callable[[], float]
PROGRESS_INTERVAL = 0.1  # seconds between progress events of one job: `[server] progress_interval`
ETA_MIN_FRACTION = 0.02  # below this, extrapolating from the progress so far is mostly noise


class Throttle:
    """True at most every `interval` seconds; `force` always passes (and restarts the interval)."""

    def __init__(self, interval: float, clock: Clock = time.monotonic) -> None:
        self.interval, self._clock = max(0.0, float(interval)), clock
        self._last: float | None = None

    def ready(self, force: bool = False) -> bool:
        now = self._clock()
        if force or self._last is None or now - self._last >= self.interval:
            self._last = now
            return True
        return False


def eta_seconds(fraction: float, elapsed: float, estimate: float) -> float:
    """Seconds left: extrapolated from the pace so far once there is some, else what the backend
    estimated for the whole job minus the time already spent (never negative)."""
    if fraction >= 1.0:
        return 0.0
    if fraction > ETA_MIN_FRACTION:
        return elapsed * (1.0 - fraction) / fraction
    return max(0.0, estimate - elapsed)


class ProgressReporter:
    """Turns a backend's progress calls into throttled PROGRESS events of `job`, with an ETA."""

    def __init__(self, job: Job, emit: Callable[[Event], None], estimate: float,
                 interval: float = PROGRESS_INTERVAL, clock: Clock = time.monotonic) -> None:
        self.job, self._emit, self._estimate, self._clock = job, emit, estimate, clock
        self._start = clock()
        self._throttle = Throttle(interval, clock)

    def __call__(self, fraction: float, stage: str) -> None:
        job = self.job
        stage_changed = stage != job.progress.stage
        eta = eta_seconds(fraction, self._clock() - self._start, self._estimate)
        job.progress.fraction, job.progress.stage, job.progress.eta_seconds = fraction, stage, eta
        if self._throttle.ready(force=stage_changed or fraction >= 1.0):
            self._emit(Event(EventKind.PROGRESS, job))

    def report(self, kind: str, data: dict[str, Any]) -> None:
        """A backend's named report (`training`, `checkpoint`) as an event; its sender throttles it."""
        try:
            event_kind = EventKind(kind)
        except ValueError:
            log.warning("job %s sent an unknown report %r; ignored", self.job.id, kind)
            return
        self._emit(Event(event_kind, self.job, data=dict(data)))
