"""Post-processing cost per 10 s of 48 kHz stereo for each DAW-ready step, next to the synth's
generation time for the same 10 s measured in the same run.
    .venv/bin/python bench/post.py
"""
from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
from _common import percentile
from table import Row

from server.backends.synth.render import render
from server.output import wav, wavchunks
from server.output.wavchunks import FileFacts
from server.post.grid import estimate_tempo, fit_to_grid, time_stretch, trim_one_shot
from server.post.loop import make_seamless
from server.post.loudness import normalize
from server.post.resample import resample

RATE, BPM, BARS = 48000, 96.0, 4  # 4 bars at 96 bpm = 10 s


def timed(fn: Callable[[], object], runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return percentile(times, 50) * 1e3


def main() -> dict[str, float]:
    loop = render("drum loop", seed=1, bpm=BPM, bars=BARS, sample_rate=RATE).samples
    frames = loop.shape[0]
    facts = FileFacts(frames=frames, sample_rate=RATE, title="drum loop", bpm=BPM, beats=16, loop=True)
    steps = {
        "synth: generate the 10 s loop": lambda: render("drum loop", seed=1, bpm=BPM, bars=BARS, sample_rate=RATE),
        "estimate tempo": lambda: estimate_tempo(loop, RATE),
        "time-stretch x1.05 (Rubber Band)": lambda: time_stretch(loop, RATE, 1.05),
        "fit to grid (known tempo, no stretch)": lambda: fit_to_grid(loop, RATE, frames, BPM, source_bpm=BPM),
        "seamless loop crossfade": lambda: make_seamless(np.concatenate([loop, loop[:960]]), frames, RATE),
        "trim one-shot": lambda: trim_one_shot(loop, RATE),
        "resample 48k -> 44.1k (soxr VHQ)": lambda: resample(loop, RATE, 44100),
        "loudness to -14 LUFS + true-peak limiter": lambda: normalize(loop, RATE, -14.0, -1.0, periodic=True),
        "WAV 24-bit + acid/smpl/bext/INFO/iXML": lambda: wav.encode(loop, RATE, "24", wavchunks.all_chunks(facts, {})),
    }
    res = {name: timed(fn) for name, fn in steps.items()}
    base = res["synth: generate the 10 s loop"]
    print("DAW-ready post-processing, per 10 s of 48 kHz stereo (median of 5):")
    for name, ms in res.items():
        print(f"  {name:44s} {ms:8.1f} ms  ({ms / base:5.2f}x the synth's generation)")
    return res


def rows(res: dict[str, float]) -> list[Row]:
    base = "synth: generate the 10 s loop"
    beside = f"synth generation {res[base]:.1f} ms"
    return [Row("post", f"{name} (per 10 s)", ms, "ms", beside=beside) for name, ms in res.items() if name != base]


if __name__ == "__main__":
    main()
