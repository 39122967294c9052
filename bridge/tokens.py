"""`dawgen token add NAME`: a new client with a random token, written to the config file.

The token is printed once (stdout, for a script to capture) and kept only in the config file; the
daemon reads it at its next start.
"""
from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

from server.config import ConfigError, load
from server.config_clients import CLIENT_NAME

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib


def new_token() -> str:
    return secrets.token_urlsafe(32)  # 43 characters, 256 bits


def add_client(config_path: str | os.PathLike[str], name: str) -> str:
    """Append `[clients.NAME]` with a new token to the config file (made if missing); returns the token.
    ConfigError: a bad name, a client of that name already there, or a file that would not load."""
    if not CLIENT_NAME.match(name):
        raise ConfigError(f"client name {name!r}: letters, digits, '_' and '-' (64 at most)")
    path = Path(config_path)
    before = path.read_text(encoding="utf-8") if path.exists() else None
    try:
        existing = tomllib.loads(before or "")
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    if name in existing.get("clients", {}):
        raise ConfigError(f"{path}: [clients.{name}] is there already; remove it first to give {name} a new token")
    token = new_token()
    block = f'[clients.{name}]\ntoken = "{token}"\n# max_queued = 100\n# share = 1\n# max_priority = 0\n'
    separator = "" if not before else ("\n" if before.endswith("\n") else "\n\n")
    _write(path, (before or "") + separator + block, created=before is None)
    try:
        load(path)
    except ConfigError:
        if before is None:
            path.unlink()
        else:
            _write(path, before, created=False)
        raise
    return token


def _write(path: Path, text: str, created: bool) -> None:
    """Replace the file whole (a temporary file, then a rename); a new one readable by its owner only."""
    tmp = path.with_name(f".{path.name}.tmp")
    mode = 0o600 if created else path.stat().st_mode & 0o777
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def run_token_add(config_path: str | None, name: str) -> int:
    if not config_path:
        print("dawgen token add: name the config file the daemon reads: --config FILE", file=sys.stderr)
        return 2
    token = add_client(config_path, name)
    print(f"added [clients.{name}] to {config_path}; restart the daemon to let {name} in. "
          "The token (shown only now; give it to that machine's dawgen send --token, DAW settings):", file=sys.stderr)
    print(token)
    return 0
