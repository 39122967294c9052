"""Follow an incoming MIDI clock: where the bar lines are and what the tempo is.

MIDI clock is 24 ticks per quarter note. After a Start message the next clock tick is the first
beat of bar 1 (MIDI 1.0 spec), so bar lines fall on ticks 0, 24*beats_per_bar, ... counted from
Start. A Song Position Pointer (in 16ths) moves the count, so Continue resumes on the right beat.
`capture start=bar` waits here for the next bar line, which is how a recording lines up with the DAW.
"""
from __future__ import annotations

import itertools
import threading
from collections import deque
from typing import Any

PPQ = 24


class BarClock:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self.running = False
        self.ticks = 0           # clock ticks since the song position 0
        self.downbeats = 0       # bar lines seen (any beats_per_bar waiter checks its own)
        self._tick_times: deque[float] = deque(maxlen=PPQ + 1)
        self._waiters: dict[int, int] = {}  # id -> beats per bar, for waiters that want a bar line
        self._reached: set[int] = set()
        self._keys = itertools.count()

    def feed(self, msg: Any, now: float) -> None:
        """Take one message (anything with `.type`; clock, start, continue, stop, songpos)."""
        kind = getattr(msg, "type", "")
        with self._cond:
            if kind == "start":
                self.running, self.ticks = True, 0
                self._tick_times.clear()
            elif kind == "continue":
                self.running = True
            elif kind == "stop":
                self.running = False
            elif kind == "songpos":
                self.ticks = int(msg.pos) * (PPQ // 4)
            elif kind == "clock":
                self._tick(now)
            else:
                return
            self._cond.notify_all()

    def _tick(self, now: float) -> None:
        self._tick_times.append(now)
        if not self.running:
            return
        for key, beats in self._waiters.items():
            if self.ticks % (PPQ * beats) == 0:
                self._reached.add(key)
        self.ticks += 1

    def bpm(self) -> float | None:
        """Tempo from the last quarter note of ticks; None until a beat's worth has arrived."""
        with self._cond:
            times = list(self._tick_times)
        if len(times) < PPQ + 1 or times[-1] <= times[0]:
            return None
        return 60.0 / (times[-1] - times[0])  # PPQ intervals = one quarter note

    @property
    def waiting(self) -> int:
        """How many callers are inside wait_for_bar now (a capture with start=bar waits here)."""
        with self._cond:
            return len(self._waiters)

    def wait_for_bar(self, beats_per_bar: int, timeout: float) -> bool:
        """Block until the next bar line (the tick after Start counts); False on timeout."""
        with self._cond:
            key = next(self._keys)
            self._waiters[key] = beats_per_bar
            try:
                return self._cond.wait_for(lambda: key in self._reached, timeout)
            finally:
                self._waiters.pop(key, None)
                self._reached.discard(key)
