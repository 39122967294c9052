"""The model a midi run trains (imports torch): the midi backend's DrumLM or MelodyLM, started from
a configured midi model's weights for that part (or fresh), trained with the offline trainer's
losses (server/backends/midi/steps.py), written as a weights folder the midi backend loads.

A checkpoint's folder holds `midi.json` and the part's `.pt` (store.py); the backend takes the
models it lacks (the other LM, the VAEs, the groove table) from the
shipped weights. Demos go through the backend itself: the checkpoint's files are written to a
temporary folder and `midi/generate` renders from them, so a demo is what `model=NAME` will make.
"""
from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ...backends.midi import steps as S
from ...backends.midi.models import DrumLM, build
from ...backends.midi.store import SHIPPED, load_model, read_index, save_model, write_index
from ...errors import DawgenError, ErrorCode
from ..families import Source
from ..settings import Settings

FORMAT = "dawgen-midi-1"
HARMONY = ("chords", "bass", "voicing", "improv")
# the midi/generate kind a demo of each part makes (the parts not trained come from the shipped weights)
DEMO_KIND = {"drums": "drums", "melody": "melody", "chords": "chords", "bass": "bass", "voicing": "piano",
             "improv": "trio"}
DEMO_BARS, DEMO_BPM = 2, 120.0


@dataclass
class MidiTrainee:
    settings: Settings
    part: str  # "drums" | "melody"
    model: Any
    base_name: str
    device: str = "cpu"
    lora: None = None
    ema: None = None

    def parameters(self) -> list[Any]:
        return list(self.model.parameters())

    def loss(self, batch: Any, run: Any) -> Any:
        """The offline trainer's loss (steps.py) on one micro-batch, in the model's current mode
        (train mode from load: DrumLM's dropout on)."""
        with run.autocast:
            if self.part in HARMONY:
                from ...backends.midi.harmony.steps import batch_loss

                moved = {k: (v.to(self.device) if hasattr(v, "to") else v) for k, v in batch[1].items()}
                return batch_loss(self.model, self.part, moved).float()
            if self.part == "drums":
                hits, vel, cond = batch
                windows = [S.drum_tensors(h, v, bool(c)) for h, v, c in zip(hits, vel, cond)]
                return S.drum_objective(*S.drum_loss(self.model, windows, self.device)).float()
            return S.melody_loss(self.model, [x.to(self.device) for x in batch]).float()

    def trainable_state(self) -> dict[str, Any]:
        return {k: v.detach().to("cpu", copy=True).contiguous() for k, v in self.model.state_dict().items()}

    def load_trainable_state(self, state: dict[str, Any]) -> None:
        try:
            self.model.load_state_dict(state)
        except RuntimeError as exc:
            raise DawgenError(ErrorCode.BAD_REQUEST, f"the checkpoint does not fit this run's {self.part} model "
                                                     f"({str(exc)[:300]})") from None

    def ema_buffers(self) -> dict[str, Any]:
        return {}

    def restore_ema(self, checkpoint: Path, buffers: dict[str, Any]) -> None:
        return None

    def to(self, device: str) -> None:
        self.model.to(device)
        self.device = device

    # -- the checkpoint ---------------------------------------------------------------------------
    def write_files(self, folder: Path, step: int) -> None:
        """midi.json + <part>.pt: a weights folder the midi backend loads."""
        model = self.model
        moved = next(model.parameters()).device.type != "cpu"
        if moved:
            model = _cpu_copy(model)
        entry = {"file": save_model(folder, self.part, model), "config": dict(model.config), "step": int(step),
                 "base": self.base_name, "kind": self.settings.kind}
        index: dict[str, Any] = {"version": 1, "format": FORMAT, "models": {self.part: entry},
                                 "training": {"made_by": "dawgen train", "kind": self.settings.kind, "step": int(step)}}
        write_index(folder, index)

    def model_options(self, checkpoint: Path) -> tuple[str, dict[str, Any]]:
        return "midi", {"path": Path(checkpoint).name}

    def demos(self, seeds: list[int], prompts: list[str]) -> list[Any]:
        """`DEMO_BARS` bars at DEMO_BPM per seed, made by the midi backend from the weights a
        checkpoint of this moment holds. The training's random state is left as it was."""
        from ...backends.base import RunContext
        from ...backends.midi import MidiBackend

        outputs: list[Any] = []
        with tempfile.TemporaryDirectory(prefix="dawgen-midi-demo-") as tmp, torch.random.fork_rng(devices=[]):
            self.write_files(Path(tmp), 0)
            backend = MidiBackend(f"demo-{self.part}", {"path": tmp})
            for seed in seeds:
                params = {"kind": DEMO_KIND[self.part], "bars": DEMO_BARS, "bpm": DEMO_BPM, "seed": int(seed), "count": 1}
                outputs += backend.run("midi/generate", RunContext(params))
            backend.unload()
        return outputs


def _cpu_copy(model: Any) -> Any:
    kind = "drums" if isinstance(model, DrumLM) else model.config.get("part") or _harmony_kind(model)
    copy = build(kind, dict(model.config))
    copy.load_state_dict({k: v.to("cpu") for k, v in model.state_dict().items()})
    return copy


def _harmony_kind(model: Any) -> str:
    name = type(model).__name__
    return {"ChordLM": "chords", "VoiceLM": "voicing"}.get(name, "melody")


def load(settings: Settings, source: Source, device: str = "cpu") -> MidiTrainee:
    """The part's model from the source's weights folder (fresh weights, seeded, when it has none)."""
    part = str(source.options["part"])
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(settings.seed)
        model = _base_model(source, part) if source.path else build(part, {})
    trainee = MidiTrainee(settings, part, model.train(), source.base_name)
    trainee.to(device)
    return trainee


def _base_model(source: Source, part: str) -> Any:
    folder = Path(source.path)
    try:
        own = read_index(folder)
        if part not in own["models"]:
            folder, own = SHIPPED, read_index(SHIPPED)
        trusted = bool(source.options.get("allow_pickle")) and folder != SHIPPED
        return load_model(folder, part, own["models"][part], source.base_name, trusted).float()
    except (ValueError, OSError, RuntimeError, KeyError, TypeError) as exc:
        raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, f"base {source.base_name}: its {part} weights do not load "
                                                       f"({type(exc).__name__}: {exc})") from None
