"""Who may use the web door: the same rule as the daemon's binding (loopback unless asked).

- A request from this machine needs nothing (unless `[server] require_token`); one from another
  machine needs a token of `[clients.NAME]` (or one of the older `[web] tokens`), checked by the
  shared bridge/clients.py: `Authorization: Bearer TOKEN`, `?token=TOKEN` (the page's links, once)
  or the `dawgen_token` cookie the page is then given. The client is put in `scope["state"]`, and
  the routes apply the rules of bridge/clients.py to it, as the OSC door does: a client sees,
  cancels and reads the results of its own jobs only.
- Bound to loopback, the Host header must name this machine: a web page elsewhere cannot reach the
  daemon through a DNS name it points at 127.0.0.1 (DNS rebinding).
- A request that changes something (POST, DELETE) from another site's page (an Origin that is not
  the Host) is refused: a page on the internet cannot submit or cancel jobs from your browser.
"""
from __future__ import annotations

import json
from http.cookies import SimpleCookie
from typing import Annotated, Any
from urllib.parse import parse_qs, urlsplit

from fastapi import Depends
from fastapi import Request as HttpRequest

from server.config import is_loopback
from server.errors import DawgenError, ErrorCode

from ..clients import ADMIN, Clients, Identity
from .errors import STATUS

Scope = dict[str, Any]
COOKIE = "dawgen_token"
STATE_KEY = "dawgen_client"


def who_asks(request: HttpRequest) -> Identity:
    """The client of a request: put there by the Guard (create_app always adds it)."""
    return request.scope.get("state", {}).get(STATE_KEY, ADMIN)


# A route's parameter: the asking client. Every route that reads or changes jobs, files or the
# machine takes it and applies bridge/clients.py's rules, the same the OSC door applies.
Who = Annotated[Identity, Depends(who_asks)]


class Guard:
    """Pure ASGI middleware (streams pass through untouched)."""

    def __init__(self, app: Any, clients: Clients, host: str) -> None:
        self.app = app
        self.clients = clients
        self.loopback_only = is_loopback(host)

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        problem = self.refusal(scope, headers)
        if problem:
            await _refuse(send, problem)
            return
        token = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token", [""])[0]
        if token:
            await self.app(scope, receive, _with_cookie(send, token))
            return
        await self.app(scope, receive, send)

    def refusal(self, scope: Scope, headers: dict[str, str]) -> str:
        """Why this request is refused; "" when it may go on."""
        host = _hostname(headers.get("host", ""))
        if self.loopback_only and host and not is_loopback(host):
            return f"this daemon answers requests for localhost only, not for {host!r}"
        origin = headers.get("origin", "")
        if scope.get("method") in ("POST", "DELETE", "PUT", "PATCH") and origin and origin != "null":
            if urlsplit(origin).netloc.lower() != headers.get("host", "").lower():
                return "a request from another site's page is refused"
        client = (scope.get("client") or ("", 0))[0]
        try:
            who = self.clients.identify(client or "127.0.0.1", _token_of(scope, headers) or None)
        except DawgenError:
            return "this request needs a client token (Authorization: Bearer TOKEN; dawgen token add NAME makes one)"
        scope.setdefault("state", {})[STATE_KEY] = who  # the routes apply the client rules to it
        return ""


def _hostname(host_header: str) -> str:
    if host_header.startswith("["):  # [::1]:9957
        return host_header[1:].split("]", 1)[0]
    return host_header.rsplit(":", 1)[0] if host_header.count(":") == 1 else host_header


def _token_of(scope: Scope, headers: dict[str, str]) -> str:
    auth = headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    if query.get("token"):
        return query["token"][0]
    cookie = SimpleCookie()
    try:
        cookie.load(headers.get("cookie", ""))
    except Exception:  # noqa: BLE001 - a malformed cookie header is no token
        return ""
    return cookie[COOKIE].value if COOKIE in cookie else ""


def _with_cookie(send: Any, token: str) -> Any:
    """Remember a token given in the URL, so the page's own requests (EventSource, <audio>) carry it."""
    async def wrapped(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            cookie = f"{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict"
            message = dict(message, headers=[*message.get("headers", []), (b"set-cookie", cookie.encode("latin-1"))])
        await send(message)
    return wrapped


async def _refuse(send: Any, message: str) -> None:
    body = json.dumps({"code": ErrorCode.UNAUTHORIZED.value, "message": message}).encode()
    await send({"type": "http.response.start", "status": STATUS[ErrorCode.UNAUTHORIZED],
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
