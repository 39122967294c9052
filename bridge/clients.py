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
import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from server.config import Config
from server.config_clients import allowed_priority, is_loopback
from server.errors import DawgenError, ErrorCode
from server.jobs import Job, Request

# Params that name files on the daemon's disk: a remote client sends `input_blob` instead.
PATH_PARAMS = ("input", "input2", "data")
# What another client's job shows in a queue listing: enough to see the queue's length and state.
# Keys of either door's job view (OSC's Job.summary(), HTTP's job_view); a view gets those it has.
HIDDEN: dict[str, Any] = {"params": {}, "outputs": [], "req_id": "", "error_message": "",
                          "paths": [], "urls": [], "error": None}
# A result's companions, readable with it: its sidecar, image, and a MIDI result's audio preview.
COMPANIONS = (".json", ".png", ".wav")
RESULT_SUFFIXES = (".wav", ".flac", ".mid", ".aif", ".aiff", ".ogg", ".mp3")


class JobsByOutput(Protocol):  # the journal
    def jobs_with_output(self, path: str, limit: int = 10) -> list[Job]: ...


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
        self._limits = config.clients

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
    def owns(who: Identity, job: Job) -> bool:
        """`who` may see, cancel and read the results of `job` (the admin: every job)."""
        return who.admin or job.owner == who.name

    @staticmethod
    def check_owner(who: Identity, job: Job) -> None:
        """`forbidden` unless `who` owns `job` (the admin owns every job)."""
        if not Clients.owns(who, job):
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

    def priority(self, who: Identity, asked: int) -> int:
        """The priority `who` may give its job: at most its `max_priority` (the admin: any)."""
        return asked if who.admin else allowed_priority(self._limits, who.name, asked)

    @staticmethod
    def view(who: Identity, job: Job, summary: dict[str, Any]) -> dict[str, Any]:
        """`summary` of `job` as `who` may see it: another client's job without params or paths."""
        if Clients.owns(who, job):
            return summary
        return {**summary, **{k: v for k, v in HIDDEN.items() if k in summary}}

    @staticmethod
    def sees(who: Identity, job: Job) -> bool:
        """Events of `job` go to `who`'s listeners (the admin hears every job)."""
        return Clients.owns(who, job)

    @staticmethod
    def check_may_read(who: Identity, journal: JobsByOutput, *names: str) -> None:
        """`forbidden` unless a file named by one of `names` (one file's names: as asked, as resolved)
        is a result of `who`'s job, or a result's sidecar, image or preview; `not_found` when no job
        wrote it. The admin reads any job's results."""
        jobs = [job for name in names for path in _results_of(name) for job in journal.jobs_with_output(path)]
        if not jobs:
            raise DawgenError(ErrorCode.NOT_FOUND, "no job wrote that path; take a path from the job's done reply")
        if not any(Clients.owns(who, job) for job in jobs):
            raise DawgenError(ErrorCode.FORBIDDEN, "that file is a result of another client's job")

    @staticmethod
    def owned_job_ids(who: Identity, journal: Any, job_ids: Iterable[str]) -> set[str]:
        """Of `job_ids`, those of `who`'s jobs (the library's filter; the admin: all of them)."""
        wanted = [str(i) for i in job_ids if i]
        if who.admin:
            return set(wanted)
        return {i for i, owner in journal.owners(wanted).items() if owner == who.name}


def _results_of(path: str) -> list[str]:
    """The result files `path` may belong to: itself, and for a companion file, its result's names."""
    stem, suffix = os.path.splitext(path)
    if suffix.lower() not in COMPANIONS:
        return [path]
    return [path, *(stem + s for s in RESULT_SUFFIXES if s != suffix.lower())]
