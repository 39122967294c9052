"""The pull catalog: the models `dawgen pull NAME` can fetch, read from package data (models.json),
without torch and without the network.

Each entry names its backend, where its files come from (a Hugging Face repo and revision, or a
plain HTTPS folder for demucs' own files), the exact files the backend needs (size and sha256 where
known; `null` means the hub's ETag is the check), what else it needs (Stable Audio -> t5-base, and
the config option that points at it), its licence, whether the repo is gated and about how much
memory it takes. Tests load their own catalog file (`load(path)`).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..errors import DawgenError, ErrorCode

DEFAULT = Path(__file__).with_name("models.json")
HEX = re.compile(r"^[0-9a-f]{8,64}$")
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class CatalogFile:
    name: str  # path inside the repo (or the base URL's folder)
    size: int | None = None  # bytes; None: the hub's X-Linked-Size / Content-Length is checked
    sha256: str | None = None  # 64 hex, or an 8+ hex prefix; None: checked against the hub's ETag
    optional: bool = False  # fetched when the repo has it (e.g. a second tokenizer format)


@dataclass(frozen=True)
class Entry:
    name: str
    backend: str | None  # None: a dependency only (t5-base), no model folder of its own
    files: tuple[CatalogFile, ...]
    licence: str
    licence_url: str
    description: str = ""
    repo: str = ""
    revision: str = "main"
    source: str = "hf"  # "hf" (huggingface_hub, its cache) or "url" (base_url + file name)
    base_url: str = ""
    needs: dict[str, str] = field(default_factory=dict)  # dependency -> config option naming its folder
    options: dict[str, Any] = field(default_factory=dict)  # extra [models.NAME] options (demucs' name)
    bag: str = ""  # a demucs bag's yaml, written next to its files as <name>.yaml
    gated: bool = False
    memory_gb: float = 0.0
    download_gb: float = 0.0

    @property
    def page(self) -> str:
        """The page where a gated licence is accepted."""
        return f"https://huggingface.co/{self.repo}" if self.source == "hf" else self.licence_url

    @property
    def known_bytes(self) -> int | None:
        sizes = [f.size for f in self.files if not f.optional]
        return sum(s for s in sizes if s is not None) if sizes and None not in sizes else None


class Catalog:
    def __init__(self, entries: dict[str, Entry], path: Path) -> None:
        self.entries = entries
        self.path = path

    def names(self) -> list[str]:
        return sorted(self.entries)

    def get(self, name: str) -> Entry:
        entry = self.entries.get(name)
        if entry is None:
            raise DawgenError(ErrorCode.UNKNOWN_MODEL, f"the catalog has no model {name!r} "
                                                       f"(`dawgen pull --list` shows them: {', '.join(self.names())})")
        return entry

    def order(self, name: str) -> list[Entry]:
        """`name` and what it needs, dependencies first, each once."""
        out: list[Entry] = []

        def visit(n: str, trail: tuple[str, ...]) -> None:
            if n in trail:
                raise DawgenError(ErrorCode.BAD_REQUEST, f"catalog {self.path}: {' -> '.join(trail + (n,))} is a cycle")
            entry = self.get(n)
            for dep in entry.needs:
                visit(dep, trail + (n,))
            if entry not in out:
                out.append(entry)

        visit(name, ())
        return out


def _error(path: Path, message: str) -> DawgenError:
    return DawgenError(ErrorCode.BAD_REQUEST, f"catalog {path}: {message}")


def _file(path: Path, model: str, raw: Any) -> CatalogFile:
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str) or not raw["name"]:
        raise _error(path, f"{model}: every file needs a name")
    name, size, sha = raw["name"], raw.get("size"), raw.get("sha256")
    if Path(name).is_absolute() or ".." in Path(name).parts:
        raise _error(path, f"{model}: file {name!r} must stay inside the repo")
    if size is not None and (not isinstance(size, int) or size < 0):
        raise _error(path, f"{model}: {name}: size must be a byte count or null")
    if sha is not None and (not isinstance(sha, str) or not HEX.match(sha)):
        raise _error(path, f"{model}: {name}: sha256 must be lower-case hex (8 to 64 digits) or null")
    return CatalogFile(name, size, sha, bool(raw.get("optional", False)))


def _entry(path: Path, name: str, raw: Any) -> Entry:
    if not NAME.match(name) or not isinstance(raw, dict):
        raise _error(path, f"bad entry {name!r}")
    files = tuple(_file(path, name, f) for f in raw.get("files") or [])
    if not files:
        raise _error(path, f"{name}: no files")
    source = raw.get("source", "hf")
    if source not in ("hf", "url") or (source == "hf" and not raw.get("repo")) or (source == "url" and not raw.get("base_url")):
        raise _error(path, f"{name}: needs a repo (source hf) or a base_url (source url)")
    try:
        return Entry(name=name, backend=raw.get("backend"), files=files, licence=str(raw["licence"]),
                     licence_url=str(raw["licence_url"]), description=str(raw.get("description", "")),
                     repo=str(raw.get("repo", "")), revision=str(raw.get("revision") or "main"), source=source,
                     base_url=str(raw.get("base_url", "")), needs=dict(raw.get("needs") or {}),
                     options=dict(raw.get("options") or {}), bag=str(raw.get("bag", "")),
                     gated=bool(raw.get("gated", False)), memory_gb=float(raw.get("memory_gb", 0)),
                     download_gb=float(raw.get("download_gb", 0)))
    except (KeyError, TypeError, ValueError) as exc:
        raise _error(path, f"{name}: {exc}") from None


def load(path: str | Path | None = None) -> Catalog:
    """The catalog at `path` (default: the one in the package)."""
    file = Path(path) if path is not None else DEFAULT
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise _error(file, f"cannot read it ({exc})") from None
    models = data.get("models") if isinstance(data, dict) else None
    if not isinstance(models, dict):
        raise _error(file, "expected {\"models\": {NAME: {...}}}")
    entries = {name: _entry(file, name, raw) for name, raw in models.items()}
    for entry in entries.values():
        missing = [d for d in entry.needs if d not in entries]
        if missing:
            raise _error(file, f"{entry.name} needs {', '.join(missing)}, which the catalog lacks")
    return Catalog(entries, file)


@lru_cache(maxsize=1)
def _package_catalog() -> Catalog:
    return load()


def pull_hint(name: str) -> str:
    """`; get it with: dawgen pull NAME` when the package catalog knows `name`, else ""."""
    try:
        entry = _package_catalog().entries.get(name)
    except DawgenError:
        return ""
    if entry is None or entry.backend is None:
        return ""
    gated = " (accept its licence first: " + entry.page + ")" if entry.gated else ""
    return f"; get it with: dawgen pull {name}{gated}"
