"""`dawgen send --wait` against a real daemon: a progress bar on a terminal, plain lines in a pipe."""
import os
import pty
import re
import select
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
REQUEST = ["send", "generate", "prompt=lofi drum loop", "bars=2", "count=2", "seed=7", "--wait"]
PLAIN = re.compile(r"^ +\d{1,3}\.\d% [a-z_-]+(, ~\d+\.\ds left)?$")
BAR = re.compile(r"(?P<stage>[a-z_-]+) +(?P<percent>\d{1,3}\.\d)% \|[^|\r\n]*\| ETA (\?|\d+:\d\d)")
HANG = 60.0  # seconds without any output that mean a hang; never reached on a slow machine


def on_a_terminal(args: list[str], on_output: Callable[[str], None] = lambda text: None) -> tuple[int, str, str]:
    """Run `dawgen ARGS` with stderr on a pseudo-terminal and stdout on a pipe, calling `on_output`
    with everything drawn so far as it comes; returns (exit code, stdout, what the terminal got)."""
    main, child = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "bridge", *args], cwd=REPO, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=child, env=dict(os.environ, TERM="xterm"))
    os.close(child)
    drawn = b""
    try:
        while True:
            ready, _, _ = select.select([main], [], [], HANG)
            assert ready, f"no output for {HANG}s; so far: {drawn!r}"
            try:
                chunk = os.read(main, 65536)
            except OSError:  # EIO: the command ended and closed the terminal
                break
            if not chunk:
                break
            drawn += chunk
            on_output(drawn.decode(errors="replace"))
        out = proc.stdout.read().decode()
        return proc.wait(HANG), out, drawn.decode()
    finally:
        os.close(main)
        proc.stdout.close()


def test_send_wait_draws_a_bar_with_stage_and_percent_on_a_terminal(daemon):
    rc, out, drawn = on_a_terminal([*REQUEST, "--port", str(daemon.port)])
    assert rc == 0, drawn
    assert [Path(p).name for p in out.split()] == ["lofi-drum-loop_7_120bpm_2bars.wav",
                                                     "lofi-drum-loop_8_120bpm_2bars.wav"]
    assert drawn.startswith("queued job ")
    frames = [m.groupdict() for m in BAR.finditer(drawn)]
    assert frames, f"no progress bar in {drawn!r}"
    assert {f["stage"] for f in frames} <= {"warming", "generating", "writing"}
    assert all(0.0 <= float(f["percent"]) <= 100.0 for f in frames)
    after_queued = drawn.split("\n", 1)[1]
    assert after_queued.startswith("\r")  # drawn in place, not printed as lines
    assert not [line for line in drawn.splitlines() if PLAIN.match(line.strip("\r"))]


def test_send_wait_prints_plain_lines_into_a_pipe(daemon):
    # TERM says a terminal could draw, but stderr is a pipe: scripts get the line format they parse
    r = subprocess.run([sys.executable, "-m", "bridge", *REQUEST, "--port", str(daemon.port)], cwd=REPO,
                       capture_output=True, text=True, timeout=HANG, env=dict(os.environ, TERM="xterm"))
    assert r.returncode == 0, r.stderr
    assert len(r.stdout.split()) == 2
    lines = r.stderr.splitlines()
    assert lines[0].startswith("queued job ")
    assert lines[1:] and all(PLAIN.match(line) for line in lines[1:]), r.stderr
    assert "\r" not in r.stderr and "|" not in r.stderr


def test_an_error_after_the_bar_starts_a_line_of_its_own(daemon):
    # `dir` names a file, not a folder: the request is accepted, the job generates (the bar is
    # drawn up to `writing`) and then fails when it places its files
    (daemon.project / "blocked").write_text("a file where a folder is wanted")
    rc, out, drawn = on_a_terminal(["send", "generate", "prompt=kick", "dir=blocked", "--wait",
                                    "--port", str(daemon.port)])
    assert rc == 1 and out == "", drawn
    assert BAR.search(drawn), drawn
    before, sep, error = drawn.replace("\r\n", "\n").partition("\ndawgen send: ")
    assert sep and "\r" in before, drawn  # the bar, closed, then the error on a line of its own
    assert error.split(":")[0] in ("write_failed", "backend_failed"), drawn
