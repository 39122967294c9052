"""`midi`: small PyTorch models that write MIDI clips, trained by dawgen on real music.

Shipped weights (server/backends/midi/weights, ~2 MB; `dawgen train-midi` remakes them):
- melody: a GRU over note/duration tokens, learned from the German song books of the music21
  corpus' Essen folk song collection (2,441 tunes, transposed to C). `key` + `scale` are honoured
  by masking out-of-scale pitches while sampling.
- drums: a GRU over 16th steps of GM drum lanes with velocities, learned from Hydrogen's demo songs
  (Debian hydrogen-data); it can follow the onsets of another clip (`drumify`).
- vae_melody / vae_drums: MLP VAEs over 2-bar 16th-grid windows (`interpolate`).
- groove: velocity statistics per drum lane and 16th position from the same drum data (`groove`).
- chords / bass / improv / voicing: the harmony models (harmony/, issue #26), learned from Bach's
  chorales in the music21 corpus.

`[models.NAME] backend = "midi"` with no `path` uses the shipped weights; `path = FOLDER` a folder
written by `dawgen train-midi --out FOLDER` (models it lacks come from the shipped folder). Outputs
are type-1 MIDI files exactly `bars` long at `bpm`, drums on channel 10. torch is imported in
`_load`/`_run` only; the `midigen` extra installs torch and mido.
"""
from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ...errors import DawgenError, ErrorCode
from ...model_folders import training_record
from ...music import parse_key
from ...output.naming import daw_suffix, slugify
from ...params import ParamSpec
from ..base import Backend, Midi, Output, RunContext
from ..safe_load import CONFIG_KEYS, allow_pickle
from . import spec as S
from . import vocab as V
from .smf import DRUM_CHANNEL, PPQ, Clip, Note, read_clip, top_line, write_clip
from .store import MODEL_KINDS, SHIPPED, read_index

log = logging.getLogger("dawgen.midi")
HARMONY_VERBS = ("midi/harmonize", "midi/bassline", "midi/improvise")
HARMONY_GENERATE = ("chords", "bass", "piano", "trio")
EXTRA = "midigen"


def _is_harmony(verb: str, params: Mapping[str, Any]) -> bool:
    """Issue #26's verbs and `midi/generate` kinds, which the harmony models make."""
    return verb in HARMONY_VERBS or str(params.get("kind")) in HARMONY_GENERATE


