"""Where hot-folder files live, which names count as drops, and the moves between folders.

Every move here is a rename inside one filesystem (the output root), so a file is always in exactly
one of inbox/, processing/, done/ or failed/; a crash leaves it in one place, never in two or none.
"""
from __future__ import annotations

import json
import os
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Names a writer uses while a file is incomplete, and files programs leave beside media.
IGNORED_SUFFIXES = (
    ".part", ".partial", ".tmp", ".temp", ".crdownload", ".download", ".opdownload", ".!ut",
    ".asd",  # Ableton analysis files
    ".reapeaks",  # Reaper peak files
    ".swp", ".lock", ".error.json",  # an error report dragged back in with its input
)
IGNORED_NAMES = ("thumbs.db", "desktop.ini", "icon\r")
SIDECAR_SUFFIX = ".json"
TOKEN_SEP = "--"
_CLAIMED = re.compile(r"^([0-9a-f]{12})--(.+)$")
REQ_PREFIX = "hotfolder"


def ignored(name: str) -> bool:
    """Hidden, temporary, partial and helper files are never drops."""
    low = name.lower()
    return (name.startswith((".", "~$")) or name.endswith("~") or low.endswith(IGNORED_SUFFIXES)
            or low in IGNORED_NAMES)


def new_token() -> str:
    return secrets.token_hex(6)


def claimed_name(token: str, name: str) -> str:
    """The name a drop gets in processing/: unique, so two drops called kick.wav never collide."""
    return f"{token}{TOKEN_SEP}{name}"


def parse_claimed(name: str) -> tuple[str, str] | None:
    """(token, original name) of a file in processing/, or None for a name we did not make."""
    match = _CLAIMED.match(name)
    return (match.group(1), match.group(2)) if match else None


def request_id(recipe: str, token: str, index: int) -> str:
    """The request id of a drop's index-th request: the same after any restart, so never two jobs."""
    return f"{REQ_PREFIX}:{recipe}:{token}:{index}"


def parse_request_id(req_id: str) -> tuple[str, str] | None:
    """(recipe, token) of a request id made by request_id(), else None."""
    parts = req_id.split(":")
    if len(parts) == 4 and parts[0] == REQ_PREFIX:
        return parts[1], parts[2]
    return None


def sidecar_for(media_name: str, names: Iterable[str]) -> str | None:
    """The sidecar .json of a media file among `names`: kick.json or kick.wav.json beside kick.wav."""
    if media_name.lower().endswith(SIDECAR_SUFFIX):
        return None
    wanted = {Path(media_name).stem + SIDECAR_SUFFIX, media_name + SIDECAR_SUFFIX}
    for name in names:
        if name in wanted:
            return name
    return None


@dataclass(frozen=True)
class Layout:
    """`<root>/dawgen/{inbox,processing,outbox,done,failed}/<recipe>/`."""

    root: Path  # the output root

    @property
    def base(self) -> Path:
        return self.root / "dawgen"

    def inbox(self, recipe: str) -> Path:
        return self.base / "inbox" / recipe

    def processing(self, recipe: str) -> Path:
        return self.base / "processing" / recipe

    def outbox(self, recipe: str) -> Path:
        return self.base / "outbox" / recipe

    def done(self, recipe: str) -> Path:
        return self.base / "done" / recipe

    def failed(self, recipe: str) -> Path:
        return self.base / "failed" / recipe

    @staticmethod
    def outbox_param(recipe: str) -> str:
        """The request's `dir` (relative to the root): the engine's writer puts results there atomically."""
        return f"dawgen/outbox/{recipe}"

    def make(self, recipes: Iterable[str]) -> None:
        """The inboxes, so there is somewhere to drop; the other folders appear when first used."""
        for recipe in recipes:
            self.inbox(recipe).mkdir(parents=True, exist_ok=True)


def move_no_clobber(src: Path, dst: Path) -> bool:
    """Rename src to dst unless dst exists (then False). Idempotent after a crash mid-move."""
    try:
        os.link(src, dst)
    except FileExistsError:
        if os.path.samefile(src, dst):  # linked before a crash, not yet unlinked: finish the move
            src.unlink()
            return True
        return False
    except OSError:  # no hard links (exFAT, some network drives): check, then rename
        if dst.exists():
            return False
        os.replace(src, dst)
        return True
    src.unlink()
    return True


def write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    """Write a hidden temporary file and rename it: a reader never sees half a report."""
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2, default=str)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
