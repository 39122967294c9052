"""Where chords sit in a clip and where they come from (no torch): the slot grid of
`chord_rhythm`, a `chords=` string or a chord clip read into key-relative chords per slot."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ....music import parse_key
from ..smf import DRUM_CHANNEL, Clip
from . import chords as C

BEAT = 4  # 16ths per beat: the models' chord grid


@dataclass(frozen=True)
class Grid:
    """A clip's 16th grid: `bars` bars of `bar` steps, chord slots every `slot` steps within a bar."""

    bars: int
    bar: int
    slot: int

    @property
    def steps(self) -> int:
        return self.bars * self.bar

    @property
    def beats(self) -> int:
        return -(-self.steps // BEAT)

    @property
    def beats_per_bar(self) -> int:
        return max(1, -(-self.bar // BEAT))

    def starts(self) -> list[int]:
        """Step of each chord slot's start."""
        return [b * self.bar + k for b in range(self.bars) for k in range(0, self.bar, self.slot)]

    def changes(self) -> list[bool]:
        """Per beat: does a slot start in it."""
        out = [False] * self.beats
        for s in self.starts():
            out[s // BEAT] = True
        return out

    def per_step(self, slot_chords: Sequence[C.Chord]) -> list[C.Chord]:
        starts = self.starts() + [self.steps]
        out: list[C.Chord] = []
        for i, chord in enumerate(slot_chords):
            out += [chord] * (starts[i + 1] - starts[i])
        return out


def grid(bars: int, bar_steps: int, rhythm: str) -> Grid:
    beat = BEAT if bar_steps % BEAT == 0 else 2  # x/8 meters: an eighth is the beat
    slot = {"bar": bar_steps, "half": bar_steps // 2 if bar_steps % 2 == 0 else bar_steps, "beat": beat}[rhythm]
    return Grid(bars, bar_steps, max(1, slot))


def tonic_of(params: Mapping[str, Any], fallback: tuple[int, bool]) -> tuple[int, bool]:
    """(tonic pitch class, minor) of `key`, else the fallback (a detected key)."""
    if params.get("key"):
        key = parse_key(str(params["key"]))
        return key.root, key.minor
    return fallback


def symbols_key(chords: Sequence[C.Chord]) -> tuple[int, bool]:
    """The key a progression implies (the key profile of its chord tones, first and last chords
    counted twice: progressions tend to start and end at home)."""
    from ..data import find_key

    pcs: list[int] = []
    for i, c in enumerate(chords):
        pcs += list(c.pcs) * (2 if i in (0, len(chords) - 1) else 1)
    return find_key(pcs)


def clip_chords(clip: Clip, g: Grid, name: str) -> list[C.Chord]:
    """The chord of each slot of a chord clip (absolute), gaps filled; ValueError naming why not."""
    step = clip.ppq / 4
    notes = [(round(n.tick / step), max(1, round(n.dur / step)), n.pitch) for n in clip.notes if n.channel != DRUM_CHANNEL]
    if not notes:
        raise ValueError(f"{name}: no chord notes (all of its notes are drums on channel 10)")
    raw = [C.infer(*C.slice_weights(notes, s, s + g.slot)) for s in g.starts()]
    try:
        return C.fill_gaps(raw)
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from None


def symbol_events(slot_chords: Sequence[C.Chord], g: Grid, tonic: int, step_ticks: int,
                  bar_ticks: int) -> tuple[list[tuple[int, str]], list[dict[str, Any]]]:
    """The symbols (absolute, in the key) as (tick, text) markers at each change and the sidecar's
    list of {bar, beat, symbol} (1-based)."""
    events, listed, last = [], [], None
    for start, chord in zip(g.starts(), slot_chords):
        if chord == last:
            continue
        last = chord
        tick = start * step_ticks
        sym = chord.transposed(tonic).symbol
        events.append((tick, sym))
        listed.append({"bar": tick // bar_ticks + 1, "beat": round((tick % bar_ticks) / (step_ticks * BEAT) + 1, 3),
                       "symbol": sym})
    return events, listed
