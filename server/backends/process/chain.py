"""Effect chains: the `chain` parameter (a JSON list of steps), checked without pedalboard, run with it.

A built-in step is `{"effect": "<pedalboard class>", <its parameters by pedalboard's own names>}`,
e.g. `{"effect": "LowpassFilter", "cutoff_frequency_hz": 400}`; a plugin step is
`{"plugin": "<name or path>", "params": {...}, "preset": "<file>"}` (plugins.py finds it, host.py
runs it in a child process). `{"effect": "paulstretch", "stretch": 8, "window_seconds": 0.25,
"loop": false}` is dawgen's own (paulstretch.py, numpy): the one step that changes the length, so
the steps after it work on the stretched audio. `parse_chain` only reads the JSON, so the daemon checks a request at
submit time without importing pedalboard; `apply_chain` imports it in the model process.
"""
from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...errors import DawgenError, ErrorCode

MAX_STEPS = 32
# Silence appended when a chain's tail is kept (`tail=true`): the most of a reverb or delay tail
# written; what ends below TAIL_FLOOR_DB is cut.
TAIL_SECONDS = 8.0
TAIL_FLOOR_DB = -90.0
# The pedalboard effects a built-in step may name, with the parameters each takes (pedalboard's
# own property names; tests check this table against the installed pedalboard).
EFFECTS: dict[str, tuple[str, ...]] = {
    "Gain": ("gain_db",),
    "LowpassFilter": ("cutoff_frequency_hz",),
    "HighpassFilter": ("cutoff_frequency_hz",),
    "LowShelfFilter": ("cutoff_frequency_hz", "gain_db", "q"),
    "HighShelfFilter": ("cutoff_frequency_hz", "gain_db", "q"),
    "PeakFilter": ("cutoff_frequency_hz", "gain_db", "q"),
    "Compressor": ("attack_ms", "ratio", "release_ms", "threshold_db"),
    "Limiter": ("release_ms", "threshold_db"),
    "NoiseGate": ("attack_ms", "ratio", "release_ms", "threshold_db"),
    "Reverb": ("damping", "dry_level", "freeze_mode", "room_size", "wet_level", "width"),
    "Delay": ("delay_seconds", "feedback", "mix"),
    "Chorus": ("centre_delay_ms", "depth", "feedback", "mix", "rate_hz"),
    "Phaser": ("centre_frequency_hz", "depth", "feedback", "mix", "rate_hz"),
    "Distortion": ("drive_db",),
    "Clipping": ("threshold_db",),
    "Bitcrush": ("bit_depth",),
    "PitchShift": ("semitones",),
    "Invert": (),
}
# dawgen's own steps (numpy, no pedalboard): name -> the module that checks and runs it
OWN_EFFECTS = ("paulstretch",)
PLUGIN_KEYS = ("plugin", "params", "preset")


@dataclass(frozen=True)
class Step:
    """One step: a built-in `effect` or a `plugin`, with its parameters."""

    effect: str = ""
    plugin: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    preset: str = ""

    @property
    def label(self) -> str:
        return self.effect or f"plugin {self.plugin}"


def parse_chain(text: str) -> list[Step]:
    """The steps of a `chain` value; ValueError naming the step and what is wrong."""
    try:
        raw = json.loads(text) if isinstance(text, str) else text
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON ({exc.msg} at character {exc.pos}); give a list of steps such as "
                         '[{"effect": "Gain", "gain_db": -6}]') from None
    if isinstance(raw, dict):
        raw = [raw]  # one step needs no brackets
    if not isinstance(raw, list) or not raw:
        raise ValueError("must be a non-empty JSON list of steps")
    if len(raw) > MAX_STEPS:
        raise ValueError(f"{len(raw)} steps; at most {MAX_STEPS}")
    return [_parse_step(i + 1, step) for i, step in enumerate(raw)]


def check_chain(text: str) -> None:
    """ParamSpec check: `chain` parses (effect names and parameters included)."""
    if text:
        parse_chain(text)


def _parse_step(n: int, raw: Any) -> Step:
    if not isinstance(raw, dict):
        raise ValueError(f"step {n}: expected an object with `effect` or `plugin`, got {raw!r}")
    if "effect" in raw and "plugin" in raw:
        raise ValueError(f"step {n}: give `effect` or `plugin`, not both")
    if "plugin" in raw:
        return _plugin_step(n, raw)
    name = raw.get("effect")
    if name == "paulstretch":
        from .paulstretch import check_params

        try:
            return Step(effect=name, params=check_params({k: v for k, v in raw.items() if k != "effect"}))
        except ValueError as exc:
            raise ValueError(f"step {n}: {exc}") from None
    if name not in EFFECTS:
        what = f"unknown effect {name!r}" if name else "needs `effect` (a built-in) or `plugin`"
        raise ValueError(f"step {n}: {what}; built-in effects: {', '.join([*EFFECTS, *OWN_EFFECTS])}")
    params = {k: v for k, v in raw.items() if k != "effect"}
    for key, value in params.items():
        if key not in EFFECTS[name]:
            valid = ", ".join(EFFECTS[name]) or "none"
            raise ValueError(f"step {n}: {name} has no parameter {key!r} (its parameters: {valid})")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"step {n}: {name}.{key} must be a number, got {value!r}")
    return Step(effect=name, params={k: float(v) for k, v in params.items()})