class MidiBackend(Backend):
    name: ClassVar[str] = "midi"
    version: ClassVar[str] = "1"
    requires: ClassVar[tuple[str, ...]] = ("torch", "mido")
    extra: ClassVar[str] = EXTRA
    output_kind: ClassVar[str] = "midi"
    verbs: ClassVar[Mapping[str, Sequence[ParamSpec]]] = S.VERBS
    # training: the training.json of the run that made the model (server/training/midi), carried
    # into every file's provenance
    config_keys: ClassVar[Mapping[str, type]] = {"path": str, "training": str, **CONFIG_KEYS}

    def __init__(self, model_name: str, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(model_name, options)
        self.device = "cpu"  # tiny models: the CPU is faster than a round trip to a GPU
        self._models: dict[str, Any] = {}
        self._groove: dict[str, Any] = {}
        self._files: dict[str, Path] = {}

    # -- weights ---------------------------------------------------------------------------------
    @property
    def _folder(self) -> Path:
        path = str(self.options.get("path") or "")
        return Path(os.path.expanduser(path)) if path else SHIPPED

    def _plan(self) -> tuple[dict[str, tuple[Path, dict]], dict]:
        """kind → (folder, index entry), each from the configured folder, else the shipped one."""
        try:
            own = read_index(self._folder)
            shipped = own if self._folder == SHIPPED else read_index(SHIPPED)
        except ValueError as exc:
            raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, f"midi model {self.model_name}: {exc}") from None
        plan = {}
        for kind in MODEL_KINDS:
            if kind in own["models"]:
                plan[kind] = (self._folder, own["models"][kind])
            elif kind in shipped["models"]:
                plan[kind] = (SHIPPED, shipped["models"][kind])
            else:
                raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, f"midi model {self.model_name}: no {kind} weights")
            if not (plan[kind][0] / plan[kind][1]["file"]).is_file():
                raise DawgenError(ErrorCode.MODEL_UNAVAILABLE,
                                  f"midi model {self.model_name}: {plan[kind][0] / plan[kind][1]['file']} is missing")
        groove = own.get("groove") or shipped.get("groove") or {}
        return plan, groove

    def _check_available(self) -> None:
        self._plan()

    def fingerprint(self) -> dict[str, Any]:
        from ...output.provenance import file_sha256

        out: dict[str, Any] = {"path": str(self._folder)}
        if self.options.get("training"):
            out["training"] = training_record(Path(str(self.options["training"])))
        try:
            plan, _ = self._plan()
        except DawgenError:
            return out
        out["weights_sha256"] = {kind: file_sha256(str(folder / entry["file"])) for kind, (folder, entry) in plan.items()}
        return out

    def _memory_estimate(self) -> int:
        if self._models:
            from ..torch_util import module_bytes

            return module_bytes(*self._models.values())
        plan, _ = self._plan()
        return 2 * sum((folder / entry["file"]).stat().st_size for folder, entry in plan.values())  # fp16 → fp32

    def estimate_seconds(self, verb: str, params: Mapping[str, Any]) -> float:
        per_file = 0.3 if _is_harmony(verb, params) else 0.05  # harmony: several models a file
        return per_file * int(params.get("count") or params.get("steps") or 1)

    # -- submit time ---------------------------------------------------------------------------------
    def _check_params(self, verb: str, params: Mapping[str, Any]) -> None:
        from ...output import midi_preview

        S.check(verb, params)
        midi_preview.check_params(params)  # a preview this machine cannot render: refused now

    # -- load -----------------------------------------------------------------------------------------
    def _load(self) -> None:
        import torch

        from .store import load_model

        plan, groove = self._plan()
        try:
            # the shipped folder is dawgen's own: allow_pickle trusts only the configured one
            self._models = {kind: load_model(folder, kind, entry, self.model_name,
                                             allow_pickle(self.options) and folder != SHIPPED)
                            for kind, (folder, entry) in plan.items()}
        except (OSError, RuntimeError, KeyError, TypeError, ValueError) as exc:
            raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, f"midi model {self.model_name}: weights do not load "
                                                           f"({type(exc).__name__}: {exc})") from None
        self._groove = groove
        self._files = {kind: folder / entry["file"] for kind, (folder, entry) in plan.items()}
        started = time.monotonic()
        with _threads(torch):  # warm-up: the first call through each model is slow
            gen = torch.Generator().manual_seed(0)
            from .generate import sample_drums, sample_melody, vae_interpolate

            sample_melody(self._models["melody"], 16, 16, False, V.SCALES["major"], 1.0, gen)
            sample_drums(self._models["drums"], 16, 1.0, gen)
            vae_interpolate(self._models["vae_melody"], np.ones((1, 32), np.int64), np.ones((1, 32), np.int64), 2, 0.0, gen)
            vae_interpolate(self._models["vae_drums"], np.zeros((1, 32, V.N_LANES)), np.zeros((1, 32, V.N_LANES)), 2, 0.0, gen)
            from .harmony.warm import warm_up

            warm_up(self._models, gen)
        log.info("midi %s loaded from %s (warm-up %.0f ms)", self.model_name, self._folder, 1000 * (time.monotonic() - started))

    def _unload(self) -> None:
        self._models = {}

    # -- run ---------------------------------------------------------------------------------------------
    def _run(self, verb: str, ctx: RunContext) -> list[Output]:
        import torch

        try:
            with _threads(torch):
                if _is_harmony(verb, ctx.params):
                    return self._harmony(verb, ctx)
                return {"midi/generate": self._generate, "midi/continue": self._continue,
                        "midi/interpolate": self._interpolate, "midi/groove": self._groove_verb,
                        "midi/drumify": self._drumify}[verb](ctx)
        except ValueError as exc:
            raise DawgenError(ErrorCode.BAD_REQUEST, str(exc)) from None

    def _harmony(self, verb: str, ctx: RunContext) -> list[Output]:
        """Issue #26's verbs and kinds (harmony/runs.py); the trio's drums from the drum model."""
        from .generate import sample_drums
        from .harmony.runs import RUNS
        from .harmony.verbs import Harmony

        def drums(steps: int, gen: Any, bar: int) -> list[Note]:
            hits, vel = sample_drums(self._models["drums"], steps, float(ctx.params.get("temperature", 1.0)), gen,
                                     bar_steps=bar)
            return _drum_notes(hits, vel, PPQ // 4, 0)

        return RUNS[verb](Harmony(self._models, drums), ctx)

    def _seeds(self, p: Mapping[str, Any]) -> list[int]:
        seed = int(p.get("seed") or 0)
        return [seed + i for i in range(int(p.get("count") or 1))]

    def _generate(self, ctx: RunContext) -> list[Output]:
        import torch

        from .generate import sample_drums, sample_melody

        p = ctx.params
        kind = str(p.get("kind") or "melody")
        bars = S.whole_bars(p, S.DEFAULT_BARS) or S.DEFAULT_BARS
        num, den = S.meter(p)
        bpm = float(p.get("bpm") or S.DEFAULT_BPM)
        clip = Clip([], PPQ, bpm, num, den)
        steps = bars * clip.bar_steps
        key, scale = _key_scale(p.get("key"), p.get("scale"))
        temp = float(p.get("temperature", 1.0))
        outputs: list[Output] = []
        seeds = self._seeds(p)
        for i, seed in enumerate(seeds):
            ctx.progress(i / len(seeds), "generating")
            gen = torch.Generator().manual_seed(seed)
            if kind == "drums":
                hits, vel = sample_drums(self._models["drums"], steps, temp, gen, bar_steps=clip.bar_steps)
                notes = _drum_notes(hits, vel, clip.ppq // 4, 0)
                name, track = "drums", "Drums"
                meta = {}
            else:
                minor = scale in V.MINOR_SCALES
                line = sample_melody(self._models["melody"], steps, clip.bar_steps, minor, V.SCALES[scale], temp, gen)
                notes = _melody_notes(line, _shift(key.root), clip.ppq // 4, clip.bar_steps, 0)
                name, track = "melody", "Melody"
                meta = {"key": key.name, "scale": scale}
            out = Clip(notes, PPQ, bpm, num, den, bars * clip.bar_ticks)
            stem = "_".join(x for x in (name, str(seed), daw_suffix(bpm, key.name if kind == "melody" else None, bars)) if x)
            outputs.append(self._midi(out, track, seed, stem, kind=kind, bars=bars, **meta))
        return outputs

    def _continue(self, ctx: RunContext) -> list[Output]:
        import torch

        from .data import find_key
        from .generate import melody_prefix, sample_drums, sample_melody

        p = ctx.params
        src = _input(p, "input")
        bars = S.whole_bars(p, S.DEFAULT_BARS) or S.DEFAULT_BARS
        step = src.ppq // 4
        bars_in = src.bars
        hist_steps = bars_in * src.bar_steps
        steps = bars * src.bar_steps
        start_tick = bars_in * src.bar_ticks
        temp = float(p.get("temperature", 1.0))
        bpm = float(p.get("bpm") or src.bpm)
        stem_in = slugify(Path(str(p["input"])).stem, fallback="clip")
        outputs: list[Output] = []
        if src.is_drums:
            hits, vel = _drum_grid(src, hist_steps)
        else:
            line = top_line(src)
            if p.get("key"):
                key = parse_key(str(p["key"]))
                tonic, minor = key.root, key.minor
            else:
                tonic, minor = find_key([n[2] for n in line], [n[1] for n in line])
            scale_name = str(p.get("scale") or ("minor" if minor else "major"))
            minor = scale_name in V.MINOR_SCALES
            shift = _shift(tonic)
            prefix = melody_prefix([(s, d, pitch - shift) for s, d, pitch in line], hist_steps, minor)
        seeds = self._seeds(p)
        for i, seed in enumerate(seeds):
            ctx.progress(i / len(seeds), "continuing")
            gen = torch.Generator().manual_seed(seed)
            if src.is_drums:
                nh, nv = sample_drums(self._models["drums"], steps, temp, gen, history=(hits, vel), bar_steps=src.bar_steps)
                new = _drum_notes(nh, nv, step, start_tick)
                track, meta = src.name or "Drums", {"kind": "drums"}
            else:
                new_line = sample_melody(self._models["melody"], steps, src.bar_steps, minor, V.SCALES[scale_name],
                                         temp, gen, prefix=prefix, start=hist_steps)
                new = _melody_notes([(s - hist_steps, d, pt) for s, d, pt in new_line], shift, step, src.bar_steps,
                                    start_tick)
                track, meta = src.name or "Melody", {"kind": "melody", "scale": scale_name}
            out = Clip(list(src.notes) + new, src.ppq, bpm, src.numerator, src.denominator,
                       start_tick + bars * src.bar_ticks)
            outputs.append(self._midi(out, track, seed, f"{stem_in}_continued_{seed}", bars=bars_in + bars,
                                      input_bars=bars_in, **meta))
        return outputs

    def _interpolate(self, ctx: RunContext) -> list[Output]:
        import torch

        from .generate import grid_notes, melody_grid, vae_interpolate

        p = ctx.params
        a, b = _input(p, "input"), _input(p, "input2")
        bars = max(a.bars, b.bars)
        total = bars * a.bar_steps
        windows = -(-total // 32)
        drums = a.is_drums
        if drums:
            ga, gb = (_loop(_drum_grid(c, c.bars * c.bar_steps)[0], windows * 32) for c in (a, b))
            ga, gb = ga.reshape(windows, 32, V.N_LANES), gb.reshape(windows, 32, V.N_LANES)
        else:
            ga, gb = (_loop(melody_grid(top_line(c), c.bars * c.bar_steps), windows * 32).reshape(windows, 32)
                      for c in (a, b))
        if (not drums and b.is_drums) or (drums and not b.is_drums):
            raise ValueError("input2: interpolate needs two drum clips or two melodic clips")
        steps = int(p.get("steps", 5))
        seed = int(p.get("seed") or 0)
        grids = vae_interpolate(self._models["vae_drums" if drums else "vae_melody"], ga, gb, steps,
                                float(p.get("temperature", 0.0)), torch.Generator().manual_seed(seed))
        bpm = float(p.get("bpm") or a.bpm)
        sa = slugify(Path(str(p["input"])).stem, fallback="a")
        sb = slugify(Path(str(p["input2"])).stem, fallback="b")
        step = PPQ // 4
        outputs: list[Output] = []
        for i, g in enumerate(grids):
            ctx.progress(i / len(grids), "interpolating")
            if drums:
                hits = g.reshape(-1, V.N_LANES)[:total]
                vel = self._groove_velocity(hits)
                notes = _drum_notes(hits, vel, step, 0)
            else:
                notes = [Note(s * step, d * step, pitch, 90, 0) for s, d, pitch in grid_notes(g.reshape(-1)[:total])]
            out = Clip(notes, PPQ, bpm, a.numerator, a.denominator, bars * (PPQ * 4 * a.numerator // a.denominator))
            outputs.append(self._midi(out, "Drums" if drums else "Melody", seed,
                                      f"{sa}_to_{sb}_{i + 1}of{steps}", kind="drums" if drums else "melody",
                                      bars=bars, position=round(i / max(1, steps - 1), 4)))
        return outputs

    def _groove_verb(self, ctx: RunContext) -> list[Output]:
        from .groove import humanize

        p = ctx.params
        src = _input(p, "input")
        amount = float(p.get("amount", 0.5))
        stem_in = slugify(Path(str(p["input"])).stem, fallback="clip")
        outputs: list[Output] = []
        for seed in self._seeds(p):
            notes = humanize(src, amount, seed, self._groove)
            bpm = float(p.get("bpm") or src.bpm)
            out = Clip(notes, src.ppq, bpm, src.numerator, src.denominator, src.bars * src.bar_ticks)
            outputs.append(self._midi(out, src.name or ("Drums" if src.is_drums else "Groove"), seed,
                                      f"{stem_in}_groove{round(amount * 100)}_{seed}", amount=amount, bars=src.bars))
        return outputs

    def _drumify(self, ctx: RunContext) -> list[Output]:
        import torch

        from .generate import sample_drums

        p = ctx.params
        src = _input(p, "input")
        bars = S.whole_bars(p, None) or src.bars
        steps = bars * src.bar_steps
        onsets = _loop(_onset_grid(src, src.bars * src.bar_steps), steps)
        bpm = float(p.get("bpm") or src.bpm)
        stem_in = slugify(Path(str(p["input"])).stem, fallback="clip")
        outputs: list[Output] = []
        seeds = self._seeds(p)
        for i, seed in enumerate(seeds):
            ctx.progress(i / len(seeds), "drumifying")
            hits, vel = sample_drums(self._models["drums"], steps, float(p.get("temperature", 1.0)),
                                     torch.Generator().manual_seed(seed), onsets=onsets, bar_steps=src.bar_steps)
            out = Clip(_drum_notes(hits, vel, PPQ // 4, 0), PPQ, bpm, src.numerator, src.denominator,
                       bars * (PPQ * 4 * src.numerator // src.denominator))
            outputs.append(self._midi(out, "Drums", seed, f"{stem_in}_drums_{seed}", kind="drums", bars=bars))
        return outputs

    # -- helpers -------------------------------------------------------------------------------------------
    def _groove_velocity(self, hits: np.ndarray) -> np.ndarray:
        mean = np.asarray(self._groove.get("velocity_mean") or np.full((V.N_LANES, 16), 0.7))
        pos = np.arange(len(hits)) % 16
        return hits * mean.T[pos]

    def _midi(self, clip: Clip, track: str, seed: int, stem: str, **meta: Any) -> Midi:
        data = write_clip(clip, track)
        info = {"name": stem, "bpm": clip.bpm, "time_signature": f"{clip.numerator}/{clip.denominator}",
                "notes": len(clip.notes), "ppq": clip.ppq, **meta}
        return Midi(data=data, seed=seed, meta=info)


class _threads:
    """One torch thread while a midi model runs (faster for tiny models), restored after."""

    def __init__(self, torch: Any) -> None:
        self.torch = torch
        self.before = 1

    def __enter__(self) -> None:
        self.before = self.torch.get_num_threads()
        self.torch.set_num_threads(1)

    def __exit__(self, *exc: Any) -> None:
        self.torch.set_num_threads(self.before)


def _key_scale(key_text: Any, scale: Any) -> tuple[Any, str]:
    key = parse_key(str(key_text)) if key_text else parse_key("C")
    return key, str(scale or ("minor" if key.minor else "major"))


def _shift(tonic: int) -> int:
    """Semitones from C to the tonic, the way keeping the melody nearest its trained range."""
    return tonic if tonic <= 6 else tonic - 12


def _input(p: Mapping[str, Any], name: str) -> Clip:
    clip = read_clip(S.input_path(p, name))
    if clip.ppq % 4:
        clip = clip.rescaled(PPQ)
    return clip


def _drum_grid(clip: Clip, steps: int) -> tuple[np.ndarray, np.ndarray]:
    hits = np.zeros((steps, V.N_LANES), np.float32)
    vel = np.zeros_like(hits)
    step = clip.ppq / 4
    for n in clip.notes:
        lane = V.lane_of_drum_note(n.pitch) if n.channel == DRUM_CHANNEL else None
        s = round(n.tick / step)
        if lane is not None and s < steps:
            hits[s, lane] = 1.0
            vel[s, lane] = max(vel[s, lane], n.velocity / 127)
    return hits, vel


def _onset_grid(clip: Clip, steps: int) -> np.ndarray:
    grid = np.zeros(steps, np.float32)
    step = clip.ppq / 4
    for n in clip.notes:
        s = round(n.tick / step)
        if s < steps:
            grid[s] = 1.0
    return grid


def _loop(x: np.ndarray, steps: int) -> np.ndarray:
    if len(x) == 0:
        return np.zeros((steps,) + x.shape[1:], x.dtype)
    reps = -(-steps // len(x))
    return np.concatenate([x] * reps)[:steps]


def _drum_notes(hits: np.ndarray, vel: np.ndarray, step_ticks: int, offset: int) -> list[Note]:
    notes = []
    for s, lane in zip(*np.nonzero(hits)):
        v = int(round(float(vel[s, lane]) * 127))
        notes.append(Note(offset + int(s) * step_ticks, max(1, step_ticks // 2), V.DRUM_LANES[lane][1],
                          max(1, min(127, v or 90)), DRUM_CHANNEL))
    return sorted(notes, key=lambda n: (n.tick, n.pitch))


def _melody_notes(line: Sequence[tuple[int, int, int]], shift: int, step_ticks: int, bar_steps: int,
                  offset: int) -> list[Note]:
    notes = []
    for s, d, pitch in line:
        accent = 100 if s % bar_steps == 0 else 90 if s % 4 == 0 else 80
        notes.append(Note(offset + s * step_ticks, d * step_ticks, max(0, min(127, pitch + shift)), accent, 0))
    return notes
