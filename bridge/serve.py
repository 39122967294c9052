"""`dawgen serve`: startup → short main loop → graceful drain (the shape of uvicorn's server.py).

Signal handlers only set a flag; the main loop notices it and drains: leave the LAN's list of
daemons (zeroconf goodbye), stop accepting, let the running job finish within
`server.drain_seconds`, leave queued jobs in the journal for next start.
"""
from __future__ import annotations

import gc
import importlib.util
import logging
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any, TextIO

from server import __version__
from server.config import Config, ConfigError, is_loopback
from server.config_clients import binding_refusal
from server.engine import Engine

from .discovery import Announcer
from .osc import OscServer

log = logging.getLogger("dawgen.serve")


class Daemon:
    def __init__(self, config: Config, make_zeroconf: Callable[[str], Any] | None = None) -> None:
        self.config = config
        self._make_zeroconf = make_zeroconf  # tests: a fake that records (bridge/discovery.py)
        self.announcer: Announcer | None = None
        self.should_exit = threading.Event()
        self.engine: Engine | None = None
        self.osc: OscServer | None = None
        self.front_doors: list[Any] = []  # besides OSC: objects with start() and stop()

    def startup(self, out: TextIO = sys.stdout) -> None:
        cfg = self.config
        # Models run in their own processes, but the worker threads relaying their progress share
        # this process with the network threads: a 1 ms switch interval (default 5 ms) lets a network
        # thread take the GIL back quickly, so acks are not held up.
        sys.setswitchinterval(0.001)
        refusal = binding_refusal(cfg.server.host, cfg.clients, cfg.source)
        if refusal:  # before any socket: nothing is open to the network without a client to let in
            raise ConfigError(refusal)
        if not is_loopback(cfg.server.host):
            log.warning("listening on %s: other machines may send requests with one of the %d [clients] tokens",
                        cfg.server.host, len(cfg.clients))
        cfg.output_root.mkdir(parents=True, exist_ok=True)
        self.engine = Engine(cfg)
        recovered = self.engine.start()
        self.osc = OscServer(self.engine, cfg.server.host, cfg.server.port, cfg.server.max_packet_bytes)
        self.osc.start()
        for door in extra_front_doors(cfg, self.engine):
            door.start()
            self.front_doors.append(door)
        web = next((d for d in self.front_doors if hasattr(d, "url")), None)
        # on the LAN (a non-loopback bind, [server] announce): announced once every door is open
        web_port = web.port if web is not None and not is_loopback(web.host) else None
        self.announcer = Announcer(cfg, self.osc.port, web_port, make_zeroconf=self._make_zeroconf)
        self.announcer.start()
        # What start made (modules, config, registry) lives as long as the daemon. Frozen, the
        # collector stops re-reading it: a full collection paused every thread ~15 ms (2 cores),
        # and landed on acknowledgements; now it walks only the objects made since.
        gc.collect()
        gc.freeze()
        # Warm the default models after the port is open: the first pong must not wait for them.
        threading.Thread(target=self._preload, name="dawgen-preload", daemon=True).start()
        problems = self.engine.registry.problems()
        print(
            f"dawgen {__version__} ready: osc udp+tcp {cfg.server.host}:{self.osc.port} | "
            f"web {web.url if web is not None else web_off(cfg)} | "
            f"output root {cfg.output_root} | state {cfg.state_dir} | "
            f"models {', '.join(self.engine.registry.names())}"
            + (f" ({len(problems)} unavailable)" if problems else "")
            + (f" | recovered {len(recovered)} job(s)" if recovered else "")
            + (" | announced on the LAN (_dawgen._udp)" if self.announcer.enabled else ""),
            file=out, flush=True,
        )

    def _preload(self) -> None:
        try:
            if self.engine is not None:
                self.engine.preload()
        except Exception:
            log.exception("preloading models failed")

    def main_loop(self) -> None:
        while not self.should_exit.wait(0.5):
            pass

    def shutdown(self) -> bool:
        log.info("draining: no new jobs; waiting up to %.0fs for the running job", self.config.server.drain_seconds)
        drained = True
        if self.announcer is not None:  # first: clients stop picking a daemon that takes no new jobs
            self.announcer.stop()
        if self.engine is not None:
            drained = self.engine.stop()  # the OSC port stays open meanwhile: done/error still go out
        for door in reversed(self.front_doors):
            door.stop()
        if self.osc is not None:
            self.osc.stop()
        if self.engine is not None and drained:
            self.engine.close()  # a job still running keeps its connection until the process exits
        if not drained:
            log.warning("the running job did not finish in time; it will run again on next start")
        return drained

    def install_signal_handlers(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._handle_exit)

    def _handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self.should_exit.is_set():  # a second Ctrl-C: leave now, the journal keeps the rest
            raise SystemExit(130)
        self.should_exit.set()


def extra_front_doors(config: Config, engine: Engine) -> list[Any]:
    """Front doors besides OSC, each switched on by its own config section; each has start()/stop().
    They only translate their input into engine.submit() and render engine events back."""
    doors: list[Any] = []
    if config.hotfolder.enabled:
        from .hotfolder import HotFolder  # imported only when used: watchdog starts no thread until then

        doors.append(HotFolder(config, engine))
    if config.web.enabled and web_available():
        from .web import WebDoor  # FastAPI and uvicorn are imported only when the page is served

        doors.append(WebDoor(config, engine))
    if config.midi is not None:
        from .midi.door import MidiDoor  # mido is imported only when [midi] is configured

        doors.append(MidiDoor(config, engine))
    return doors


def web_available() -> bool:
    """The `web` extra (FastAPI, uvicorn) is installed."""
    return all(importlib.util.find_spec(m) is not None for m in ("fastapi", "uvicorn"))


def web_off(config: Config) -> str:
    if not config.web.enabled:
        return "off ([web] enabled = false)"
    return "off (install the web extra: pip install 'dawgen[web]')"


def run(config: Config) -> int:
    daemon = Daemon(config)
    daemon.install_signal_handlers()
    daemon.startup()
    daemon.main_loop()
    return 0 if daemon.shutdown() else 3
