"""Audio in and out through sounddevice (PortAudio): `audition` plays a file, `capture` records one.

sounddevice is imported on first use only (the optional extra `audio`), so a daemon that never
plays or records never loads PortAudio. One `AudioDoor` per engine (`door_for`) is shared by the
OSC verbs and the MIDI buttons: one playback and one capture at a time.

A capture is written through the engine's OutputWriter (temporary name, then rename, with a `.json`
sidecar), so the DAW never sees a partial recording and nothing lands outside the output root.
With `then`, the file is handed to another verb as its `input` through engine.submit, exactly as a
client's request would be.
"""
from __future__ import annotations

import json
import logging
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from server import __version__
from server.engine import Engine
from server.errors import DawgenError, ErrorCode
from server.jobs import Job, JobState, Request

from .audio_devices import Device, DeviceSet, load_sounddevice
from .audio_streams import Playback, Recording, fit_to_device, read_audio
from .capture_file import capture_stem, write_capture
from .midi.clock import BarClock

log = logging.getLogger("dawgen.audio")

DEFAULT_BPM = 120.0
STALL_GRACE_SECONDS = 5.0  # a stream that delivers nothing this long after its length is broken


def capture_seconds(seconds: float | None, bars: float | None, bpm: float | None, beats_per_bar: int = 4) -> float:
    """`seconds`, or `bars` of `beats_per_bar` quarter notes at `bpm`: 4 bars at 120 = 8.0 s."""
    if (seconds is None) == (bars is None):
        raise DawgenError(ErrorCode.BAD_REQUEST, "capture needs either seconds or bars (not both)")
    if seconds is not None:
        return float(seconds)
    return float(bars or 0.0) * beats_per_bar * 60.0 / float(bpm or DEFAULT_BPM)


def frames_for(seconds: float, sample_rate: int) -> int:
    """Whole frames for a length; a bar at any tempo rounds to the nearest sample, never drifts."""
    return int(round(seconds * sample_rate))


@dataclass
class CaptureSpec:
    seconds: float | None = None
    bars: float | None = None
    bpm: float | None = None
    beats_per_bar: int = 4
    start: str = "now"
    wait_seconds: float = 30.0
    dir: str = ""
    name: str = "capture"
    then: str | None = None
    then_params: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> CaptureSpec:
        """From validated /dawgen/capture params; `then_params` arrives as a JSON object string."""
        extra = params.get("then_params")
        then_params: dict[str, Any] = {}
        if extra:
            try:
                then_params = json.loads(extra)
            except ValueError as exc:
                raise DawgenError(ErrorCode.BAD_REQUEST, f"then_params: not valid JSON: {exc}") from None
            if not isinstance(then_params, dict):
                raise DawgenError(ErrorCode.BAD_REQUEST, "then_params: must be a JSON object")
            if "input" in then_params:
                raise DawgenError(ErrorCode.BAD_REQUEST, "then_params: `input` is the recording; leave it out")
        if then_params and not params.get("then"):
            raise DawgenError(ErrorCode.BAD_REQUEST, "then_params given without then")
        keys = ("seconds", "bars", "bpm", "beats_per_bar", "start", "wait_seconds", "dir", "name", "then")
        return cls(**{k: params[k] for k in keys if params.get(k) is not None}, then_params=then_params)


def chained_request(spec: CaptureSpec, path: str, req_id: str, client: dict[str, Any]) -> Request | None:
    """The request a capture hands its recording to (`then`), or None: `input` is the file."""
    if not spec.then:
        return None
    return Request(spec.then, {**spec.then_params, "input": path}, f"{req_id}.then", dict(client))


@dataclass
class CaptureSink:
    """Where a capture reports; each front door renders these its own way."""

    # called before recording starts (before the bar wait), so it always comes first
    accepted: Callable[[float, int, str], None] = lambda seconds, rate, device: None
    captured: Callable[[str, int, int], None] = lambda path, frames, rate: None
    failed: Callable[[str, str], None] = lambda code, message: None
    chained: Callable[[str, Job, int], None] = lambda req_id, job, position: None
    chain_failed: Callable[[str, str, str], None] = lambda req_id, code, message: None


