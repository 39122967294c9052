"""A private JACK server with the dummy driver: real MIDI ports and audio devices without a sound card.

Each fixture starts its own named server (JACK_DEFAULT_SERVER, inherited by daemons the test starts)
and stops it afterwards. When jackd is missing or cannot start, the tests that need it are skipped
with the reason: never counted as passed.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

JACK_BACKEND = "mido.backends.rtmidi/UNIX_JACK"


SLOTS = 4  # server names dawgen-test-0..3: JACK has 8 server slots, and reclaims a dead server's
# slot only when a server of the same name starts again, so a few fixed names never run out.


class JackServer:
    def __init__(self, log: Path) -> None:
        self.name = ""
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None
        self._saved: dict[str, str | None] = {}

    def start(self, timeout: float = 10.0) -> None:
        jackd = shutil.which("jackd")
        if jackd is None:
            pytest.skip("jackd is not installed (Debian package jackd2; `make test` installs it)")
        for slot in _free_slots():
            self.name = f"dawgen-test-{slot}"
            _clear_semaphores(self.name)
            self._set_env({"JACK_DEFAULT_SERVER": self.name, "JACK_NO_START_SERVER": "1"})
            with open(self.log, "wb") as log:
                # On a loaded machine without real-time scheduling clients miss 5 ms periods all the
                # time: in JACK's default asynchronous mode a late client's previous buffer is read
                # again (a MIDI note arrives twice) and clients get dropped from the graph. --sync
                # waits for every client (up to -t ms) and a long period keeps the load low.
                self.proc = subprocess.Popen([jackd, "-n", self.name, "--no-realtime", "--sync", "-t", "3000",
                                              "-d", "dummy", "-r", "48000", "-p", "2048"],
                                             stdout=log, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
            if self._wait_ready(timeout):
                _reinit_portaudio()  # a PortAudio already initialised in this process must see JACK now
                return
            if "already active" not in self.log.read_text(errors="replace"):
                break
            self._restore_env()  # another test run took this name a moment ago: try the next
        self._give_up(f"jackd exited with {self.proc.returncode}" if self.proc and self.proc.poll() is not None
                      else f"jackd did not answer within {timeout:g}s")

    def _wait_ready(self, timeout: float) -> bool:
        assert self.proc is not None
        try:  # a name clash ends jackd at once; only then can a probe not reach somebody else's server
            self.proc.wait(0.3)
            return False
        except subprocess.TimeoutExpired:
            pass
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            if self._reachable():
                return True
            time.sleep(0.1)
        return False

    def _reachable(self) -> bool:
        code = "import rtmidi, sys; rtmidi.MidiIn(rtmidi.API_UNIX_JACK, name='probe').delete(); sys.exit(0)"
        try:
            return subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=5).returncode == 0
        except subprocess.TimeoutExpired:
            return False

    def _give_up(self, why: str) -> None:
        tail = self.log.read_text(errors="replace")[-800:] if self.log.exists() else ""
        self.stop()
        pytest.skip(f"JACK dummy server could not start here ({why}): {tail.strip()}")

    def stop(self) -> None:
        _terminate_portaudio()  # before the server goes: a client of a dead server aborts at exit
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        if self.name:
            _clear_semaphores(self.name)
        self._restore_env()
        _reinit_portaudio()

    def _set_env(self, values: dict[str, str]) -> None:
        for key, value in values.items():
            self._saved[key] = os.environ.get(key)
            os.environ[key] = value

    def _restore_env(self) -> None:
        for key, value in self._saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved.clear()


def _free_slots() -> list[int]:
    """Slots whose server name no running jackd uses (a dead one's slot is reclaimed by JACK)."""
    taken = set()
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        if args and args[0].endswith(b"jackd") and b"-n" in args:
            name = args[args.index(b"-n") + 1] if args.index(b"-n") + 1 < len(args) else b""
            taken.add(name.decode(errors="replace"))
    return [s for s in range(SLOTS) if f"dawgen-test-{s}" not in taken]


def _clear_semaphores(server: str) -> None:
    """Remove the client semaphores a server of this name left behind (no jackd of the name runs
    now). jackd2 keeps one named semaphore per client name in /dev/shm and does not remove the ones
    of clients that were still open when it stopped; a later server of the same name then hands a
    new client of that name (the MIDI door's `dawgen ports-02`) a semaphore with a stale count, and
    in --sync mode its process cycle waits on it: the driver stalls for seconds and clients fail
    with "JACK server not running?" (seen in full `make test` runs)."""
    for path in Path("/dev/shm").glob(f"jack_sem.*_{server}_*"):
        try:
            path.unlink()
        except OSError:
            pass


def _die_with_parent() -> None:
    """jackd gets SIGTERM when the test process dies, even by SIGKILL: no server outlives its run."""
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def connections() -> dict[str, set[str]]:
    """Port -> the ports it is connected to, from `jack_lsp -c` (JACK connects asynchronously:
    a test waits for the connection before it sends, instead of sleeping)."""
    out = subprocess.run(["jack_lsp", "-c"], capture_output=True, text=True).stdout
    graph: dict[str, set[str]] = {}
    current = None
    for line in out.splitlines():
        if line.startswith((" ", "\t")) and current is not None:
            graph[current].add(line.strip())
        elif line.strip():
            current = line.strip()
            graph.setdefault(current, set())
    return graph


def wait_connected(source: str, destination: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if destination in connections().get(source, set()):
            return
        time.sleep(0.1)
    raise AssertionError(f"JACK never connected {source} -> {destination}: {connections()}")


def _terminate_portaudio() -> None:
    sd = sys.modules.get("sounddevice")
    if sd is not None:
        try:
            sd._terminate()
        except Exception:  # noqa: BLE001 - already terminated
            pass


def _reinit_portaudio() -> None:
    sd = sys.modules.get("sounddevice")
    if sd is not None:
        _terminate_portaudio()
        sd._initialize()


@pytest.fixture
def jack(tmp_path: Path) -> Iterator[JackServer]:
    server = JackServer(tmp_path / "jackd.log")
    server.start()
    yield server
    server.stop()
