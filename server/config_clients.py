"""[clients.NAME]: the machines (producers' laptops) allowed in from the LAN, with their limits.

Parsed with the rest of the config by server/config.py. The bridge identifies a request's client
(bridge/clients.py); the engine applies the limits that need the queue's lock (`max_queued`,
`max_priority`) and the scheduler the `share`.
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .suggest import did_you_mean

MIN_TOKEN_LENGTH = 16
CLIENT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")  # it names an upload folder too
DEFAULT_MAX_UPLOAD = 256 * 1024 * 1024


@dataclass
class ClientConfig:
    """One client: its token (or the file holding it) and what it may ask of the daemon."""

    name: str
    token: str = ""
    token_file: str = ""
    max_queued: int = 100     # its jobs waiting at once; one more gets `queue_full`
    share: int = 1            # weight in the fair share within a priority level
    max_priority: int = 0     # a higher `priority` it asks for is lowered to this

    def __repr__(self) -> str:  # never show the token (logs, tracebacks, test output)
        return (f"ClientConfig(name={self.name!r}, max_queued={self.max_queued}, share={self.share}, "
                f"max_priority={self.max_priority})")


_KEYS: dict[str, type] = {"token": str, "token_file": str, "max_queued": int, "share": int, "max_priority": int}


def parse_clients(value: Any, errors: list[str], base: Path | None = None) -> dict[str, ClientConfig]:
    """[clients.NAME] tables; a relative `token_file` is relative to the config file's folder (`base`)."""
    if not isinstance(value, dict):
        errors.append("[clients] must hold tables like [clients.NAME]")
        return {}
    clients: dict[str, ClientConfig] = {}
    for name, entry in value.items():
        client = _parse_client(name, entry, errors, base)
        if client is not None:
            clients[name] = client
    seen: dict[str, str] = {}
    for client in clients.values():
        if client.token in seen:
            errors.append(f"clients.{client.name}: the same token as clients.{seen[client.token]}; give each its own")
        seen.setdefault(client.token, client.name)
    return clients


def _parse_client(name: str, entry: Any, errors: list[str], base: Path | None) -> ClientConfig | None:
    where = f"clients.{name}"
    if not CLIENT_NAME.match(name):
        errors.append(f"{where}: a client name is letters, digits, '_' and '-' (64 at most)")
        return None
    if not isinstance(entry, dict):
        errors.append(f"{where}: must be a table with token = \"...\" (dawgen token add {name} writes one)")
        return None
    client = ClientConfig(name)
    bad = False
    for key, value in entry.items():
        want = _KEYS.get(key)
        if want is None:
            errors.append(f"{where}.{key}: unknown key{did_you_mean(key, _KEYS)}")
            bad = True
        elif not isinstance(value, want) or (want is int and isinstance(value, bool)):
            errors.append(f"{where}.{key}: expected {want.__name__}, got {type(value).__name__}")
            bad = True
        else:
            setattr(client, key, value)
    if bad or not _check_client(client, errors, base):
        return None
    return client


def _check_client(client: ClientConfig, errors: list[str], base: Path | None) -> bool:
    where = f"clients.{client.name}"
    before = len(errors)
    if client.max_queued < 1:
        errors.append(f"{where}.max_queued: {client.max_queued} must be at least 1")
    if client.share < 1:
        errors.append(f"{where}.share: {client.share} must be at least 1")
    if bool(client.token) == bool(client.token_file):
        errors.append(f"{where}: set one of token or token_file (dawgen token add {client.name} writes a token)")
    elif client.token_file:
        client.token = _read_token_file(where, client.token_file, base, errors)
    if client.token and len(client.token) < MIN_TOKEN_LENGTH:
        errors.append(f"{where}: a token of {len(client.token)} characters is too short ({MIN_TOKEN_LENGTH} at least)")
    return len(errors) == before


def _read_token_file(where: str, value: str, base: Path | None, errors: list[str]) -> str:
    path = Path(value).expanduser()
    if not path.is_absolute() and base is not None:
        path = base / path
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        errors.append(f"{where}.token_file: cannot read {path}: {exc.strerror or exc}")
        return ""


def allowed_priority(clients: dict[str, ClientConfig], owner: str, asked: int) -> int:
    """The priority a job of `owner` gets: what it asked, at most its `max_priority` (the admin,
    owner "", is not capped; a client no longer configured gets the defaults)."""
    if not owner:
        return asked
    return min(asked, clients.get(owner, ClientConfig(owner)).max_priority)


def is_loopback(host: str) -> bool:
    """`localhost`, 127.0.0.0/8 and ::1."""
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)  # ::ffff:127.0.0.1 on a dual-stack socket
    return bool(address.is_loopback or (mapped is not None and mapped.is_loopback))


def binding_refusal(host: str, clients: dict[str, ClientConfig], config_file: str = "") -> str:
    """Why the daemon must not listen on `host` ("" when it may): another address than loopback lets
    other machines in, so at least one client must be configured to let any of them in at all."""
    if is_loopback(host) or clients:
        return ""
    where = f" --config {config_file}" if config_file else " --config FILE"
    return (f"server.host {host!r} lets other machines on the network in, and no client is configured: "
            f"add one with `dawgen token add NAME{where}` (it prints the client's token and writes "
            f"[clients.NAME] to the config file), then start again")
