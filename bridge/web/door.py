"""The web front door's lifecycle: bind at start (so a taken port fails `dawgen serve` at once, as
OSC's does), serve with uvicorn on its own thread, stop with the daemon's drain."""
from __future__ import annotations

import logging
import socket
import threading

import uvicorn

from server.config import Config
from server.engine import Engine

from .app import create_app

log = logging.getLogger("dawgen.web")
STOP_SECONDS = 5.0


class WebDoor:
    def __init__(self, config: Config, engine: Engine, host: str | None = None, port: int | None = None) -> None:
        self.config, self.engine = config, engine
        self.host = host if host is not None else config.web.host
        self.port = port if port is not None else config.web_port
        self.app = create_app(engine, config)
        self._sock: socket.socket | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    def bind(self) -> int:
        if self._sock is None:
            family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
            sock = socket.socket(family, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            # accepted sockets inherit it: without it a keep-alive reply (headers, then body) waited
            # ~40 ms for the browser's delayed ACK (Nagle), every request after the first (bench/web.py)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            try:
                sock.bind((self.host, self.port))
            except OSError:
                sock.close()
                raise
            sock.listen(128)
            self._sock, self.port = sock, sock.getsockname()[1]
        return self.port

    def start(self) -> None:
        self.bind()
        self.app.state.hub.start()
        config = uvicorn.Config(self.app, log_level="warning", access_log=False, lifespan="off",
                                timeout_graceful_shutdown=STOP_SECONDS)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._sock]},
                                        name="dawgen-web", daemon=True)
        self._thread.start()

    @property
    def started(self) -> bool:
        return self._server is not None and self._server.started

    def stop(self) -> None:
        self.app.state.hub.close()  # ends the event streams, so the server can drain
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(STOP_SECONDS + 2)
        if self._sock is not None:
            self._sock.close()
