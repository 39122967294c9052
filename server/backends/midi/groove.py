"""`groove`: humanize the timing and velocity of a (quantized) clip. numpy only.

Velocity is learned: each note moves toward a draw from the drum data's velocity distribution for
its GM lane and 16th position (mean and spread per lane and position, `groove` in midi.json; melodic
notes use the profile over all lanes). Timing is not learned — the Hydrogen patterns carry no
microtiming (every note's lead/lag is 0) — so notes are moved by seeded Gaussian jitter (sigma =
amount x 1/10 of a 16th, never more than a third of a 16th), note lengths kept. amount 0 returns
the notes unchanged.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np

from .smf import DRUM_CHANNEL, Clip, Note
from .vocab import N_LANES, lane_of_drum_note


def humanize(clip: Clip, amount: float, seed: int, stats: Mapping[str, Any]) -> list[Note]:
    if amount <= 0:
        return list(clip.notes)
    rng = np.random.default_rng(seed)
    mean = np.asarray(stats.get("velocity_mean") or np.full((N_LANES, 16), 0.7))
    std = np.asarray(stats.get("velocity_std") or np.full((N_LANES, 16), 0.1))
    any_mean = np.asarray(stats.get("any_mean") or np.full(16, 0.7))
    any_std = np.asarray(stats.get("any_std") or np.full(16, 0.1))
    step = clip.ppq / 4
    end = max(clip.length_ticks, clip.bars * clip.bar_ticks)
    out = []
    for n in clip.notes:
        pos = int(round(n.tick / step)) % 16
        lane = lane_of_drum_note(n.pitch) if n.channel == DRUM_CHANNEL else None
        m, s = (mean[lane, pos], std[lane, pos]) if lane is not None else (any_mean[pos], any_std[pos])
        # the drum data's levels are relative to the kit; keep the clip's own loudness as the centre
        target = n.velocity * (m / max(1e-3, float(mean.mean() if lane is not None else any_mean.mean())))
        target += rng.normal() * s * 127
        vel = int(round(n.velocity + amount * (target - n.velocity)))
        jitter = rng.normal() * amount * step / 10
        jitter = float(np.clip(jitter, -step / 3, step / 3))
        tick = int(round(min(max(0, n.tick + jitter), end - 1)))
        out.append(replace(n, tick=tick, velocity=max(1, min(127, vel)), dur=max(1, min(n.dur, end - tick))))
    return sorted(out, key=lambda n: (n.tick, n.channel, n.pitch))
