"""`synth`: the embedded default model. DSP synthesis (no neural network, no weights).

It makes drum one-shots, bass/pluck notes, pads, risers, impacts and drum loops chosen from prompt
words. The DSP modules (and scipy) are imported on load, not at daemon start.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from ...params import ParamSpec, bpm_param, count_param, seed_param
from ..base import Audio, Backend, Output, RunContext

MAX_SECONDS = 180.0  # as render.MAX_SECONDS; repeated so submit-time checks need no scipy import
# Sidecar-worthy meta; per-hit lists of long loops would bloat every sidecar.
_META_KEYS = ("kind", "traits", "matched", "note", "bpm", "bars", "style", "swing", "seconds", "synthesis", "seamless")


def _check_note(value: str) -> None:
    from .render import parse_note  # raises ValueError with a readable message

    if value:
        parse_note(value)


GENERATE_PARAMS: tuple[ParamSpec, ...] = (
    ParamSpec("prompt", "str", "kick", max_length=500,
              doc="sound words: kick, snare, clap, hat, open hat, tom, rim, perc, bass, pluck, pad, riser, "
                  "impact, drum loop; with descriptors such as punchy, dark, 808, lofi, bright, long"),
    ParamSpec("seconds", "float", None, min=0.05, max=60.0, doc="length of a one-shot; default: the sound's own"),
    seed_param("same seed + params = identical audio; default: random"),
    count_param(64, "variations with consecutive seeds, one file each"),
    bpm_param(120.0, "tempo of loops (and risers)"),  # the common range, with the synth's own default
    ParamSpec("bars", "float", None, min=0.25, max=64.0,
              doc="length in bars of time_signature at bpm (loops default to 2); the file is exactly this long"),
    ParamSpec("note", "str", None, max_length=8, check=_check_note,
              doc="pitch of tonal sounds: MIDI number (36) or name (C2, F#1); C4 = 60"),
    ParamSpec("tone", "float", None, min=0.0, max=1.0, doc="brightness 0..1; default from the prompt"),
    ParamSpec("decay", "float", 1.0, min=0.1, max=4.0, doc="multiplies decay times"),
    ParamSpec("swing", "float", 0.0, min=0.0, max=0.75, doc="delay of off-beat 16ths in loops"),
)


def _beats_per_bar(params: Mapping[str, Any]) -> float:
    """Quarter-note beats in a bar of the request's meter (7/8 → 3.5)."""
    from ...post.grid import beats_per_bar

    return beats_per_bar(str(params.get("time_signature") or "4/4"))


class SynthBackend(Backend):
    name: ClassVar[str] = "synth"
    version: ClassVar[str] = "1"
    verbs: ClassVar[Mapping[str, Sequence[ParamSpec]]] = {"generate": GENERATE_PARAMS}
    config_keys: ClassVar[Mapping[str, type]] = {}

    def _load(self) -> None:
        from . import render

        self._render = render.render
        self._parse_note = render.parse_note

    def fingerprint(self) -> dict[str, Any]:
        return {"weights": None, "note": "DSP synthesis: no weights; output depends on the synth version"}

    def _check_params(self, verb: str, params: Mapping[str, Any]) -> None:
        from .words import parse  # light: no numpy/scipy

        if parse(str(params.get("prompt", ""))).kind == "loop" and params.get("bars") is not None:
            seconds = float(params["bars"]) * _beats_per_bar(params) * 60 / float(params.get("bpm", 120.0))
            if seconds > MAX_SECONDS:
                raise ValueError(f"a loop of {params['bars']:g} bars at {params.get('bpm', 120.0):g} bpm lasts "
                                 f"{seconds:.0f} s; the synth makes loops up to {MAX_SECONDS:.0f} s")

    def estimate_seconds(self, verb: str, params: Mapping[str, Any]) -> float:
        # measured on a 2-core CPU: about 6 ms per second of audio (render + write) plus 20 ms per file
        if params.get("bars") is not None:
            audio_seconds = float(params["bars"]) * 4 * 60 / float(params.get("bpm", 120.0))
        else:
            audio_seconds = float(params.get("seconds") or 1.0)
        return int(params.get("count", 1)) * (0.02 + 0.006 * audio_seconds)

    def _run(self, verb: str, ctx: RunContext) -> list[Output]:
        p = ctx.params
        count, seed, rate = int(p.get("count", 1)), int(p["seed"]), int(p["sample_rate"])
        note = self._parse_note(p["note"]) if p.get("note") else None
        outputs: list[Output] = []
        for i in range(count):
            def step(fraction: float, i: int = i) -> None:
                ctx.progress((i + fraction) / count, "generating")

            step(0.0)
            rendered = self._render(
                str(p.get("prompt", "kick")), seed=seed + i, sample_rate=rate, seconds=p.get("seconds"),
                bpm=float(p.get("bpm", 120.0)), bars=p.get("bars"), note=note, tone=p.get("tone"),
                decay=float(p.get("decay", 1.0)), swing=float(p.get("swing", 0.0)), progress=step,
                beats_per_bar=_beats_per_bar(p),
            )
            meta = {k: rendered.meta[k] for k in _META_KEYS if k in rendered.meta}
            outputs.append(Audio(rendered.samples, rate, seed=seed + i, meta=meta))
        return outputs
