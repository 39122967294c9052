"""A request's `chain` over audio: the `process` verb's work, and the hook every generating verb's
results pass through before the DAW-ready post-processing (server/execute.py calls `chain_outputs`).

Built-in steps run here, in the model process; plugin steps each in a child process (host.py).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from ...config import PluginsConfig
from ...errors import DawgenError, ErrorCode
from ..base import Audio, Output, RunContext
from .chain import OWN_EFFECTS, Step, apply_chain, parse_chain
from .host import process_with_plugin, run_isolated
from .plugins import find


def steps_of(params: Mapping[str, Any]) -> list[Step]:
    try:
        return parse_chain(params.get("chain") or "")
    except ValueError as exc:
        raise DawgenError(ErrorCode.BAD_REQUEST, f"chain: {exc}") from None


def plugin_runner(config: PluginsConfig, check: Callable[[], None] | None = None) -> Callable[..., np.ndarray]:
    """run_plugin for apply_chain: the step's plugin found (allowed folders only) and run isolated."""
    def run(step: Step, x: np.ndarray, rate: int) -> np.ndarray:
        path = find(config, step.plugin)
        return run_isolated(process_with_plugin, (str(path), step.params, step.preset, x, rate),
                            what=f"plugin {path.name}", timeout=config.timeout, check=check)

    return run


def run_chain(samples: np.ndarray, rate: int, params: Mapping[str, Any], config: PluginsConfig,
              ctx: RunContext | None, *, tail: bool, share: tuple[float, float] = (0.0, 1.0)) -> np.ndarray:
    """`samples` through the request's chain; progress maps into `share` of the job's bar."""
    steps = steps_of(params)
    lo, width = share
    progress = None if ctx is None else (lambda f: ctx.progress(lo + width * f, "processing"))
    check = None if ctx is None else ctx.check_cancel
    try:
        if any(step.effect not in OWN_EFFECTS for step in steps):  # dawgen's own steps are numpy
            import pedalboard  # noqa: F401  (a clear error before any step runs)
    except ImportError:
        raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, "chain needs pedalboard (not installed): "
                                                       "pip install 'dawgen[process]'") from None
    return apply_chain(samples, rate, steps, plugin_runner(config, check), tail=tail, progress=progress)


def chain_outputs(outputs: list[Output], ctx: RunContext, config: PluginsConfig) -> list[Output]:
    """Every audio result through the request's `chain` (MIDI and artifacts pass as they are).

    A result that must keep its length (stems: post = none) keeps it; others keep the tail, since
    the post-processing that follows trims a one-shot or fits a loop to its bars anyway."""
    out: list[Output] = []
    audio = [o for o in outputs if isinstance(o, Audio)]
    done = 0
    for item in outputs:
        if isinstance(item, Audio):
            share = (done / len(audio), 1 / len(audio))
            samples = run_chain(item.samples, item.sample_rate, ctx.params, config, ctx,
                                tail=item.meta.get("post") != "none", share=share)
            item = Audio(samples, item.sample_rate, seed=item.seed, meta={**item.meta, "chain": ctx.params["chain"]})
            done += 1
        out.append(item)
    return out
