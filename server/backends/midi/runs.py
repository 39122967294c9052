"""The step models' verbs (`midi/generate` melody|drums, `midi/continue`, `midi/interpolate`,
`midi/groove`, `midi/drumify`): parameters → clips on a 16th grid → the sampled grids → MIDI files.

One function per verb over the models the backend loaded (`models[kind]`) and the drum velocity
statistics (`groove` in midi.json), as harmony/runs.py holds the harmony verbs; MidiBackend
(__init__.py) keeps the weights, loading and dispatch. Below the verbs: reading a clip onto the grid
and writing a grid back as notes (`drum_notes` also gives the harmony trio its drums). torch and the
sampling code are imported inside the verbs, which run from MidiBackend._run only.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ...music import parse_key
from ...output.naming import daw_suffix, slugify
from ..base import Midi, Output, RunContext
from . import spec as S
from . import vocab as V
from .smf import DRUM_CHANNEL, PPQ, Clip, Note, read_clip, top_line, write_clip


def generate(models: Mapping[str, Any], groove: Mapping[str, Any], ctx: RunContext) -> list[Output]:
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
    seeds = S.seeds(p)
    for i, seed in enumerate(seeds):
        ctx.progress(i / len(seeds), "generating")
        gen = torch.Generator().manual_seed(seed)
        if kind == "drums":
            hits, vel = sample_drums(models["drums"], steps, temp, gen, bar_steps=clip.bar_steps)
            notes = drum_notes(hits, vel, clip.ppq // 4, 0)
            name, track = "drums", "Drums"
            meta = {}
        else:
            minor = scale in V.MINOR_SCALES
            line = sample_melody(models["melody"], steps, clip.bar_steps, minor, V.SCALES[scale], temp, gen)
            notes = _melody_notes(line, _shift(key.root), clip.ppq // 4, clip.bar_steps, 0)
            name, track = "melody", "Melody"
            meta = {"key": key.name, "scale": scale}
        out = Clip(notes, PPQ, bpm, num, den, bars * clip.bar_ticks)
        stem = "_".join(x for x in (name, str(seed), daw_suffix(bpm, key.name if kind == "melody" else None, bars)) if x)
        outputs.append(_midi(out, track, seed, stem, kind=kind, bars=bars, **meta))
    return outputs


def continue_clip(models: Mapping[str, Any], groove: Mapping[str, Any], ctx: RunContext) -> list[Output]:
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
    seeds = S.seeds(p)
    for i, seed in enumerate(seeds):
        ctx.progress(i / len(seeds), "continuing")
        gen = torch.Generator().manual_seed(seed)
        if src.is_drums:
            nh, nv = sample_drums(models["drums"], steps, temp, gen, history=(hits, vel), bar_steps=src.bar_steps)
            new = drum_notes(nh, nv, step, start_tick)
            track, meta = src.name or "Drums", {"kind": "drums"}
        else:
            new_line = sample_melody(models["melody"], steps, src.bar_steps, minor, V.SCALES[scale_name],
                                     temp, gen, prefix=prefix, start=hist_steps)
            new = _melody_notes([(s - hist_steps, d, pt) for s, d, pt in new_line], shift, step, src.bar_steps,
                                start_tick)
            track, meta = src.name or "Melody", {"kind": "melody", "scale": scale_name}
        out = Clip(list(src.notes) + new, src.ppq, bpm, src.numerator, src.denominator,
                   start_tick + bars * src.bar_ticks)
        outputs.append(_midi(out, track, seed, f"{stem_in}_continued_{seed}", bars=bars_in + bars,
                             input_bars=bars_in, **meta))
    return outputs


def interpolate(models: Mapping[str, Any], groove: Mapping[str, Any], ctx: RunContext) -> list[Output]:
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
    grids = vae_interpolate(models["vae_drums" if drums else "vae_melody"], ga, gb, steps,
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
            vel = _groove_velocity(groove, hits)
            notes = drum_notes(hits, vel, step, 0)
        else:
            notes = [Note(s * step, d * step, pitch, 90, 0) for s, d, pitch in grid_notes(g.reshape(-1)[:total])]
        out = Clip(notes, PPQ, bpm, a.numerator, a.denominator, bars * (PPQ * 4 * a.numerator // a.denominator))
        outputs.append(_midi(out, "Drums" if drums else "Melody", seed,
                             f"{sa}_to_{sb}_{i + 1}of{steps}", kind="drums" if drums else "melody",
                             bars=bars, position=round(i / max(1, steps - 1), 4)))
    return outputs


def groove_verb(models: Mapping[str, Any], groove: Mapping[str, Any], ctx: RunContext) -> list[Output]:
    from .groove import humanize

    p = ctx.params
    src = _input(p, "input")
    amount = float(p.get("amount", 0.5))
    stem_in = slugify(Path(str(p["input"])).stem, fallback="clip")
    outputs: list[Output] = []
    for seed in S.seeds(p):
        notes = humanize(src, amount, seed, groove)
        bpm = float(p.get("bpm") or src.bpm)
        out = Clip(notes, src.ppq, bpm, src.numerator, src.denominator, src.bars * src.bar_ticks)
        outputs.append(_midi(out, src.name or ("Drums" if src.is_drums else "Groove"), seed,
                             f"{stem_in}_groove{round(amount * 100)}_{seed}", amount=amount, bars=src.bars))
    return outputs


def drumify(models: Mapping[str, Any], groove: Mapping[str, Any], ctx: RunContext) -> list[Output]:
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
    seeds = S.seeds(p)
    for i, seed in enumerate(seeds):
        ctx.progress(i / len(seeds), "drumifying")
        hits, vel = sample_drums(models["drums"], steps, float(p.get("temperature", 1.0)),
                                 torch.Generator().manual_seed(seed), onsets=onsets, bar_steps=src.bar_steps)
        out = Clip(drum_notes(hits, vel, PPQ // 4, 0), PPQ, bpm, src.numerator, src.denominator,
                   bars * (PPQ * 4 * src.numerator // src.denominator))
        outputs.append(_midi(out, "Drums", seed, f"{stem_in}_drums_{seed}", kind="drums", bars=bars))
    return outputs


# verb → its function, called as RUNS[verb](models, groove, ctx) (verbs the step models make)
RUNS = {"midi/generate": generate, "midi/continue": continue_clip, "midi/interpolate": interpolate,
        "midi/groove": groove_verb, "midi/drumify": drumify}


def _groove_velocity(groove: Mapping[str, Any], hits: np.ndarray) -> np.ndarray:
    mean = np.asarray(groove.get("velocity_mean") or np.full((V.N_LANES, 16), 0.7))
    pos = np.arange(len(hits)) % 16
    return hits * mean.T[pos]

def _midi(clip: Clip, track: str, seed: int, stem: str, **meta: Any) -> Midi:
    data = write_clip(clip, track)
    info = {"name": stem, "bpm": clip.bpm, "time_signature": f"{clip.numerator}/{clip.denominator}",
            "notes": len(clip.notes), "ppq": clip.ppq, **meta}
    return Midi(data=data, seed=seed, meta=info)


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


def drum_notes(hits: np.ndarray, vel: np.ndarray, step_ticks: int, offset: int) -> list[Note]:
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
