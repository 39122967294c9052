"""Synthetic training material written with numpy + soundfile: kicks, loops, recordings, bad files."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

RATE = 44100


def kick(variant: int = 0, rate: int = RATE, seconds: float = 0.4) -> np.ndarray:
    """A decaying sine sweep (mono float32); each `variant` differs in pitch, decay and level, so
    no two are duplicates."""
    t = np.arange(int(seconds * rate)) / rate
    start, end = 120.0 + 7.0 * variant, 40.0 + variant
    freq = end + (start - end) * np.exp(-t / 0.03)
    decay = 0.06 + 0.005 * variant
    return (0.8 - 0.02 * variant) * np.sin(2 * np.pi * np.cumsum(freq) / rate) * np.exp(-t / decay)


def with_lead(x: np.ndarray, seconds: float, rate: int = RATE) -> np.ndarray:
    return np.concatenate([np.zeros(int(round(seconds * rate))), x])


def kicks_in_a_row(starts: list[float], rate: int = RATE) -> np.ndarray:
    """Kicks at `starts` seconds, each ringing into the next (they overlap: no silence between)."""
    out = np.zeros(int((starts[-1] + 0.5) * rate))
    for i, start in enumerate(starts):
        hit = kick(i, rate)
        first = int(round(start * rate))
        out[first:first + hit.shape[0]] += hit
    return out


def drum_loop(bpm: float, bars: int, rate: int = RATE) -> np.ndarray:
    """A kick on every beat of `bars` 4/4 bars, exactly bars * 4 beats long."""
    beat = 60.0 / bpm
    out = np.zeros(int(round(bars * 4 * beat * rate)))
    for b in range(bars * 4):
        hit = kick(b % 4, rate, seconds=min(0.4, beat))
        first = int(round(b * beat * rate))
        n = min(hit.shape[0], out.shape[0] - first)
        out[first:first + n] += hit[:n]
    return out


def recording(seconds: float, rate: int = RATE, seed: int = 0) -> np.ndarray:
    """A stereo 'long recording': chords of sines that change every second, plus a little noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    root = 110.0 * 2 ** (np.floor(t) % 5 / 12)
    left = 0.3 * np.sin(2 * np.pi * root * t) + 0.2 * np.sin(2 * np.pi * 1.5 * root * t)
    right = 0.3 * np.sin(2 * np.pi * 1.25 * root * t) + 0.02 * rng.standard_normal(t.shape[0])
    return np.stack([left, right], axis=1)


def write(path: Path, x: np.ndarray, rate: int = RATE, subtype: str = "PCM_24") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), np.asarray(x, dtype=np.float32), rate, subtype=subtype)
    return path


def write_bad_files(folder: Path) -> dict[str, str]:
    """One file per reject reason; {file name: the reason the report must give}."""
    (folder / "notes-renamed.wav").write_text("this is a text file, not audio\n" * 20)
    write(folder / "zeros.wav", np.zeros(RATE))
    write(folder / "blip.wav", 0.5 * np.sin(2 * np.pi * 1000 * np.arange(int(0.005 * RATE)) / RATE))
    square = np.sign(np.sin(2 * np.pi * 100 * np.arange(RATE) / RATE))
    write(folder / "square.wav", square, subtype="FLOAT")  # exactly +-1.0: clipped throughout
    return {"notes-renamed.wav": "unreadable", "zeros.wav": "silent", "blip.wav": "too_short",
            "square.wav": "clipped"}
