"""`dawgen send --wait`'s progress view: the plain line contract and the choice of bar or lines."""
import io
import os
import pty
import select
import time

import pytest

from bridge.progress_view import BarProgress, LineProgress, eta_text, progress_display, progress_line
from tests.waiting import FakeClock


def test_plain_line_format_is_the_one_scripts_parse():
    # the Reaper scripts and users' scripts read exactly this shape from a pipe
    assert progress_line(0.42, "generating", 1.234) == "   42.0% generating, ~1.2s left"
    assert progress_line(1.0, "writing", 0.0) == "  100.0% writing, ~0.0s left"
    assert progress_line(0.0, "warming", -1.0) == "    0.0% warming"


def test_line_progress_prints_one_line_per_report():
    out = io.StringIO()
    with progress_display(out) as show:  # a StringIO is no terminal
        assert type(show) is LineProgress
        show(0.25, "generating", 3.0)
        show(1.0, "writing", 0.0)
    assert out.getvalue().splitlines() == ["   25.0% generating, ~3.0s left", "  100.0% writing, ~0.0s left"]


def test_eta_text_rounds_to_seconds_and_says_when_unknown():
    assert eta_text(-1) == "ETA ?"
    assert eta_text(0.4) == "ETA 0:00"
    assert eta_text(75.2) == "ETA 1:15"
    assert eta_text(3599.6) == "ETA 60:00"


def read_until(main: int, last: str, timeout: float = 10.0) -> str:
    """What the terminal received, read until `last` has arrived: a pty hands over what was written
    in pieces, so one read may return only the first frames."""
    drawn = b""
    deadline = time.monotonic() + timeout
    while last.encode() not in drawn and time.monotonic() < deadline:
        ready, _, _ = select.select([main], [], [], max(0.0, deadline - time.monotonic()))
        if ready:
            drawn += os.read(main, 65536)
    return drawn.decode()


@pytest.fixture
def tty():
    main, child = pty.openpty()
    stream = open(child, "w", encoding="utf-8", closefd=True)
    yield main, stream
    stream.close()
    os.close(main)


def test_a_terminal_gets_the_bar_unless_term_is_dumb(tty, monkeypatch):
    _, stream = tty
    monkeypatch.setenv("TERM", "xterm-256color")
    assert type(progress_display(stream)) is BarProgress
    monkeypatch.setenv("TERM", "dumb")
    assert type(progress_display(stream)) is LineProgress


def test_bar_draws_stage_percent_and_eta_even_on_an_unsized_terminal(tty, monkeypatch):
    main, stream = tty  # a fresh pty reports 0 x 0; tqdm alone would draw nothing there
    monkeypatch.setenv("TERM", "xterm")
    with progress_display(stream) as show:
        show(0.5, "warming", -1)
        show(0.0, "generating", 75.0)  # a new stage may start again at 0: the bar goes back
        show(0.425, "generating", 3.2)
    stream.flush()
    drawn = read_until(main, "ETA 0:03")  # the end of the last frame
    frames = [f for f in drawn.replace("\n", "\r").split("\r") if f.strip()]
    assert frames[0].startswith("warming") and "50.0% |" in frames[0] and frames[0].endswith("ETA ?")
    assert frames[1].startswith("generating") and "0.0% |" in frames[1] and frames[1].endswith("ETA 1:15")
    assert frames[-1].startswith("generating") and "42.5% |" in frames[-1] and frames[-1].endswith("ETA 0:03")
    assert all(len(f) <= 79 for f in frames)  # 80 columns assumed, the last one left free


def test_training_reports_print_step_loss_and_the_pace_between_reports():
    clock, out = FakeClock(10.0), io.StringIO()
    show = LineProgress(out, clock)
    show.training(10, 1000, 0.5)
    clock.now += 2.0
    show.training(18, 1000, 0.25)  # 8 steps in 2 s
    assert out.getvalue().splitlines() == ["  step 10/1000, loss 0.5000", "  step 18/1000, loss 0.2500, 4.00 it/s"]


def test_the_bar_shows_a_train_jobs_step_loss_and_pace_beside_its_eta(tty, monkeypatch):
    main, stream = tty
    monkeypatch.setenv("TERM", "xterm")
    clock = FakeClock(10.0)
    with BarProgress(stream, clock) as show:
        show.training(40, 100, 0.125)
        show(0.4, "training", 30.0)
        clock.now += 1.0
        show.training(43, 100, 0.12)
        show(0.43, "training", 28.0)
    stream.flush()
    frames = [f for f in read_until(main, "ETA 0:28").replace("\n", "\r").split("\r") if f.strip()]
    assert frames[-1].startswith("training") and "43.0% |" in frames[-1]
    assert frames[-1].endswith("step 43/100, loss 0.1200, 3.00 it/s  ETA 0:28")
