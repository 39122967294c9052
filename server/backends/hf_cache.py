"""The Hugging Face cache layout, read without huggingface_hub: a repo folder
`models--ORG--NAME/` holds `refs/main` (the commit it points at) and `snapshots/<commit>/`."""
from __future__ import annotations

from pathlib import Path


def snapshot(repo: Path) -> Path | None:
    """The snapshot `refs/main` names, else the newest one; None when `repo` has none."""
    snapshots = repo / "snapshots"
    if not snapshots.is_dir():
        return None
    ref = repo / "refs" / "main"
    if ref.is_file():
        named = snapshots / ref.read_text(encoding="utf-8").strip()
        if named.is_dir():
            return named
    found = sorted((p for p in snapshots.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime, reverse=True)
    return found[0] if found else None
