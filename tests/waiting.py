"""Waiting for a condition another thread or process brings about, without racing it.

A test waits for the thing itself (a file, a line, a state), never for a fixed time. The deadline
only bounds a hang: it is generous and no assertion depends on how fast the machine is.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(condition: Callable[[], T], timeout: float = 10.0, what: str = "the condition",
               every: float = 0.01) -> T:
    """Poll `condition` until it returns something truthy and return that; AssertionError naming
    `what` when the deadline passes first."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(every)


class FakeClock:
    """A clock a test moves by hand (`clock.now += 0.5`), for code that takes an injectable clock."""

    def __init__(self, now: float = 100.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now
