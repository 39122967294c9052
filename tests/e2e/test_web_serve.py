"""`dawgen serve` with its web door: the ready line's URL answers, and SIGTERM drains with a page open."""
from __future__ import annotations

import json
import threading
import urllib.request

import pytest

from tests.waiting import wait_until

pytest.importorskip("uvicorn")


def test_ready_line_names_the_page_and_sigterm_drains_with_an_open_event_stream(daemon_factory):
    daemon = daemon_factory().start(timeout=30)
    assert daemon.web_url.startswith("http://127.0.0.1:") and not daemon.web_url.endswith(":9957/")
    with urllib.request.urlopen(daemon.web_url + "api/models", timeout=10) as reply:
        assert any(m["name"] == "synth" for m in json.loads(reply.read())["models"])
    opened, closed = threading.Event(), threading.Event()

    def listen() -> None:
        with urllib.request.urlopen(daemon.web_url + "api/events", timeout=60) as stream:
            opened.set()
            while stream.readline():
                pass
        closed.set()

    threading.Thread(target=listen, daemon=True).start()
    wait_until(opened.is_set, timeout=10, what="the event stream")
    assert daemon.terminate(timeout=30) == 0
    assert closed.wait(10)


def test_web_door_off_by_config(daemon_factory):
    daemon = daemon_factory(config_text="[web]\nenabled = false\n").start(timeout=30)
    assert daemon.web_url == ""
    assert daemon.terminate(timeout=30) == 0
