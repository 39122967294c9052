"""Filing a finished drop away: done/<recipe>/ when every job of it finished, else failed/<recipe>/
beside `<name>.error.json` saying what went wrong. Moves never overwrite: a name already taken keeps
the drop's unique claimed name."""
from __future__ import annotations

import logging
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from server.jobs import Job, JobState

from .inputs import Drop
from .layout import Layout, move_no_clobber, parse_claimed, write_json_atomic

log = logging.getLogger("dawgen.hotfolder")


def file_away(layout: Layout, drop: Drop, verb: str, jobs: list[Job], rejected: dict[str, tuple[str, str]]) -> None:
    failures = [(rid, code, msg) for rid, (code, msg) in rejected.items()]
    failures += [(j.req_id, j.error_code or j.state.value, j.error_message) for j in jobs
                 if j.state is not JobState.DONE]
    dest = layout.failed(drop.recipe) if failures else layout.done(drop.recipe)
    dest.mkdir(parents=True, exist_ok=True)
    # The sidecar leaves first: a drop in processing/ with only a .json left is then always a
    # .json request, never an orphaned sidecar (see recover()).
    files = [p for p in (drop.sidecar, drop.main) if p is not None and p.exists()]
    plain = all(_free(dest / original_name(p), p) for p in files)
    main_name = drop.original if plain else drop.main.name
    if failures:
        write_json_atomic(dest / f"{main_name}.error.json",
                          _error_report(drop, verb, jobs, failures, len(rejected) + len(jobs)))
    for path in files:
        if not move_no_clobber(path, dest / (original_name(path) if plain else path.name)):
            move_no_clobber(path, dest / path.name)  # taken meanwhile: keep the unique claimed name
    outcome = "failed" if failures else "done"
    log.info("hot folder %s: %s %s (%d job(s))", drop.recipe, drop.original, outcome, len(jobs))


def original_name(path: Path) -> str:
    parsed = parse_claimed(path.name)
    return parsed[1] if parsed else path.name


def _free(dst: Path, src: Path) -> bool:
    """dst can take src: nothing there, or src itself (a move a crash cut short)."""
    try:
        return not dst.exists() or os.path.samefile(dst, src)
    except OSError:
        return False


def _error_report(drop: Drop, verb: str, jobs: list[Job], failures: list[tuple[str, str, str]],
                  total: int) -> dict[str, Any]:
    _, code, message = failures[0]
    if total > 1:
        message = f"{len(failures)} of {total} requests failed; first: {message}"
    return {
        "code": code,
        "message": message,
        "input": drop.original,
        "recipe": drop.recipe,
        "verb": verb,
        "claimed_as": drop.main.name,
        "failures": [{"req_id": rid, "code": c, "message": m} for rid, c, m in failures],
        "jobs": [{"req_id": j.req_id, "job_id": j.id, "state": j.state.value, "outputs": j.outputs}
                 for j in jobs],
        "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