class AudioDoor:
    """Audition and capture for one engine. Methods raise DawgenError for what a client can fix."""

    def __init__(self, engine: Engine, devices: DeviceSet | None = None) -> None:
        self.engine = engine
        self.config = engine.config.audio
        self.devices = devices or DeviceSet(self.config, busy=lambda: self._playback is not None or self._recording is not None)
        self.clock = BarClock()  # fed by the MIDI door when one runs
        self.clock_fed = False
        self._lock = threading.Lock()
        self._playback: Playback | None = None
        self._recording: Recording | None = None
        self._capturing = False
        self._cancel_wait = threading.Event()  # stops a capture still waiting for its bar line
        self._threads: list[threading.Thread] = []

    # -- audition ---------------------------------------------------------------------------------
    def audition(self, path: str | None = None, job: str | None = None,
                 on_end: Callable[[str, str], None] = lambda path, how: None,
                 on_start: Callable[[str, float], None] = lambda path, seconds: None) -> tuple[str, float]:
        """Start playing; returns (path, seconds). `on_start(path, seconds)` runs before playback can
        end; `on_end(path, how)` after, with how = finished | stopped | replaced."""
        target = self.resolve_audition(path, job)
        data, rate = read_audio(target)
        sd = load_sounddevice()
        device = self.devices.output()
        data, rate = fit_to_device(data, rate, device)
        playback = Playback(sd, device, data, rate, str(target))
        with self._lock:
            previous, self._playback = self._playback, playback
        if previous is not None:
            previous.stop()
        on_start(str(target), len(data) / rate)
        log.info("audition of %s: %.1f s on %s", target, len(data) / rate, device.name)
        self._start_thread(self._play, (playback, on_end), "dawgen-audition")
        return str(target), len(data) / rate

    def _play(self, playback: Playback, on_end: Callable[[str, str], None]) -> None:
        failed = False
        try:
            playback.start()  # not at all when a stop came first: done is set then
            finished = playback.done.wait(len(playback.data) / playback.stream.samplerate + STALL_GRACE_SECONDS)
            failed = not finished
            if failed:
                log.warning("audition of %s: the device stopped taking audio", playback.path)
        except Exception as exc:  # noqa: BLE001 - PortAudio errors are device problems
            log.warning("audition of %s failed: %s", playback.path, exc)
            failed = True
        finally:
            playback.close()
            with self._lock:
                current = self._playback is playback
                if current:
                    self._playback = None
        if playback.stopped:
            how = "stopped" if current else "replaced"
        else:
            how = "failed" if failed else "finished"
        log.info("audition of %s: %s", playback.path, how)
        on_end(playback.path, how)

    def resolve_audition(self, path: str | None, job: str | None) -> Path:
        if path:
            target = Path(path).expanduser()
            target = target if target.is_absolute() else self.engine.writer.root / target
        else:
            outputs = self.engine.status(job)[0].outputs if job else _last_outputs(self.engine)
            audio = [p for p in outputs if Path(p).suffix.lower() in (".wav", ".flac", ".aif", ".aiff", ".ogg")]
            if not audio:
                what = f"job {job}" if job else "any finished job"
                raise DawgenError(ErrorCode.NOT_FOUND, f"no audio output of {what} to play; give path=")
            target = Path(audio[0])
        if not target.is_file():
            raise DawgenError(ErrorCode.NOT_FOUND, f"no such file: {target}")
        return target

    # -- state ------------------------------------------------------------------------------------
    @property
    def capturing(self) -> bool:
        """True from an accepted capture until its file is written or it failed (the wait for a
        bar line included): a second capture is refused meanwhile."""
        with self._lock:
            return self._capturing

    @property
    def recording(self) -> bool:
        """True while a capture's input stream records (after any wait for the bar line)."""
        with self._lock:
            return self._recording is not None

    # -- stop -------------------------------------------------------------------------------------
    def stop(self, what: str = "all") -> tuple[bool, bool]:
        """Stop playback and/or a running capture; returns (playback_stopped, capture_stopped)."""
        with self._lock:
            playback = self._playback if what in ("all", "audition") else None
            recording = self._recording if what in ("all", "capture") else None
            capturing = self._capturing and what in ("all", "capture")
        for stream in (playback, recording):
            if stream is not None:
                stream.stop()
        if capturing and recording is None:
            self._cancel_wait.set()  # still waiting for the bar line
        return playback is not None, capturing

    # -- capture ----------------------------------------------------------------------------------
    def capture(self, spec: CaptureSpec, sink: CaptureSink, req_id: str = "",
                client: dict[str, Any] | None = None) -> tuple[float, int, str]:
        """Check, then record in the background; returns (seconds, sample_rate, device name).
        Results go to `sink`: accepted (before this returns), captured or failed, then chained or
        chain_failed. `client` is where the chained job's events go (as in Request.client)."""
        bpm = spec.bpm or (self.clock.bpm() if self.clock.running else None) or DEFAULT_BPM
        seconds = capture_seconds(spec.seconds, spec.bars, bpm, spec.beats_per_bar)
        if spec.start == "bar" and not self.clock_fed:
            raise DawgenError(ErrorCode.BAD_REQUEST, "start=bar follows the MIDI clock: configure [midi] inputs "
                                                     "that receive the DAW's clock (or use start=now)")
        self.engine.writer.target_dir({"dir": spec.dir}, time.time())  # refuse a bad dir before recording
        device = self.devices.input()
        take = _Take(spec, sink, req_id, dict(client or {}), device, seconds, bpm,
                     rate=int(self.config.sample_rate or device.default_rate),
                     channels=max(1, min(self.config.channels, device.max_input_channels)))
        with self._lock:
            if self._capturing:
                raise DawgenError(ErrorCode.BAD_REQUEST, "a capture is already running; stop it first")
            self._capturing, self._cancel_wait = True, threading.Event()
        try:
            sink.accepted(seconds, take.rate, device.name)
        except BaseException:
            with self._lock:
                self._capturing = False
            raise
        self._start_thread(self._capture, (take,), "dawgen-capture")
        return seconds, take.rate, device.name

    def _capture(self, take: _Take) -> None:
        try:
            path, frames = self._record_and_write(take)
        except DawgenError as exc:
            take.sink.failed(exc.code, exc.message)
            return
        except Exception as exc:
            log.exception("capture failed")
            take.sink.failed(ErrorCode.DEVICE_UNAVAILABLE, f"recording from {take.device.name} failed: {exc}")
            return
        finally:
            with self._lock:
                self._capturing, self._recording = False, None
        take.sink.captured(path, frames, take.rate)
        self._chain(take, path)

    def _record_and_write(self, take: _Take) -> tuple[str, int]:
        spec = take.spec
        if spec.start == "bar" and not self._wait_for_bar(spec):
            raise DawgenError(ErrorCode.CANCELLED, "capture stopped before it started")
        started = time.time()
        recording = Recording(load_sounddevice(), take.device, take.channels, take.rate, frames_for(take.seconds, take.rate))
        with self._lock:
            self._recording = recording
        try:
            recording.start()  # not when a stop came first: `stopped` then cancels below
            log.info("capture: recording %.3f s from %s", take.seconds, take.device.name)
            recording.done.wait(take.seconds + STALL_GRACE_SECONDS)
        finally:  # closed whatever happened: an open stream keeps PortAudio from seeing new devices
            recording.close()
        if recording.stopped:
            raise DawgenError(ErrorCode.CANCELLED, "capture stopped; nothing was written")
        if recording.pos < len(recording.buf):
            raise DawgenError(ErrorCode.DEVICE_UNAVAILABLE, f"{take.device.name} delivered {recording.pos} of "
                                                            f"{len(recording.buf)} frames; is it running?")
        out = self.engine.config.output
        sidecar = {"verb": "capture", "req_id": take.req_id, "dawgen_version": __version__,
                   "device": take.device.name, "hostapi": take.device.hostapi, "seconds": take.seconds,
                   "bars": spec.bars, "bpm": take.bpm, "beats_per_bar": spec.beats_per_bar, "start": spec.start,
                   "started_at": started, "xruns": recording.xruns}
        length = f"{spec.bars:g}bars" if spec.bars is not None else f"{take.seconds:g}s"
        path = write_capture(self.engine.writer, spec.dir, capture_stem(spec.name, length, started),
                             recording.buf, take.rate, out.format, out.bit_depth, sidecar)
        return str(path), len(recording.buf)

    def _wait_for_bar(self, spec: CaptureSpec) -> bool:
        deadline = time.monotonic() + spec.wait_seconds
        while time.monotonic() < deadline and not self._cancel_wait.is_set():
            if self.clock.wait_for_bar(spec.beats_per_bar, min(0.2, deadline - time.monotonic())):
                return True
        if self._cancel_wait.is_set():
            return False
        raise DawgenError(ErrorCode.BAD_REQUEST, f"no MIDI bar line within {spec.wait_seconds:g} s: is the DAW playing "
                                                 "and sending MIDI clock to dawgen?")

    def _chain(self, take: _Take, path: str) -> None:
        request = chained_request(take.spec, path, take.req_id, take.client)
        if request is None:
            return
        try:
            self.engine.submit(request, on_accepted=lambda job, pos: take.sink.chained(request.req_id, job, pos))
        except DawgenError as exc:
            log.info("capture chain %s refused: %s", request.verb, exc)
            take.sink.chain_failed(request.req_id, exc.code, exc.message)

    def _start_thread(self, target: Callable[..., None], args: tuple[Any, ...], name: str) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()

    def close(self, timeout: float = 5.0) -> None:
        """Stop everything and wait for the streams to close: PortAudio torn down at exit while a
        stream is still closing aborts the process (seen with JACK)."""
        self.stop("all")
        with self._lock:
            threads = list(self._threads)
        deadline = time.monotonic() + timeout
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))


@dataclass
class _Take:
    """One capture in progress: what was asked and the device it records from."""

    spec: CaptureSpec
    sink: CaptureSink
    req_id: str
    client: dict[str, Any]
    device: Device
    seconds: float
    bpm: float
    rate: int
    channels: int


def _last_outputs(engine: Engine) -> list[str]:
    for job in engine.recent_jobs(20):
        if job.state is JobState.DONE and job.outputs:
            return list(job.outputs)
    return []


_DOORS: weakref.WeakKeyDictionary[Engine, AudioDoor] = weakref.WeakKeyDictionary()
_DOORS_LOCK = threading.Lock()


def door_for(engine: Engine) -> AudioDoor:
    """The one AudioDoor of an engine, shared by the OSC verbs and MIDI buttons."""
    with _DOORS_LOCK:
        door = _DOORS.get(engine)
        if door is None:
            door = _DOORS[engine] = AudioDoor(engine)
        return door
