"""A stand-in for the Hugging Face Hub on 127.0.0.1, answering what `hf_hub_download` asks.

`HEAD|GET /{repo}/resolve/{revision}/{filename}` with the headers huggingface_hub reads
(`X-Repo-Commit`, `ETag` / `X-Linked-Etag`, `X-Linked-Size`, `Content-Length`); GET honours
`Range: bytes=N-` (206 + `Content-Range`). A gated repo answers 401 without a token and 403 with a
token not granted access, both with `X-Error-Code: GatedRepo`, as the hub does. A missing file is a
404 with `X-Error-Code: EntryNotFound`. Faults for the tests: `cut_once[(repo, file)] = n` sends the
full Content-Length, then n bytes, then drops the connection (once); `corrupt[(repo, file)] = bytes`
serves other bytes than the ETag describes. `/plain/{filename}` serves plain HTTPS-style files.
Every request is logged in `requests` as (method, path, Range header).
"""
from __future__ import annotations

import hashlib
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

COMMIT = "0123456789abcdef0123456789abcdef01234567"
LFS_SUFFIXES = (".safetensors", ".bin", ".th", ".ckpt")


def git_sha1(data: bytes) -> str:
    return hashlib.sha1(f"blob {len(data)}\0".encode() + data).hexdigest()


class FakeHub:
    def __init__(self) -> None:
        self.repos: dict[str, dict[str, bytes]] = {}
        self.plain: dict[str, bytes] = {}
        self.gated: dict[str, set[str]] = {}  # repo -> tokens granted access
        self.cut_once: dict[tuple[str, str], int] = {}
        self.corrupt: dict[tuple[str, str], bytes] = {}
        self.requests: list[tuple[str, str, str]] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def add(self, repo: str, files: dict[str, bytes], granted: set[str] | None = None) -> None:
        self.repos[repo] = dict(files)
        if granted is not None:
            self.gated[repo] = set(granted)

    def __enter__(self) -> FakeHub:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def _handler(hub: FakeHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:  # quiet
            pass

        def do_HEAD(self) -> None:
            self._serve(body=False)

        def do_GET(self) -> None:
            self._serve(body=True)

        def _serve(self, body: bool) -> None:
            hub.requests.append((self.command, self.path, self.headers.get("Range", "")))
            path = unquote(self.path.split("?", 1)[0])
            if path.startswith("/plain/"):
                data = hub.plain.get(path[len("/plain/"):])
                return self._file(data, {}, body, ("plain", path)) if data is not None else self._error(404, "")
            repo, sep, rest = path.lstrip("/").partition("/resolve/")
            revision, _, filename = rest.partition("/")
            if not sep or repo not in hub.repos:
                return self._error(401, "RepoNotFound")
            if repo in hub.gated:
                auth = self.headers.get("authorization", "")
                if not auth:
                    return self._error(401, "GatedRepo")
                if auth.removeprefix("Bearer ") not in hub.gated[repo]:
                    return self._error(403, "GatedRepo")
            data = hub.repos[repo].get(filename)
            if data is None:
                return self._error(404, "EntryNotFound")
            headers = {"X-Repo-Commit": COMMIT}
            if filename.endswith(LFS_SUFFIXES):
                headers["X-Linked-Etag"] = f'"{hashlib.sha256(data).hexdigest()}"'
                headers["X-Linked-Size"] = str(len(data))
                headers["ETag"] = f'"{git_sha1(data)}"'  # the pointer's: what X-Linked-Etag overrides
            else:
                headers["ETag"] = f'"{git_sha1(data)}"'
            self._file(hub.corrupt.get((repo, filename), data), headers, body, (repo, filename))

        def _file(self, data: bytes, headers: dict[str, str], body: bool, key: tuple[str, str]) -> None:
            start = 0
            ranged = self.headers.get("Range", "")
            if body and ranged.startswith("bytes=") and ranged.endswith("-"):
                start = int(ranged[len("bytes="):-1])
            self.send_response(206 if start else 200)
            for name, value in headers.items():
                self.send_header(name, value)
            if start:
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            self.send_header("Content-Length", str(len(data) - start))
            self.send_header("Accept-Ranges", "bytes")
            self.end_headers()
            if not body:
                return
            cut = hub.cut_once.pop(key, None) if not start else None
            if cut is not None:
                self.wfile.write(data[:cut])
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            self.wfile.write(data[start:])

        def _error(self, status: int, code: str) -> None:
            message = {"GatedRepo": "Access to this model is restricted. You must have access to it and be authenticated.",
                       "RepoNotFound": "Repository not found", "EntryNotFound": "Entry not found"}.get(code, "not found")
            payload = json.dumps({"error": message}).encode()
            self.send_response(status)
            if code:
                self.send_header("X-Error-Code", code)
                self.send_header("X-Error-Message", message)
            self.send_header("X-Repo-Commit", COMMIT)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)

    return Handler
