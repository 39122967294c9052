"""PortAudio streams driven by callbacks (playback of a buffer, recording into one), and fitting a
file to what an output device can play. sounddevice is passed in, never imported here."""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np

from server.errors import DawgenError, ErrorCode

from .audio_devices import Device, close_stream, open_stream, stream_call


class _Stream:
    """One PortAudio stream driven by a callback; `done` is set when it has finished or was stopped.

    PortAudio's calls on one stream are not thread-safe (an abort racing a close hangs JACK's client
    and aborts the process at exit), so start(), stop() and close() take turns under the stream's
    lock, which also keeps a stop after a start in flight; and every PortAudio call, on any stream,
    takes its turn under audio_devices' one lock."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.stopped = False
        self.closed = False
        self.stream: Any = None
        self.xruns = 0
        self._ops = threading.Lock()

    def start(self) -> bool:
        """Start it, unless stop() came first (False then). A stop arriving while PortAudio is still
        starting it waits for the start (see audio_devices._sd_lock for why calls take turns)."""
        with self._ops:
            if self.stopped or self.closed:
                return False
            stream_call(self.stream.start)
            return True

    def stop(self) -> None:
        with self._ops:
            self.stopped = True
            if self.stream is not None and not self.closed:
                try:
                    stream_call(self.stream.abort)  # abort, not stop: stop would play out queued buffers first
                except Exception:  # noqa: BLE001 - an already finished stream is stopped enough
                    pass
        self.done.set()

    def close(self) -> None:
        with self._ops:
            if self.stream is not None and not self.closed:
                self.closed = True
                try:
                    close_stream(self.stream)
                except Exception:  # noqa: BLE001
                    pass


class Playback(_Stream):
    def __init__(self, sd: Any, device: Device, data: np.ndarray, rate: int, path: str) -> None:
        super().__init__()
        self.data, self.pos, self.path, self.sd = data, 0, path, sd
        self.stream = open_stream(lambda: sd.OutputStream(
            device=device.index, channels=data.shape[1], samplerate=rate, dtype="float32", callback=self._fill,
            finished_callback=self.done.set))

    def _fill(self, outdata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        if status:
            self.xruns += 1
        n = min(frames, len(self.data) - self.pos)
        outdata[:n] = self.data[self.pos:self.pos + n]
        outdata[n:] = 0
        self.pos += n
        if self.pos >= len(self.data):
            raise self.sd.CallbackStop  # PortAudio plays out what it has, then calls finished_callback


class Recording(_Stream):
    def __init__(self, sd: Any, device: Device, channels: int, rate: int, frames: int) -> None:
        super().__init__()
        self.buf, self.pos, self.sd = np.zeros((frames, channels), dtype=np.float32), 0, sd
        self.stream = open_stream(lambda: sd.InputStream(
            device=device.index, channels=channels, samplerate=rate, dtype="float32", callback=self._take,
            finished_callback=self.done.set))

    def _take(self, indata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        if status:
            self.xruns += 1
        n = min(frames, len(self.buf) - self.pos)
        self.buf[self.pos:self.pos + n] = indata[:n]
        self.pos += n
        if self.pos >= len(self.buf):
            raise self.sd.CallbackStop


def read_audio(path: Path) -> tuple[np.ndarray, int]:
    import soundfile as sf

    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (RuntimeError, sf.LibsndfileError) as exc:
        raise DawgenError(ErrorCode.BAD_REQUEST, f"cannot read {path} as audio: {exc}") from None
    if len(data) == 0:
        raise DawgenError(ErrorCode.BAD_REQUEST, f"{path} holds no audio")
    return data, int(rate)


def fit_to_device(data: np.ndarray, rate: int, device: Device) -> tuple[np.ndarray, int]:
    """The file as the device can play it: its default rate (JACK runs at one rate) and channels."""
    target = int(device.default_rate) or rate
    if target != rate:
        from server.post.resample import resample

        data = resample(data, rate, target)
    channels = device.max_output_channels
    if data.shape[1] == 1 and channels >= 2:
        data = np.repeat(data, 2, axis=1)  # mono to both speakers
    elif data.shape[1] > channels:
        data = data[:, :channels] if channels > 1 else data.mean(axis=1, keepdims=True)
    return np.ascontiguousarray(data, dtype=np.float32), target
