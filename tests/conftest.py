"""Shared fixtures: configs, engines and real daemon processes on free ports."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
READY = re.compile(r"ready: osc udp\+tcp (\S+):(\d+)")
WEB_URL = re.compile(r"\| web (http://\S+/) ")


class DaemonProcess:
    """A real `dawgen serve` process; `port` is read from its ready line."""

    def __init__(self, tmp: Path, extra: list[str] | None = None, config_text: str | None = None) -> None:
        self.tmp = tmp
        self.project = tmp / "project"
        self.state = tmp / "state"
        self.args = ["--project", str(self.project), "--state-dir", str(self.state), *(extra or [])]
        if "--web-port" not in self.args:  # a restart on the same OSC port must not take the fixed 9957
            self.args += ["--web-port", "0"]
        if config_text is not None:
            cfg = tmp / "dawgen.toml"
            cfg.write_text(config_text)
            self.args += ["--config", str(cfg)]
        self.proc: subprocess.Popen[str] | None = None
        self.port = 0
        self.web_url = ""  # the studio page's URL from the ready line ("" when the web door is off)
        self.log = tmp / "daemon.log"

    def start(self, port: int = 0, timeout: float = 15.0) -> DaemonProcess:
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self._log_fh = open(self.log, "a")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bridge", "serve", "--port", str(port or self.port), *self.args],
            cwd=REPO, stdout=subprocess.PIPE, stderr=self._log_fh, text=True, env=env,
        )
        deadline = time.monotonic() + timeout
        assert self.proc.stdout is not None
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError(f"daemon exited: {self.log.read_text()[-3000:]}")
            match = READY.search(line)
            if match:
                self.port = int(match.group(2))
                web = WEB_URL.search(line)
                self.web_url = web.group(1) if web else ""
                return self
        raise RuntimeError("daemon did not get ready")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def terminate(self, timeout: float = 30.0) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(timeout)
        self._log_fh.close()
        return rc


@pytest.fixture
def daemon_factory(tmp_path: Path) -> Iterator:
    started: list[DaemonProcess] = []

    def make(**kwargs) -> DaemonProcess:
        d = DaemonProcess(tmp_path, **kwargs)
        started.append(d)
        return d

    yield make
    for d in started:
        if d.alive():
            d.proc.kill()  # type: ignore[union-attr]
            d.proc.wait(10)  # type: ignore[union-attr]


@pytest.fixture
def daemon(daemon_factory):
    return daemon_factory().start()


@pytest.fixture
def client(daemon):
    from bridge.client import Client

    with Client("127.0.0.1", daemon.port) as c:
        yield c


@pytest.fixture
def hub(monkeypatch, tmp_path: Path) -> Iterator:
    """A fake Hugging Face hub on 127.0.0.1 (tests/hub_fake.py) that huggingface_hub downloads from
    (HF_ENDPOINT), with no token from the environment or this machine's token file."""
    from huggingface_hub import constants

    from tests.hub_fake import FakeHub

    # the offline switches too: a model loaded earlier in this test process set them (torch_util.offline)
    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(tmp_path / "no-token"))
    with FakeHub() as fake:
        monkeypatch.setenv("HF_ENDPOINT", fake.url)
        yield fake
