"""When is a dropped file complete? When its size and mtime stay the same for `settle_seconds`.

File events cannot say it: a slow writer sends several modified events while the file is incomplete,
macOS and Windows never send a closed event, and network drives send nothing. So every scan looks at
(size, mtime) and a file counts only once the same pair has been seen for the whole settle time.
The clock is injected so the rule is tested without sleeping.
"""
from __future__ import annotations

import os
import time
from collections.abc import Callable, Hashable
from pathlib import Path

Signature = tuple[int, ...]  # (size in bytes, mtime in ns, inode)


class Settler:
    def __init__(self, settle_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.settle_seconds = settle_seconds
        self.clock = clock
        self._seen: dict[Hashable, tuple[Signature, float]] = {}

    def observe(self, key: Hashable, signature: Signature) -> bool:
        """Record what a scan saw; True when `key` has kept `signature` for the settle time."""
        now = self.clock()
        previous = self._seen.get(key)
        if previous is None or previous[0] != signature:
            self._seen[key] = (signature, now)  # new or changed: the settle time starts again
            return self.settle_seconds <= 0
        return now - previous[1] >= self.settle_seconds

    def forget(self, key: Hashable) -> None:
        self._seen.pop(key, None)

    def keep_only(self, keys: set[Hashable]) -> None:
        """Drop the records of files that are gone (claimed, deleted, renamed away)."""
        for key in [k for k in self._seen if k not in keys]:
            del self._seen[key]

    def next_due(self) -> float | None:
        """Seconds until the next watched file could count as settled; None when none is waiting.

        Files already settled are left out: one that could not be claimed waits for the next rescan
        instead of spinning the scanner."""
        now = self.clock()
        waits = [since + self.settle_seconds - now for _, since in self._seen.values()]
        waits = [w for w in waits if w > 0]
        return min(waits) if waits else None


def file_signature(path: Path) -> tuple[int, ...]:
    """Size, mtime and inode: a file replaced by another of the same size and mtime starts again."""
    st = path.stat()
    return (st.st_size, st.st_mtime_ns, st.st_ino)


def tree_signature(folder: Path) -> tuple[int, ...]:
    """A dropped folder's files, bytes and newest change: a copy still running changes one of them."""
    files = total = newest = 0
    for root, _dirs, names in os.walk(folder):
        for name in names:
            try:
                st = os.stat(os.path.join(root, name))
            except FileNotFoundError:
                continue  # removed meanwhile: the counts change anyway
            files, total, newest = files + 1, total + st.st_size, max(newest, st.st_mtime_ns)
        newest = max(newest, os.stat(root).st_mtime_ns)
    return (files, total, newest, os.stat(folder).st_ino)
