"""Cutting one training file (already at the model's rate) into clips, and finding a file's tempo.

Modes (the train verb's `chop` param):
- `onsets`: one-shots. Sound regions are found with a peak envelope (2.5 ms hops) against a gate
  45 dB under the file's peak (never under -70 dBFS); a region is split again where the envelope
  jumps 10 dB over its maximum of the previous 50 ms (a new hit over the tail of the last one).
  A clip starts at its first sample over the gate, so leading silence is trimmed. A peak envelope
  compared with the previous 50 ms ignores the ripple of a low sine (a kick's 40 Hz body), which a
  hop-by-hop RMS would take for onsets; no librosa needed.
- `bars`: loops, cut into runs of whole bars at the file's tempo: the largest power of two bars that
  fits the training window and the file (1, 2, 4, 8 ... bars), from the file's first frame.
- `window`: long recordings, kept whole (leading and trailing silence trimmed); training draws a
  random window of each per step, as stable-audio-tools does.
- `none`: the file as it is.

Tempo: the ACID chunk's tempo (how Reaper, Kontakt and dawgen's own writer tag loops), else a
`120bpm` / `120 BPM` in the file name, else the `bpm` the request gives.
"""
from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..output.wavchunks import find_chunk

Span = tuple[int, int]  # [start, stop) frames

HOP_SECONDS = 0.0025
LOOKBACK_SECONDS = 0.05   # longer than one period of a 25 Hz sub: its ripple is never a rise
RISE_DB = 10.0
MIN_GAP_SECONDS = 0.06    # two hits closer than this are one (a flam, a double-triggered attack)
MIN_SILENCE_SECONDS = 0.1  # a shorter dip under the gate stays inside the sound
GATE_BELOW_PEAK_DB = 45.0
GATE_FLOOR_DBFS = -70.0
LOOP_MAX_BARS = 16        # `auto` takes a file of whole bars at a known tempo, at most this many, as a loop

_BPM_IN_NAME = re.compile(r"(?<![\d.])(\d{2,3}(?:\.\d+)?)\s*bpm(?![a-z])", re.IGNORECASE)
_DENOMINATORS = (1, 2, 4, 8, 16, 32)


@dataclass(frozen=True)
class Tempo:
    bpm: float
    meter: tuple[int, int] = (4, 4)
    source: str = "name"  # "acid", "name" or "param"

    def bar_frames(self, rate: int) -> float:
        numerator, denominator = self.meter
        return numerator * (4.0 / denominator) * 60.0 / self.bpm * rate


def read_acid(path: Path) -> Tempo | None:
    """The tempo and meter of a WAV file's `acid` chunk (None when it has none, or tempo 0).

    Layout (see server/output/wavchunks.py): u32 flags, u16 root, u16, f32, u32 beats, u16 meter
    numerator, u16 meter denominator, f32 tempo. libsndfile writes the meter pair the other way
    round (libsndfile issue #190), so a pair whose "denominator" is not a power of two is swapped.
    """
    try:
        with open(path, "rb") as fh:
            data = find_chunk(fh, b"acid")
        if data is not None and len(data) >= 24:
            fields = struct.unpack("<IHHfIHHf", data[:24])
            return _acid_tempo(fields[5], fields[6], fields[7])
        return None
    except OSError:
        return None


def _acid_tempo(numerator: int, denominator: int, bpm: float) -> Tempo | None:
    if not 20.0 <= bpm <= 999.0:
        return None
    if denominator not in _DENOMINATORS and numerator in _DENOMINATORS:
        numerator, denominator = denominator, numerator
    if denominator not in _DENOMINATORS or not 1 <= numerator <= 32:
        numerator, denominator = 4, 4
    return Tempo(float(bpm), (numerator, denominator), "acid")


def tempo_from_name(name: str) -> Tempo | None:
    """`loop_120bpm.wav`, `Drums 92.5 BPM.aif` -> that tempo (40-300 bpm), else None."""
    match = _BPM_IN_NAME.search(name)
    if match is None:
        return None
    bpm = float(match.group(1))
    return Tempo(bpm, (4, 4), "name") if 40.0 <= bpm <= 300.0 else None


def file_tempo(path: Path, bpm: float | None) -> Tempo | None:
    """The file's own tempo (ACID chunk, then name), else `bpm` from the request."""
    found = read_acid(path) if path.suffix.lower() in (".wav", ".wave") else None
    found = found or tempo_from_name(path.name)
    if found is None and bpm:
        found = Tempo(float(bpm), (4, 4), "param")
    return found


def is_loop(frames: int, rate: int, tempo: Tempo | None) -> bool:
    """A file with a tempo that lasts a whole number of bars (within 1 % of a bar), from 1 to
    LOOP_MAX_BARS: a loop is cut to its bars, as DAWs cut it (a one-shot or a song tagged 120bpm is not)."""
    if tempo is None:
        return False
    bars = frames / tempo.bar_frames(rate)
    return 0.99 <= bars <= LOOP_MAX_BARS + 0.01 and abs(bars - round(bars)) <= 0.01


