"""Post-processing and writing beside the model lanes (the pipeline behind "time to file").

A lane's model returns a job's raw outputs; the DAW-ready chain and the atomic write run here, on a
few threads of the daemon process (numpy, scipy, soxr and soundfile release the GIL), while the
lane takes its next job at once. So a run of requests costs about max(model, post) per request, not
their sum, and post never sits in the model process's critical path.

The bound keeps memory in check: a job's raw outputs are held until written, so a lane that hands
over a job while `limit` jobs are already in post waits for one of them to finish. The job stays
RUNNING (stage "writing") until its files are placed, then `finish` makes it final (journal, event);
a daemon that dies meanwhile re-runs the journaled job on restart (server/engine.py `_recover`),
and the writer's temporary names and sidecar claim mean no partial file is ever visible.
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable

from .errors import ErrorCode
from .execute import Made, fail, write_made
from .jobs import Job, JobState
from .output.writer import OutputWriter

log = logging.getLogger("dawgen.post_pool")

POST_JOBS_PER_LANE = 2  # jobs in post at once per model lane: one being written, one more as slack
Finish = Callable[[Job], None]
_Task = tuple[Job, Made, threading.Event]


class PostPool:
    """`hand_over(job, made, cancel)`: post-process and write on a pool thread, then `finish(job)`.
    `limit = 0`: inline, in the caller's thread (`[server] isolation = "immediate"`)."""

    def __init__(self, writer: OutputWriter, finish: Finish, limit: int) -> None:
        self._writer, self._finish, self.limit = writer, finish, max(0, limit)
        self._slots = threading.Semaphore(self.limit)
        self._tasks: queue.Queue[_Task | None] = queue.Queue()
        self._busy = 0  # handed over and not yet finished
        self._idle = threading.Condition()
        # daemon threads: a post that outlives the drain never holds the daemon's exit (its job is
        # still RUNNING in the journal and is re-run on restart)
        self._threads = [threading.Thread(target=self._serve, name=f"dawgen-post-{i}", daemon=True)
                         for i in range(self.limit)]
        for thread in self._threads:
            thread.start()

    @property
    def in_post(self) -> int:
        """Jobs handed over whose files are not written yet."""
        with self._idle:
            return self._busy

    def hand_over(self, job: Job, made: Made | None, cancel: threading.Event) -> None:
        """`made` None: the job is already final (failed or cancelled in the model), finish it now."""
        if made is None:
            return self._finish(job)
        if self.limit == 0:
            return self._post(job, made, cancel)
        self._slots.acquire()  # the bound: wait while `limit` jobs are in post
        with self._idle:
            self._busy += 1
        self._tasks.put((job, made, cancel))
        return None

    def _serve(self) -> None:
        while (task := self._tasks.get()) is not None:
            try:
                self._post(*task)
            finally:
                with self._idle:
                    self._busy -= 1
                    self._idle.notify_all()
                self._slots.release()

    def _post(self, job: Job, made: Made, cancel: threading.Event) -> None:
        try:
            write_made(job, made, self._writer, cancel)
        except Exception as exc:  # a bug in one job's post must not end the pool thread
            log.exception("post-processing job %s failed", job.id)
            fail(job, JobState.FAILED, ErrorCode.BACKEND_FAILED, f"{type(exc).__name__}: {exc}")
        try:
            self._finish(job)
        except Exception:  # e.g. the journal closed under a post that outlived the drain
            log.exception("finishing job %s failed; it is re-run on the next start", job.id)

    def drain(self, timeout: float) -> bool:
        """Wait until every handed-over job is finished; False if some still run at `timeout`."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True

    def close(self) -> None:
        """The threads end once the jobs already handed over are done (call after drain)."""
        for _ in self._threads:
            self._tasks.put(None)
