"""MIDI clock following: bar lines counted from Start, tempo from tick spacing."""
import threading

import mido
import pytest

from bridge.midi.clock import PPQ, BarClock
from tests.waiting import wait_until


def ticks(clock, n, start_time=0.0, bpm=120.0):
    step = 60.0 / bpm / PPQ
    for i in range(n):
        clock.feed(mido.Message("clock"), start_time + i * step)
    return start_time + n * step


def wait_registered(clock):
    """The waiter must be listening before the tick it waits for is sent."""
    wait_until(lambda: clock.waiting, timeout=5, what="a waiter in wait_for_bar", every=0.001)


def test_tempo_from_clock_ticks():
    clock = BarClock()
    clock.feed(mido.Message("start"), 0.0)
    assert clock.bpm() is None  # not a beat's worth yet
    ticks(clock, PPQ + 1, bpm=93.0)
    assert clock.bpm() == pytest.approx(93.0)


def test_the_first_tick_after_start_is_a_bar_line_then_every_bar():
    clock = BarClock()
    reached = []

    def waiter():
        reached.append(clock.wait_for_bar(3, timeout=5))

    clock.feed(mido.Message("start"), 0.0)
    t = threading.Thread(target=waiter)
    t.start()
    wait_registered(clock)
    ticks(clock, 1)
    t.join(5)
    assert reached == [True] and clock.ticks == 1
    # mid-bar now: the next bar line of 3/4 is at tick 72
    t = threading.Thread(target=waiter)
    t.start()
    wait_registered(clock)
    ticks(clock, 70)  # ticks 1..70
    assert t.is_alive() and reached == [True]
    ticks(clock, 2)   # tick 71, then 72 = the bar line
    t.join(5)
    assert reached == [True, True]


def test_no_bar_line_without_a_running_clock():
    clock = BarClock()
    ticks(clock, 200)  # clock without Start: position unknown
    assert clock.wait_for_bar(4, timeout=0.05) is False
    clock.feed(mido.Message("songpos", pos=16), 0.0)  # 16 sixteenths = bar 2 in 4/4
    clock.feed(mido.Message("continue"), 0.0)
    assert clock.ticks == 96 and clock.running


def test_stop_halts_bar_counting():
    clock = BarClock()
    clock.feed(mido.Message("start"), 0.0)
    clock.feed(mido.Message("stop"), 0.0)
    ticks(clock, 100)
    assert clock.ticks == 0 and clock.wait_for_bar(4, timeout=0.05) is False
