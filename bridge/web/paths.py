"""Request paths ↔ files under the output roots. No path from a request reads anything else.

A URL names a file as `/files/<path relative to the output root>` (the engine writes under one
root, the project folder). Absolute paths, `..`, backslashes, NULs, hidden
and temporary files are refused, and the resolved file (through symlinks) must lie inside its root.
"""
from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote

from server.errors import DawgenError, ErrorCode


def url_of(path: str | os.PathLike[str], roots: list[Path]) -> str:
    """`/files/<relative path>` of a file under the first root that holds it; "" when none does."""
    real = os.path.realpath(path)
    for root in roots:
        real_root = os.path.realpath(root)
        if os.path.commonpath([real, real_root]) == real_root and real != real_root:
            return "/files/" + quote(Path(os.path.relpath(real, real_root)).as_posix())
    return ""


def relative_parts(text: str) -> list[str]:
    """The components of a relative request path; out_of_root for anything that could escape."""
    if "\0" in text or "\\" in text:
        raise DawgenError(ErrorCode.OUT_OF_ROOT, "a file path may not hold backslashes or NULs")
    if text.startswith("/") or text.startswith("~") or (len(text) > 1 and text[1] == ":"):
        raise DawgenError(ErrorCode.OUT_OF_ROOT, "an absolute path: give a path relative to the output root")
    parts = [p for p in text.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise DawgenError(ErrorCode.OUT_OF_ROOT, "a path that climbs out of the output root")
    if not parts:
        raise DawgenError(ErrorCode.NOT_FOUND, "no file named")
    if any(p.startswith(".") for p in parts):  # temporary files (.dawgen-*), hidden folders
        raise DawgenError(ErrorCode.NOT_FOUND, "hidden files are not served")
    return parts


def unresolved(text: str, roots: list[Path]) -> Path:
    """The path a request path names under the first root, symlinks not followed (as the writer
    named it: a job's outputs are recorded so)."""
    return roots[0].joinpath(*relative_parts(text))


def resolve(text: str, roots: list[Path]) -> Path:
    """The file a request path names under the first root; raises out_of_root or not_found."""
    parts = relative_parts(text)
    root = roots[0]
    candidate = root.joinpath(*parts)
    real, real_root = os.path.realpath(candidate), os.path.realpath(root)
    if os.path.commonpath([real, real_root]) != real_root:
        raise DawgenError(ErrorCode.OUT_OF_ROOT, "that path leads outside the output root")
    if not os.path.isfile(real):
        raise DawgenError(ErrorCode.NOT_FOUND, f"no file {'/'.join(parts)!r} in the output root")
    return Path(real)
