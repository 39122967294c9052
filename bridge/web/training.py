"""The Training page's routes: the dry run of a data folder, prompt edits, the runs with their loss
curves and demos, resume (docs/HTTP.md, "Training").

A run is started, watched and cancelled with the job routes (`POST /api/jobs` verb `train`, the
`training` / `checkpoint` / `dataset` events, `DELETE /api/jobs/{id}`). What is read here: the run
folder `<models_dir>/<name>/` (run.json, dataset-report.json, loss.csv, the step-N checkpoints), and
the demos the job writes through the output writer, `<output root>/dawgen/training/<name>/step-N/`,
served as any result is, by `/files/` URLs. No torch (the dataset code is numpy/soundfile/mido).
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, Field

from server.engine import Engine
from server.errors import DawgenError, ErrorCode
from server.jobs import Request
from server.training import artifacts
from server.training.settings import NAME_PATTERN

from ..clients import Clients, Identity
from ..dataset_check import prepare_dataset
from .auth import Who
from .paths import url_of
from .sidecars import data_folder, save_prompts

Value = str | int | float | bool | None
# what the dry run reads of the train form: the trigger is shown, not added; `sample_rate` there is
# the demos' (the run reads at its model's rate)
CHECK_KEYS = {"kind": str, "chop": str, "bpm": float, "seconds": float, "min_seconds": float}
DEMO_SUFFIXES = {".wav", ".flac", ".mp3", ".ogg", ".aif", ".aiff", ".mid"}
PREFIX = "/api/training"
RUN_FILE, REPORT = "run.json", "dataset-report.json"


class CheckRequest(BaseModel):
    data: str = Field(min_length=1, max_length=4096, description="the data folder (absolute path)")
    params: dict[str, Value] = Field(default_factory=dict, examples=[{"kind": "stable-audio-lora"}])


class PromptEdits(BaseModel):
    data: str = Field(min_length=1, max_length=4096)
    prompts: dict[str, str] = Field(description="file (relative to data) -> its prompt; \"\" removes the sidecar")


class Resume(BaseModel):
    steps: int | None = Field(None, ge=1, le=1_000_000, description="a new total; default: the run's own")


def add_training_routes(app: FastAPI, engine: Engine, roots: list[Path], clients: Clients) -> None:
    """On the app itself (not an included router: the app's route list is what docs/HTTP.md is checked against).
    Training reads and writes folders on the daemon's disk: the admin's (this machine's) only."""
    models_dir = Path(engine.config.models_dir)

    def admin_only(who: Identity) -> None:
        clients.check_admin(who, "training (folders on the daemon's disk)")

    @app.post(PREFIX + "/check", summary="the dry run: the dataset report a run on this folder would start from")
    def check(body: CheckRequest, who: Who) -> dict[str, Any]:
        admin_only(who)
        folder = data_folder(body.data)
        dataset = prepare_dataset(folder, _check_params(body.params))
        report = dataset.report()
        prompted = any(u.get("prompt_from") for u in report.get("used", []))
        return {"report": report, "summary": dataset.summary(), "prompts_editable": prompted,
                "trigger": str(body.params.get("trigger") or "")}

    @app.put(PREFIX + "/prompts", summary="save prompt edits as the data folder's sidecars (<file>.txt)")
    def prompts(body: PromptEdits, who: Who) -> dict[str, Any]:
        admin_only(who)
        return {"written": save_prompts(body.data, body.prompts)}

    @app.get(PREFIX + "/runs", summary="the training runs in the models folder, newest first")
    def runs(who: Who) -> dict[str, Any]:
        admin_only(who)
        found = [_summary(f) for f in _run_folders(models_dir)]
        return {"runs": sorted(found, key=lambda r: -float(r["started"] or 0))}

    @app.get(PREFIX + "/runs/{name}", summary="one run: its dataset report, losses, checkpoints and demos per step")
    def run(name: str, who: Who) -> dict[str, Any]:
        admin_only(who)
        folder = _run_folder(models_dir, name)
        return {**_summary(folder), "report": _json(folder / REPORT),
                "losses": [[s, v] for s, v in artifacts.read_losses(folder)],
                "demos": _demos(roots, folder.name)}

    @app.post(PREFIX + "/runs/{name}/resume", summary="continue a stopped run from its newest checkpoint")
    def resume(name: str, body: Resume, who: Who) -> dict[str, Any]:
        admin_only(who)
        params = dict(_json(_run_folder(models_dir, name) / RUN_FILE).get("params") or {})
        params.pop("overwrite", None)
        params.update(resume=True, **({"steps": body.steps} if body.steps else {}))
        job, position = engine.submit(Request("train", params, "", {"http": True}))
        return {"job_id": job.id, "queue_position": position}


def _check_params(params: dict[str, Value]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, kind in CHECK_KEYS.items():
        value = params.get(key)
        if value is None or value == "":
            continue
        try:
            out[key] = kind(value)
        except (TypeError, ValueError):
            raise DawgenError(ErrorCode.BAD_REQUEST, f"{key}: expected {kind.__name__}, got {value!r}") from None
    return out


def _json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _run_folders(models_dir: Path) -> list[Path]:
    if not models_dir.is_dir():
        return []
    return [p for p in models_dir.iterdir() if p.is_dir() and not p.name.startswith(".") and (p / RUN_FILE).is_file()]


def _run_folder(models_dir: Path, name: str) -> Path:
    """A run's folder by name: a plain name (no path), a folder holding run.json."""
    if not re.fullmatch(NAME_PATTERN, name):
        raise DawgenError(ErrorCode.BAD_REQUEST, f"{name!r} is not a run name (letters, digits, . _ -)")
    folder = models_dir / name
    if not (folder / RUN_FILE).is_file():
        raise DawgenError(ErrorCode.NOT_FOUND, f"no training run named {name!r}")
    return folder


def _summary(folder: Path) -> dict[str, Any]:
    record = _json(folder / RUN_FILE)
    params = record.get("params") if isinstance(record.get("params"), dict) else {}
    steps = [s for s, _ in artifacts.checkpoints(folder)]
    newest = artifacts.newest_checkpoint(folder)
    return {"name": folder.name, "job_id": record.get("job_id", ""), "kind": record.get("kind") or params.get("kind"),
            "started": record.get("started"), "params": params, "checkpoints": steps,
            "resumable": newest is not None, "steps_done": newest[0] if newest else (steps[-1] if steps else 0)}


def _demos(roots: list[Path], name: str) -> list[dict[str, Any]]:
    """[{step, files: [{name, url}]}] from <output root>/dawgen/training/<name>/step-N/, by step."""
    base = roots[0] / "dawgen" / "training" / name
    if not base.is_dir():
        return []
    out = []
    for step_dir in base.iterdir():
        match = artifacts.STEP.match(step_dir.name)
        if not match or not step_dir.is_dir():
            continue
        files = sorted(p for p in step_dir.iterdir()
                       if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in DEMO_SUFFIXES)
        out.append({"step": int(match.group(1)), "files": _demo_files(files, roots)})
    return sorted(out, key=lambda d: d["step"])


def _demo_files(files: list[Path], roots: list[Path]) -> list[dict[str, Any]]:
    """One entry per demo: its file's URL, and what a player plays (the file, or a MIDI demo's
    audio preview beside it; "" when there is none: MIDI is dragged into the DAW instead)."""
    audio = {p.stem: p for p in files if p.suffix.lower() != ".mid"}
    out = []
    for path in files:
        if path.suffix.lower() != ".mid" and path.stem in {p.stem for p in files if p.suffix.lower() == ".mid"}:
            continue  # a MIDI demo's preview: listed with its MIDI file
        url = url_of(path, roots)
        preview = audio.get(path.stem) if path.suffix.lower() == ".mid" else path
        out.append({"name": path.name, "url": url, "audio_url": url_of(preview, roots) if preview else ""})
    return [d for d in out if d["url"]]
