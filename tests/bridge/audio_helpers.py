"""Test helpers for audio in/out: a model that does `vary` (so a chained capture really runs), and a
stand-in for sounddevice whose streams run their callbacks from a thread, for the device-free tests.
"""
from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from bridge.audio_devices import Device
from server.backends.base import Audio, Backend, Output, RunContext
from server.params import ParamSpec


class EchoBackend(Backend):
    """`vary` that returns its input file: proves a chained request ran on the recording."""

    name: ClassVar[str] = "echo-test"
    verbs: ClassVar[Mapping[str, Sequence[ParamSpec]]] = {
        "vary": (ParamSpec("input", "str", None), ParamSpec("strength", "float", 0.5, min=0, max=1)),
    }

    def _run(self, verb: str, ctx: RunContext) -> list[Output]:
        import soundfile as sf

        data, rate = sf.read(ctx.params["input"], dtype="float32", always_2d=True)
        ctx.progress(1.0)
        return [Audio(data, rate, meta={"input_frames": len(data)})]


ECHO_CONFIG = '[models.echo]\nbackend = "echo-test"\n'


def register_echo(monkeypatch: Any) -> None:
    from server.backends import BACKENDS

    monkeypatch.setitem(BACKENDS, "echo-test", "tests.bridge.audio_helpers:EchoBackend")


class _FakeStream:
    BLOCK = 256

    def __init__(self, device: int, channels: int, samplerate: float, dtype: str, callback: Any,
                 finished_callback: Any) -> None:
        self.channels, self.samplerate = channels, samplerate
        self.callback, self.finished = callback, finished_callback
        self._halt = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.blocks = 0

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while not self._halt.is_set():
            if not FakeSoundDevice.gate.wait(0.005):  # tests close the gate to hold a stream mid-way
                continue
            buf = self._block()
            try:
                self.callback(buf, self.BLOCK, None, None)
            except FakeSoundDevice.CallbackStop:
                break
            self.blocks += 1
            if self.blocks > 100_000:  # a stream nobody stops must not run for ever
                break
        self.finished()

    def abort(self) -> None:
        self._halt.set()
        if self._thread.is_alive():
            self._thread.join(5)

    def close(self) -> None:
        self.abort()


class FakeInputStream(_FakeStream):
    """Delivers a ramp (0, 1, 2, ... frame numbers scaled) so tests can check order and count."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.frame = 0

    def _block(self) -> np.ndarray:
        ramp = (np.arange(self.frame, self.frame + self.BLOCK, dtype=np.float32) % 1000) / 1000.0
        self.frame += self.BLOCK
        return np.repeat(ramp[:, None], self.channels, axis=1)


class FakeOutputStream(_FakeStream):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.played: list[np.ndarray] = []

    def _block(self) -> np.ndarray:
        out = np.zeros((self.BLOCK, self.channels), dtype=np.float32)
        self.played.append(out)
        return out


class FakeSoundDevice:
    """The parts of the sounddevice module bridge.audio_io uses."""

    class CallbackStop(Exception):
        pass

    gate = threading.Event()
    InputStream = FakeInputStream
    OutputStream = FakeOutputStream


FakeSoundDevice.gate.set()


class FakeDevices:
    def __init__(self) -> None:
        self.device = Device(3, "fake loopback", "Test API", 2, 2, 48000.0)

    def input(self) -> Device:
        return self.device

    def output(self) -> Device:
        return self.device
