"""An independent OSC implementation (liblo's oscsend/oscdump) talks to the daemon."""
import queue
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
import soundfile as sf

from tests.waiting import wait_until

pytestmark = pytest.mark.skipif(shutil.which("oscsend") is None, reason="liblo-tools not installed (make test installs it)")


# An OSC message `/probe` with no arguments: address padded to 4 bytes, then the empty type tag ",".
PROBE = b"/probe\x00\x00,\x00\x00\x00"


def is_probe(line: str) -> bool:
    return "/probe" in line.split()  # oscdump prints "<timetag> <address> <types> <args...>"


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Dump:
    """oscdump on a UDP port; a thread collects its lines as they come."""

    def __init__(self) -> None:
        self.port = free_udp_port()
        self.proc = subprocess.Popen(["oscdump", "-L", str(self.port)], stdout=subprocess.PIPE, text=True)
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self._wait_listening()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.strip())

    def _wait_listening(self, timeout: float = 20.0) -> None:
        """oscdump says nothing once it has bound its port: send it a probe until it prints one (a
        datagram sent before it binds is lost), so that no reply a test waits for can be lost."""
        deadline = time.monotonic() + timeout
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"oscdump exited with {self.proc.returncode}")
                probe.sendto(PROBE, ("127.0.0.1", self.port))
                try:
                    if is_probe(self.lines.get(timeout=0.2)):
                        return
                except queue.Empty:
                    continue
        raise AssertionError(f"oscdump did not listen on port {self.port} within {timeout:g} s")

    def wait_for(self, needle: str, timeout: float = 20.0) -> list[str]:
        """oscdump's lines up to the first that holds `needle` (late probes left out)."""
        lines: list[str] = []
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                break
            if is_probe(line):
                continue
            lines.append(line)
            if needle in line:
                return lines
        raise AssertionError(f"{needle!r} not seen in {lines}")

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()


@pytest.fixture
def dump():
    d = Dump()
    yield d
    d.close()


def oscsend(port: int, address: str, types: str, *values) -> None:
    subprocess.run(["oscsend", "localhost", str(port), address, types, *map(str, values)], check=True, timeout=10)


def test_ping_with_reply_port(daemon, dump):
    oscsend(daemon.port, "/dawgen/ping", "ssi", "lp1", "reply_port", dump.port)
    lines = dump.wait_for("/dawgen/pong")
    assert '"lp1"' in lines[-1]


def test_generate_status_and_models(daemon, dump):
    oscsend(daemon.port, "/dawgen/generate", "ssssfsisi", "lg1", "prompt", "open hat", "seconds", 0.3,
            "seed", 77, "reply_port", dump.port)
    lines = dump.wait_for("/dawgen/done")
    assert "/dawgen/ack " in lines[0]  # the ack comes before any progress
    ack = next(line for line in lines if "/dawgen/ack " in line)
    assert '"lg1"' in ack
    done = lines[-1]
    path = Path(done.split('"')[3])
    assert path.name == "open-hat_77.wav"
    info = sf.info(path)
    assert info.frames == round(0.3 * 48000) and info.channels == 2
    job_id = done.split('"')[1]
    oscsend(daemon.port, "/dawgen/status", "sssi", "lg2", job_id, "reply_port", dump.port)
    status = dump.wait_for("/dawgen/status")[-1]
    assert '"done"' in status and str(path) in status
    oscsend(daemon.port, "/dawgen/models", "ssi", "lg3", "reply_port", dump.port)
    assert '"synth"' in dump.wait_for("/dawgen/models")[-1]


def test_bad_requests_from_liblo_get_errors(daemon, dump):
    oscsend(daemon.port, "/dawgen/generate", "ssssi", "lb1", "count", "many", "reply_port", dump.port)
    assert "bad_request" in dump.wait_for("/dawgen/error")[-1]
    oscsend(daemon.port, "/dawgen/teleport", "ssi", "lb2", "reply_port", dump.port)
    assert "unknown_verb" in dump.wait_for("/dawgen/error")[-1]
    oscsend(daemon.port, "/dawgen/cancel", "sssi", "lb3", "nojob", "reply_port", dump.port)
    assert "not_found" in dump.wait_for("/dawgen/error")[-1]


def test_liblo_tcp_length_prefixed_framing(daemon):
    # liblo's TCP speaks OSC 1.0 stream framing (a length prefix), not SLIP: the daemon takes both.
    url = f"osc.tcp://localhost:{daemon.port}"
    subprocess.run(["oscsend", url, "/dawgen/generate", "ssssi", "lt1", "prompt", "tom", "seed", "5"], check=True, timeout=10)
    wait_until(lambda: list(daemon.project.rglob("tom_5.wav")), timeout=20, what="tom_5.wav to be written")
    assert [p.name for p in daemon.project.rglob("tom_5.wav")] == ["tom_5.wav"]
