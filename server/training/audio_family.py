"""What the families that train on audio (stable-audio, musicgen) share: the data folder read by
dataset.py (prompted or one-shot clips), its report, and its part of training.json."""
from __future__ import annotations

import json
from typing import Any

from .families import Family
from .settings import Settings


class AudioFamily(Family):
    def prepare_audio(self, run: Any, settings: Settings, rate: int, channels: int, window: int) -> Any:
        """dataset.prepare for a run's params; a folder with nothing usable still gets its report."""
        from . import artifacts
        from .dataset import NoUsableAudio, prepare

        params = run.params
        try:
            return prepare(params["data"], settings.kind, sample_rate=rate, channels=channels, window_frames=window,
                           chop=str(params.get("chop") or "auto"), bpm=params.get("bpm"),
                           trigger=str(params.get("trigger") or ""),
                           progress=lambda f, _: run.ctx.progress(run.preparing * f, "preparing"),
                           check=run.ctx.check_cancel)
        except NoUsableAudio as exc:
            report = {"folder": str(params["data"]), "clips": 0,
                      "rejected": [{"file": r.file, "reason": r.reason, "detail": r.detail} for r in exc.rejected]}
            artifacts.write_file(run.folder / "dataset-report.json", json.dumps(report, indent=2).encode())
            raise

    def write_report(self, dataset: Any, path: Any) -> None:
        from .dataset import write_report

        write_report(dataset, path)

    def record(self, dataset: Any) -> dict[str, Any]:
        """training.json's dataset part: the folder, counts, summary and its dataset.toml."""
        return {"folder": dataset.folder, "clips": len(dataset.clips), "files": len(dataset.files),
                "rejected": len(dataset.rejected), "summary": dataset.summary(),
                **({"metadata": dict(dataset.metadata)} if dataset.metadata else {})}
