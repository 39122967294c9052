"""The library: every result under the output root (a file with dawgen's `.json` sidecar), newest first.

Fast for thousands of files: the index keeps each folder's results with the folder's mtime, and a
request only stats the folders. A folder whose mtime changed (a file was placed, renamed or removed
in it: the writer renames every file into place) is read again, and of its sidecars only the new or
changed ones are parsed. A folder changed in the last RECENT_SECONDS is read again on every request
(a coarse mtime clock could hide a second file placed in the same tick).
"""
from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

RECENT_SECONDS = 2.0
MAX_DEPTH = 8
AUDIO_FORMATS = ("wav", "flac", "mid", "aif", "aiff", "ogg", "mp3")


@dataclass
class _Folder:
    mtime_ns: int
    subdirs: list[str]
    results: list[dict[str, Any]]


@dataclass
class LibraryIndex:
    root: Path
    _folders: dict[str, _Folder] = field(default_factory=dict)
    _sidecars: dict[str, tuple[int, dict[str, Any] | None]] = field(default_factory=dict)
    _sorted: list[dict[str, Any]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def results(self) -> list[dict[str, Any]]:
        """Every result, newest first (a shared list: do not change it)."""
        with self._lock:
            seen: set[str] = set()
            changed = self._walk(str(self.root), 0, seen)
            for gone in set(self._folders) - seen:
                del self._folders[gone]
                changed = True
            if changed:
                everything = [r for folder in self._folders.values() for r in folder.results]
                self._sorted = sorted(everything, key=lambda r: (r["written_at"], r["name"]), reverse=True)
            return self._sorted

    def page(self, page: int, per_page: int, results: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """A page of every result, or of `results` (a client's own, filtered from them)."""
        results = self.results() if results is None else results
        pages = max(1, -(-len(results) // per_page))
        start = (page - 1) * per_page
        return {"page": page, "per_page": per_page, "pages": pages, "total": len(results),
                "results": results[start:start + per_page]}

    def _walk(self, path: str, depth: int, seen: set[str]) -> bool:
        """Refresh `path` and the folders below it; True when something changed."""
        try:
            mtime_ns = os.stat(path).st_mtime_ns
        except OSError:
            return False
        seen.add(path)
        folder = self._folders.get(path)
        changed = False
        recent = time.time_ns() - mtime_ns < RECENT_SECONDS * 1e9
        if folder is None or folder.mtime_ns != mtime_ns or recent:
            new = self._read(path, mtime_ns)
            changed = folder is None or new.results != folder.results or new.subdirs != folder.subdirs
            folder = self._folders[path] = new
        if depth < MAX_DEPTH:
            for sub in folder.subdirs:
                changed = self._walk(sub, depth + 1, seen) or changed
        return changed

    def _read(self, path: str, mtime_ns: int) -> _Folder:
        subdirs, results = [], []
        try:
            entries = sorted(os.scandir(path), key=lambda e: e.name)
        except OSError:
            return _Folder(mtime_ns, [], [])
        names = {e.name for e in entries}
        for entry in entries:
            if entry.name.startswith("."):
                continue
            if entry.is_dir(follow_symlinks=False):
                subdirs.append(entry.path)
            elif entry.name.endswith(".json"):
                result = self._result(entry, names)
                if result is not None:
                    results.append(result)
        return _Folder(mtime_ns, subdirs, results)

    def _result(self, sidecar: os.DirEntry[str], names: set[str]) -> dict[str, Any] | None:
        try:
            mtime_ns = sidecar.stat().st_mtime_ns
        except OSError:
            return None
        cached = self._sidecars.get(sidecar.path)
        if cached is None or cached[0] != mtime_ns:
            cached = (mtime_ns, _read_sidecar(sidecar.path))
            self._sidecars[sidecar.path] = cached
        data = cached[1]
        if data is None:
            return None
        stem = sidecar.name[: -len(".json")]
        fmt = str(data.get("file_format") or "")
        formats = [fmt] if fmt else [f for f in AUDIO_FORMATS if f"{stem}.{f}" in names]
        if not formats or f"{stem}.{formats[0]}" not in names:
            return None
        return _entry(self.root, Path(sidecar.path).parent, stem, formats[0], data, names, mtime_ns)


def _read_sidecar(path: str) -> dict[str, Any] | None:
    """A dawgen sidecar's contents; None for any other .json."""
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or "job_id" not in data or "params" not in data:
        return None
    return data


def _entry(root: Path, folder: Path, stem: str, fmt: str, data: dict[str, Any], names: set[str],
           mtime_ns: int) -> dict[str, Any]:
    rel = (folder / f"{stem}.{fmt}").relative_to(root).as_posix()
    base = "/files/" + quote(rel.rsplit("/", 1)[0] + "/" if "/" in rel else "")
    params = data.get("params") if isinstance(data.get("params"), dict) else {}
    audio = data.get("audio") if isinstance(data.get("audio"), dict) else {}
    frames, rate = audio.get("frames"), audio.get("sample_rate")
    preview_audio = fmt == "mid" and f"{stem}.wav" in names
    if f"{stem}.png" in names:
        image = base + quote(f"{stem}.png")
    elif fmt != "mid":
        image = "/api/waveform/" + quote(rel)
    else:
        image = ""
    return {
        "name": f"{stem}.{fmt}", "path": str(folder / f"{stem}.{fmt}"), "rel": rel,
        "url": base + quote(f"{stem}.{fmt}"), "sidecar_url": base + quote(f"{stem}.json"),
        "audio_url": base + quote(f"{stem}.wav") if preview_audio else ("" if fmt == "mid" else base + quote(f"{stem}.{fmt}")),
        "image_url": image, "format": fmt, "job_id": data.get("job_id"), "index": data.get("index", 0),
        "verb": data.get("verb", ""), "model": (data.get("model") or {}).get("name", "") if isinstance(data.get("model"), dict) else "",
        "prompt": params.get("prompt", ""), "seed": data.get("seed"), "params": params,
        "request": data.get("request") if isinstance(data.get("request"), dict) else {},
        "seconds": round(frames / rate, 3) if isinstance(frames, int) and isinstance(rate, int) and rate else None,
        "written_at": float(data.get("written_at") or mtime_ns / 1e9),
    }
