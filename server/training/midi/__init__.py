"""The midi family of `train` kinds: the midi backend's own models on a producer's MIDI files.

    midi-drums    DrumLM (16th steps of GM drum lanes, hits + velocities) on the files' channel 10
    midi-melody   MelodyLM (note/duration tokens) on the top line of the files' other channels
    midi-chords   ChordLM (a chord per beat, inferred from all the notes off channel 10)
    midi-bass     LineLM `bass` (the lowest line, given each beat's chord)
    midi-piano    VoiceLM `voicing` (alto, tenor, bass under the top line at each beat)
    midi-improv   LineLM `improv` (the top line, given each beat's chord)

A run starts from a configured midi model's weights for that part (`base=`, default the built-in
`midi` model: fine-tuning the shipped model on a handful of files beats starting from nothing), or
from fresh weights with `base=none`. The audio params (`seconds`, `lora_rank`, `lora_alpha`,
`trigger`, `chop`, `config`, `demo_prompts`) do not apply and are refused. Checkpoints are weights
folders of the midi backend (trainee.py); dawgen-model.toml says `backend = "midi"`,
`path = "step-N"`, so `model=NAME` drums / melodies come from the trained weights and the parts
not trained from the shipped ones. Import is torch-free (submit time); torch is in trainee.py.
"""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ...errors import DawgenError, ErrorCode
from ..families import Family, Source
from ..settings import TRAIN_PARAMS, Settings

DEFAULT_BASE = "midi"  # the built-in midi model (the shipped weights)
FRESH = "none"  # base=none: fresh weights
PARTS = {"midi-drums": "drums", "midi-melody": "melody", "midi-chords": "chords", "midi-bass": "bass",
         "midi-piano": "voicing", "midi-improv": "improv"}
# params of the audio kinds with the value that means "not given"
NOT_APPLYING = {"seconds": None, "lora_alpha": None, "config": None, "trigger": "", "chop": "auto",
                "demo_prompts": "", "lora_rank": next(s.default for s in TRAIN_PARAMS if s.name == "lora_rank")}


def _bad(message: str) -> DawgenError:
    return DawgenError(ErrorCode.BAD_REQUEST, message)


class MidiFamily(Family):
    name = "midi"
    kinds = tuple(PARTS)
    requires = ("torch", "mido")
    install_hint = "pip install 'dawgen[midigen]'"

    def check(self, backend: Any, params: Mapping[str, Any]) -> None:
        kind = str(params.get("kind"))
        given = [k for k, unset in NOT_APPLYING.items() if params.get(k, unset) not in (unset, None, "")]
        if given:
            raise _bad(f"{', '.join(given)}: not a parameter of {kind} (the midi kinds train on whole 16th-grid "
                       "windows of the files; docs/TRAINING.md#midi-models)")
        self.source(backend, params)

    def source(self, backend: Any, params: Mapping[str, Any]) -> Source:
        """`base`: a configured midi model (default the built-in `midi`), or `none` for fresh weights."""
        part = PARTS[str(params.get("kind"))]
        base = str(params.get("base") or DEFAULT_BASE)
        if base.lower() == FRESH:
            return Source("", FRESH, {"part": part})
        entry = backend.registry.resolve(base)  # unknown_model / model_unavailable as for any request
        if entry.config.backend != "midi":
            raise _bad(f"base: {base!r} is not a midi model (kind {params.get('kind')} fine-tunes a midi "
                       "model's weights; base=none starts fresh)")
        from ...backends.midi.store import SHIPPED

        options = entry.config.options
        path = str(options.get("path") or "")
        folder = Path(path).expanduser() if path else SHIPPED
        return Source(str(folder), base, {"part": part, "allow_pickle": bool(options.get("allow_pickle"))})

    def dataset(self, run: Any, settings: Settings, source: Source) -> Any:
        from . import dataset as D

        try:
            return D.prepare(str(run.params["data"]), settings.kind,
                             progress=lambda f: run.ctx.progress(run.preparing * f, "preparing"),
                             check=run.ctx.check_cancel)
        except D.NoUsableMidi as exc:
            report = {"folder": str(run.params["data"]), "kind": settings.kind, "clips": 0,
                      "rejected": [vars(r) for r in exc.rejected]}
            D.write_report(report, run.folder / "dataset-report.json")
            raise

    def write_report(self, dataset: Any, path: Any) -> None:
        from .dataset import write_report

        write_report(dataset.report(), path)

    def record(self, dataset: Any) -> dict[str, Any]:
        return {"folder": dataset.folder, "clips": len(dataset.clips), "files": len(dataset.files),
                "rejected": len(dataset.rejected), "summary": dataset.summary()}

    def demo_prompts(self, dataset: Any, params: Mapping[str, Any]) -> list[str]:
        return []  # MIDI demos are unconditioned: a fixed seed per demo

    def base_sha256(self, source: Source) -> str | None:
        if not source.path:
            return None
        from ...backends.midi.store import SHIPPED, read_index
        from ...output.provenance import file_sha256

        part, folder = str(source.options["part"]), Path(source.path)
        try:
            index = read_index(folder)
            if part not in index["models"]:
                folder, index = SHIPPED, read_index(SHIPPED)
            return file_sha256(str(folder / index["models"][part]["file"]))
        except (ValueError, OSError, KeyError):
            return None

    def load(self, settings: Settings, source: Source, device: str) -> Any:
        from . import trainee

        return trainee.load(settings, source, device)


FAMILY = MidiFamily()
