"""How `dawgen send --wait` shows a job's progress on stderr: a live bar on a terminal, lines elsewhere.

The line format (`  42.0% generating, ~1.2s left`) is a contract: the Reaper scripts and people's own
scripts read it from a pipe or a file, so it stays exactly as it is. The bar is for a person watching
and may change. tqdm draws it (no dependencies of its own, and the lightest of the bar libraries to
import: measured in docs/DEVELOPING.md); it is imported only when a terminal will show it, so
`dawgen` starts no slower in scripts.
"""
from __future__ import annotations

import os
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, TextIO

BAR_FORMAT = "{desc:<11} {percentage:5.1f}% |{bar}| {detail}{left}"


def progress_line(fraction: float, stage: str, eta: float) -> str:
    """One plain progress line; `eta` < 0 means the daemon does not know yet."""
    eta_text = f", ~{eta:.1f}s left" if eta >= 0 else ""
    return f"  {fraction * 100:5.1f}% {stage}{eta_text}"


def eta_text(eta: float) -> str:
    """The bar's right end: the daemon's ETA, which knows the model's pace (tqdm's own would only
    extrapolate the reports it saw, and knows nothing during `warming`)."""
    if eta < 0:
        return "ETA ?"
    minutes, seconds = divmod(int(round(eta)), 60)
    return f"ETA {minutes}:{seconds:02d}"


class StepRate:
    """Training steps per second between two reports (the daemon sends one a second at most)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._last: tuple[int, float] | None = None
        self.per_second = -1.0  # unknown until two reports

    def __call__(self, step: int) -> float:
        now = self._clock()
        if self._last is not None and step > self._last[0] and now > self._last[1]:
            self.per_second = (step - self._last[0]) / (now - self._last[1])
        self._last = (step, now)
        return self.per_second


def training_text(step: int, steps: int, loss: float, rate: float) -> str:
    """`step 40/1000, loss 0.1234, 3.2 it/s`: what a train job's report says."""
    pace = f", {rate:.2f} it/s" if rate >= 0 else ""
    return f"step {step}/{steps}, loss {loss:.4f}{pace}"


def is_terminal(stream: TextIO) -> bool:
    """A terminal that can redraw a line: a tty whose TERM is not `dumb` (Emacs shells, some CI)."""
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):  # a closed or replaced stream
        return False
    return tty and os.environ.get("TERM", "") != "dumb"


class LineProgress:
    """Prints every progress report as one line (pipes, files, scripts)."""

    def __init__(self, stream: TextIO, clock: Callable[[], float] = time.monotonic) -> None:
        self.stream = stream
        self._rate = StepRate(clock)

    def __call__(self, fraction: float, stage: str, eta: float) -> None:
        print(progress_line(fraction, stage, eta), file=self.stream, flush=True)

    def note(self, text: str) -> None:
        """A line of its own (a train job's dataset summary), above the bar when there is one."""
        print(f"  {text}", file=self.stream, flush=True)

    def training(self, step: int, steps: int, loss: float) -> None:
        """A train job's report: its own line (`  step 40/1000, loss 0.1234, 3.20 it/s`)."""
        print(f"  {training_text(step, steps, loss, self._rate(step))}", file=self.stream, flush=True)

    def close(self) -> None:
        """Nothing to finish: every line is already complete."""

    def __enter__(self) -> LineProgress:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


class BarProgress(LineProgress):
    """One line redrawn in place: stage, percent, a bar and the ETA. Left on screen when closed, so
    the error line that may follow starts on a line of its own."""

    def __init__(self, stream: TextIO, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(stream, clock)
        self._bar: Any = None
        self._detail = ""

    def note(self, text: str) -> None:
        if self._bar is not None:
            self._bar.write(f"  {text}", file=self.stream)
        else:
            super().note(text)

    def training(self, step: int, steps: int, loss: float) -> None:
        self._detail = training_text(step, steps, loss, self._rate(step)) + "  "
        if self._bar is not None:
            self._bar.detail = self._detail
            self._bar.refresh()

    def __call__(self, fraction: float, stage: str, eta: float) -> None:
        # The fraction is set, not added: a stage may start again from 0 (warming, then generating).
        percent = min(100.0, max(0.0, fraction * 100))
        if self._bar is None:
            self._bar = _open_bar(self.stream, percent, stage, eta_text(eta))
            self._bar.detail = self._detail
            return
        self._bar.left = eta_text(eta)
        self._bar.set_description_str(stage, refresh=False)
        self._bar.n = percent
        self._bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def terminal_size(stream: TextIO) -> tuple[int, int]:
    """(columns, rows) to draw in. A terminal nobody sized (a bare pty, some CI runners) reports
    0 x 0, where tqdm would draw nothing at all: 80 x 24 then."""
    try:
        size = os.get_terminal_size(stream.fileno())
        width, height = size.columns, size.lines
    except (OSError, ValueError, AttributeError):
        width = height = 0
    return (width or 80) - 1, height or 24  # not the last column: some terminals wrap when it is written


def _open_bar(stream: TextIO, percent: float, stage: str, left: str) -> Any:
    from tqdm import tqdm  # here, not at the top: only a terminal pays for the import

    class _Bar(tqdm):  # type: ignore[misc, valid-type]
        def __init__(self, left: str, **kwargs: Any) -> None:
            self.left, self.detail = left, ""
            super().__init__(**kwargs)

        @property
        def format_dict(self) -> dict[str, Any]:
            self.ncols, self.nrows = terminal_size(self.fp)  # follows a resized window
            return {**super().format_dict, "left": self.left, "detail": getattr(self, "detail", "")}

    # mininterval=0: the daemon already throttles progress ([server] progress_interval)
    width, height = terminal_size(stream)
    return _Bar(left, total=100, initial=percent, desc=stage, file=stream, bar_format=BAR_FORMAT,
                ncols=width, nrows=height, mininterval=0, leave=True)


def progress_display(stream: TextIO) -> LineProgress:
    """The progress view for `stream`: a bar on a terminal, plain lines anywhere else."""
    return BarProgress(stream) if is_terminal(stream) else LineProgress(stream)


def follow_job(client: Any, ack: Any, timeout: float, stream: TextIO) -> list[str]:
    """After a request's ack: say the job is queued, show its progress (a train job's dataset
    summary and steps too) on `stream` until it ends, and return its output paths. The view is
    closed before an error propagates, so the error gets a line of its own."""
    job_id = str(ack.args[1])
    print(f"queued job {job_id} (position {ack.args[2]})", file=stream)
    with progress_display(stream) as show:
        return list(client.wait(job_id, timeout=timeout, on_progress=show, on_training=show.training,
                                on_dataset=show.note))
