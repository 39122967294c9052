"""Who is asking, and what they may see: tokens, ownership, and the client rules of every front door.

One set of `[clients.NAME]` serves OSC, HTTP and the hot folder:
- A request names its client with a token (`token` param on OSC, `Authorization: Bearer` or the
  page's cookie on HTTP). Tokens are compared in constant time and never logged or echoed.
- A request from this machine without a token is the admin's (the producer at the box), unless
  `[server] require_token`; the hot folder is always the admin's (only this machine can drop files).
- A client sees and cancels only its own jobs, sees others' in the queue without their parameters,
  and cannot name paths on the daemon's disk (it uploads inputs and fetches results instead).
The limits that need the queue's lock (`max_queued`, `max_priority`) the engine applies, by owner.
"""
from __future__ import annotations

import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from server.config import Config
from server.config_clients import is_loopback
from server.errors import DawgenError, ErrorCode
from server.jobs import Job, Request

# Params that name files on the daemon's disk: a remote client sends `input_blob` instead.
PATH_PARAMS = ("input", "input2", "data")
# What another client's job shows in a queue listing: enough to see the queue's length and state.
HIDDEN = {"params": {}, "outputs": [], "req_id": "", "error_message": ""}


@dataclass(frozen=True)
class Identity:
    """A request's client: `name` from [clients.NAME], "" for the admin (this machine)."""

    name: str = ""
    admin: bool = True

    def __str__(self) -> str:
        return self.name or "local"


ADMIN = Identity()


class Clients:
    """The configured clients' tokens and the rules that follow from who asks."""

    def __init__(self, config: Config, admin_tokens: Iterable[str] = ()) -> None:
        # tokens as bytes; `admin_tokens`: the older [web] tokens, the admin's (HTTP only)
        self._tokens = [(c.token.encode(), Identity(name, admin=False)) for name, c in config.clients.items()]
        self._tokens += [(t.encode(), ADMIN) for t in admin_tokens if t]
        self.require_token = config.server.require_token

    @property
    def configured(self) -> bool:
        return bool(self._tokens)

    def identify(self, peer_host: str, token: str | None) -> Identity:
        """The client of a request from `peer_host` carrying `token` (None: none); `unauthorized` else."""
        if token:
            who = self._match(token)
            if who is None:
                raise DawgenError(ErrorCode.UNAUTHORIZED, "the token is not one of this daemon's clients")
            return who
        if is_loopback(peer_host) and not self.require_token:
            return ADMIN
        raise DawgenError(ErrorCode.UNAUTHORIZED, "this daemon needs a client token: add token=TOKEN "
                          "(`dawgen token add NAME` on the daemon's machine makes one)")

    def _match(self, token: str) -> Identity | None:
        """Every configured token is compared (in constant time), so timing tells nothing of which."""
        given = token.encode("utf-8", "replace")
        found = None
        for known, who in self._tokens:
            if hmac.compare_digest(given, known) and found is None:
                found = who
        return found

    # -- what a client may do -----------------------------------------------------------------
    @staticmethod
    def check_owner(who: Identity, job: Job) -> None:
        """`forbidden` unless `who` owns `job` (the admin owns every job)."""
        if not who.admin and job.owner != who.name:
            raise DawgenError(ErrorCode.FORBIDDEN, f"job {job.id} is another client's")

    @staticmethod
    def check_admin(who: Identity, what: str) -> None:
        if not who.admin:
            raise DawgenError(ErrorCode.FORBIDDEN, f"{what} is for the daemon's own machine only")

    @staticmethod
    def check_params(who: Identity, params: dict[str, Any]) -> None:
        """A remote client cannot name files on the daemon's disk."""
        named = [p for p in PATH_PARAMS if p in params]
        if named and not who.admin:
            raise DawgenError(ErrorCode.FORBIDDEN, f"{named[0]}: a client cannot name files on the daemon's disk; "
                              "send the file as input_blob + input_name (OSC over TCP, dawgen send --fetch)")

    @staticmethod
    def request(who: Identity, verb: str, params: dict[str, Any], req_id: str, client: dict[str, Any]) -> Request:
        return Request(verb, params, req_id, client, owner=who.name)

    @staticmethod
    def view(who: Identity, job: Job, summary: dict[str, Any]) -> dict[str, Any]:
        """`summary` of `job` as `who` may see it: another client's job without params or paths."""
        if who.admin or job.owner == who.name:
            return summary
        return {**summary, **HIDDEN}

    @staticmethod
    def sees(who: Identity, job: Job) -> bool:
        """Events of `job` go to `who`'s listeners (the admin hears every job)."""
        return who.admin or job.owner == who.name