def _plugin_step(n: int, raw: Mapping[str, Any]) -> Step:
    unknown = [k for k in raw if k not in PLUGIN_KEYS]
    if unknown:
        raise ValueError(f"step {n}: a plugin step takes {', '.join(PLUGIN_KEYS)}, not {', '.join(unknown)}")
    plugin, params, preset = raw.get("plugin"), raw.get("params", {}), raw.get("preset", "")
    if not isinstance(plugin, str) or not plugin.strip():
        raise ValueError(f"step {n}: `plugin` must be a plugin's name or path")
    if not isinstance(params, dict) or not all(isinstance(v, (int, float, str, bool)) for v in params.values()):
        raise ValueError(f"step {n}: `params` must map parameter names to numbers, strings or booleans")
    if not isinstance(preset, str):
        raise ValueError(f"step {n}: `preset` must be the absolute path of a preset file")
    if preset and not os.path.isabs(os.path.expanduser(preset)):
        raise ValueError(f"step {n}: preset {preset!r} is a relative path; give an absolute path")
    return Step(plugin=plugin.strip(), params=dict(params), preset=os.path.expanduser(preset))


# -- running -------------------------------------------------------------------------------------------
PluginRunner = Callable[[Step, np.ndarray, int], np.ndarray]
ProgressFn = Callable[[float], None]


def apply_chain(samples: np.ndarray, rate: int, steps: list[Step], run_plugin: PluginRunner, *,
                tail: bool = False, progress: ProgressFn | None = None) -> np.ndarray:
    """`samples` (frames, channels) through every step in order. The result is as long as the input;
    with `tail`, plus what the chain rings on for (up to TAIL_SECONDS, cut below TAIL_FLOOR_DB).
    A paulstretch step makes the audio (with what has rung on so far) its stretched length, and
    the steps after it keep that length. `run_plugin(step, x, rate)` runs a plugin step (host.py);
    `progress(fraction)` runs before each step and may raise to cancel."""
    frames = samples.shape[0]
    pad = int(TAIL_SECONDS * rate) if tail else 0
    x = np.asarray(samples, dtype=np.float32)
    x = np.concatenate([x, np.zeros((pad, x.shape[1]), np.float32)]) if pad else x
    for i, step in enumerate(steps):
        if progress is not None:
            progress(i / len(steps))
        if step.effect in OWN_EFFECTS:
            x, frames = _stretch_step(step, x, rate, frames, pad, progress, i / len(steps))
            continue
        x = _to_frames(run_plugin(step, x, rate) if step.plugin else run_effect(step, x, rate), frames + pad, step)
    return _cut_tail(x, frames) if tail else x[:frames]


def _stretch_step(step: Step, x: np.ndarray, rate: int, frames: int, pad: int, progress: ProgressFn | None,
                  done: float) -> tuple[np.ndarray, int]:
    """paulstretch over the audio and what has rung on so far (never the silence after it); the
    tail's silence goes back after the stretched audio for the steps that follow."""
    from .paulstretch import paulstretch

    sounding = _cut_tail(x, frames) if pad else x[:frames]
    check = None if progress is None else (lambda: progress(done))
    y = paulstretch(sounding, rate, check=check, **step.params)
    return (np.concatenate([y, np.zeros((pad, y.shape[1]), np.float32)]) if pad else y), y.shape[0]


def run_effect(step: Step, x: np.ndarray, rate: int) -> np.ndarray:
    """One built-in pedalboard effect over (frames, channels) float32."""
    import pedalboard

    try:
        effect = getattr(pedalboard, step.effect)(**step.params)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise DawgenError(ErrorCode.BAD_REQUEST, f"chain: {step.effect}{step.params}: {exc}") from None
    out = effect(np.ascontiguousarray(x.T), float(rate), reset=True)
    return np.ascontiguousarray(np.asarray(out, dtype=np.float32).T)


def _to_frames(x: np.ndarray, frames: int, step: Step) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 2 or not np.all(np.isfinite(x)):
        raise DawgenError(ErrorCode.BACKEND_FAILED, f"chain: {step.label} gave no usable audio (NaN, inf or bad shape)")
    if x.shape[0] < frames:  # an effect with latency it did not compensate: never shorter than the input
        x = np.pad(x, ((0, frames - x.shape[0]), (0, 0)))
    return x[:frames]


def _cut_tail(x: np.ndarray, frames: int) -> np.ndarray:
    floor = 10 ** (TAIL_FLOOR_DB / 20)
    loud = np.flatnonzero(np.max(np.abs(x[frames:]), axis=1) > floor) if x.shape[0] > frames else []
    end = frames + (int(loud[-1]) + 1 if len(loud) else 0)
    return x[:end]