def frame_level(x: np.ndarray) -> np.ndarray:
    """|sample| of the loudest channel, per frame. (np.abs(x).max(axis=1) reduces rows of two
    numbers one at a time: several times slower on a long stereo file.)"""
    level = np.abs(x[:, 0])
    for channel in range(1, x.shape[1]):
        np.maximum(level, np.abs(x[:, channel]), out=level)
    return level


def gate_level(level: np.ndarray) -> float:
    """The level (linear) under which a frame of `frame_level` counts as silence."""
    peak = float(level.max()) if level.size else 0.0
    return max(peak * 10 ** (-GATE_BELOW_PEAK_DB / 20), 10 ** (GATE_FLOOR_DBFS / 20))


def _peaks(level: np.ndarray, hop: int) -> np.ndarray:
    hops = -(-level.shape[0] // hop)
    padded = np.zeros(hops * hop, dtype=np.float32)
    padded[: level.shape[0]] = level
    return padded.reshape(hops, hop).max(axis=1)


def _regions(active: np.ndarray, min_silence: int) -> list[Span]:
    """Runs of active hops, joined across gaps shorter than `min_silence` hops."""
    idx = np.flatnonzero(active)
    if idx.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(idx) > min_silence)
    starts = np.concatenate(([idx[0]], idx[breaks + 1]))
    stops = np.concatenate((idx[breaks], [idx[-1]])) + 1
    return list(zip(starts.tolist(), stops.tolist()))


def _previous_max(peaks: np.ndarray, lookback: int) -> np.ndarray:
    """For each hop, the largest peak of the `lookback` hops before it."""
    from scipy.ndimage import maximum_filter1d  # O(n) whatever the lookback

    before = np.concatenate(([0.0], peaks[:-1])).astype(peaks.dtype)
    # origin shifts the window to [i - lookback + 1, i] of `before`, i.e. hops i - lookback .. i - 1
    return maximum_filter1d(before, lookback, mode="constant", cval=0.0, origin=(lookback - 1) // 2)


def onset_spans(x: np.ndarray, rate: int) -> list[Span]:
    """One span per hit: from its first sample over the gate to the next hit or the end of the sound."""
    level = frame_level(x)
    gate = gate_level(level)
    if level.size == 0 or float(level.max()) <= gate:
        return []
    hop = max(1, int(round(rate * HOP_SECONDS)))
    peaks = _peaks(level, hop)
    previous = _previous_max(peaks, max(1, int(round(LOOKBACK_SECONDS * rate / hop))))
    rises = np.flatnonzero(peaks >= previous * 10 ** (RISE_DB / 20))
    min_gap = max(1, int(round(MIN_GAP_SECONDS * rate / hop)))
    spans: list[Span] = []
    for first, stop in _regions(peaks > gate, max(1, int(round(MIN_SILENCE_SECONDS * rate / hop)))):
        onsets = [first]
        for hop_index in rises[(rises > first) & (rises < stop)].tolist():
            if hop_index - onsets[-1] >= min_gap:
                onsets.append(hop_index)
        # A hit begins at the first sample of its hop over the gate (after silence) or over the
        # tail it rises from (a hit over the last one's decay).
        starts = [h * hop + int(np.argmax(level[h * hop:(h + 1) * hop] > max(gate, previous[h] if i else 0.0)))
                  for i, h in enumerate(onsets)]
        ends = starts[1:] + [min(stop * hop, level.shape[0])]
        spans.extend(zip(starts, ends))
    return spans


def trimmed_span(x: np.ndarray) -> Span | None:
    """The span from the first to the last sample over the gate (None: all silence)."""
    level = frame_level(x)
    loud = np.flatnonzero(level > gate_level(level))
    if loud.size == 0:
        return None
    return int(loud[0]), int(loud[-1]) + 1


def bar_spans(frames: int, rate: int, tempo: Tempo, window: int) -> list[Span]:
    """Runs of 2**k whole bars (the most that fit `window` and the file), from the first frame; a
    file shorter than one bar is one span, a remainder shorter than a run is dropped."""
    bar = tempo.bar_frames(rate)
    whole_bars = int(frames / bar + 0.01)  # a loop a few samples short of its bars is still whole
    if whole_bars < 1:
        return [(0, frames)]
    fit = max(1, min(whole_bars, int(window / bar + 0.01)))
    run = 1 << (fit.bit_length() - 1)
    length = run * bar
    return [(int(round(i * length)), min(frames, int(round((i + 1) * length))))
            for i in range(whole_bars // run)]


def spans_for(mode: str, x: np.ndarray, rate: int, tempo: Tempo | None, window: int) -> list[Span]:
    """The clips `mode` cuts from `x` (frames, channels). `bars` needs a tempo (the caller checks)."""
    if mode == "onsets":
        return onset_spans(x, rate)
    if mode == "bars" and tempo is not None:
        return bar_spans(x.shape[0], rate, tempo, window)
    if mode == "window":
        span = trimmed_span(x)
        return [span] if span is not None else []
    return [(0, x.shape[0])]
