"""Audio devices by name pattern (sounddevice / PortAudio), for audition, capture and `dawgen devices`.

PortAudio lists devices once, when it is initialised; a device plugged in (or a JACK server
started) later is only seen after a re-initialisation, which `DeviceSet` does when a lookup fails
and no stream is open.
"""
from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from server.config import AudioConfig
from server.errors import DawgenError, ErrorCode

from .midi.mapping import port_matches

log = logging.getLogger("dawgen.audio")

EXTRA_HINT = ("install the optional extra 'audio': pip install 'dawgen[audio]' (sounddevice), "
              "and PortAudio (Debian/Ubuntu: apt install libportaudio2; macOS and Windows wheels include it)")
# Every PortAudio call that changes a stream (open, start, abort, close), a re-initialisation and the
# device list are made under this one lock. PortAudio's JACK host API (19.6, Debian's) answers them
# through one condition variable that all its streams share, without a predicate: two calls
# waiting at once, on one stream or on two, can take each other's wake-up, and a close that returns
# early frees a stream its real-time thread still processes. Each call waits a JACK period or two.
_sd_lock = threading.RLock()
_open_streams = 0  # streams opened through open_stream() and not yet closed


class AudioUnavailable(DawgenError):
    """sounddevice or PortAudio is missing."""

    def __init__(self, message: str) -> None:
        super().__init__(ErrorCode.DEVICE_UNAVAILABLE, message)


def load_sounddevice() -> Any:
    """The sounddevice module, imported on first use; AudioUnavailable names what to install."""
    # libjack (PortAudio's JACK host API) would otherwise try to start a JACK server itself.
    os.environ.setdefault("JACK_NO_START_SERVER", "1")
    try:
        import sounddevice
    except ImportError:
        raise AudioUnavailable(f"audio needs sounddevice: {EXTRA_HINT}") from None
    except OSError as exc:  # sounddevice is there, the PortAudio library is not
        raise AudioUnavailable(f"PortAudio cannot be loaded ({exc}): {EXTRA_HINT}") from None
    return sounddevice


@dataclass(frozen=True)
class Device:
    index: int
    name: str
    hostapi: str
    max_input_channels: int
    max_output_channels: int
    default_rate: float

    def describe(self) -> dict[str, Any]:
        return {"index": self.index, "name": self.name, "hostapi": self.hostapi, "inputs": self.max_input_channels,
                "outputs": self.max_output_channels, "default_sample_rate": self.default_rate}


def devices_of(sd: Any) -> tuple[list[Device], dict[str, int]]:
    """Every device PortAudio sees, and the default input/output index (-1 = none)."""
    hostapis = sd.query_hostapis()
    devices = [Device(int(d["index"]), str(d["name"]), str(hostapis[d["hostapi"]]["name"]),
                      int(d["max_input_channels"]), int(d["max_output_channels"]), float(d["default_samplerate"]))
               for d in sd.query_devices()]
    try:
        default_in, default_out = (int(i) if i is not None else -1 for i in sd.default.device)
    except (TypeError, ValueError):
        default_in = default_out = -1
    return devices, {"input": default_in, "output": default_out}


def pick_device(devices: Sequence[Device], kind: str, pattern: str = "", hostapi: str = "",
                defaults: dict[str, int] | None = None) -> Device:
    """The device for `kind` ("input" or "output"): the first whose name matches `pattern` (on a
    host API matching `hostapi`), else the default one. DawgenError(device_unavailable) says which
    devices there are, so the user can fix the pattern."""
    def channels(d: Device) -> int:
        return d.max_input_channels if kind == "input" else d.max_output_channels

    candidates = [d for d in devices if channels(d) > 0 and port_matches(hostapi, d.hostapi)]
    if pattern:
        for device in candidates:
            if port_matches(pattern, device.name):
                return device
    elif candidates:
        default = (defaults or {}).get(kind, -1)
        return next((d for d in candidates if d.index == default), candidates[0])
    seen = ", ".join(f"{d.name!r} ({d.hostapi})" for d in devices if channels(d) > 0) or "none"
    wanted = f"matching {pattern!r}" if pattern else "at all"
    where = f" on host API {hostapi!r}" if hostapi else ""
    raise DawgenError(ErrorCode.DEVICE_UNAVAILABLE,
                      f"no audio {kind} device {wanted}{where} ({kind} devices: {seen}); see `dawgen devices` "
                      f"and [audio] {kind} / hostapi in the config")


class DeviceSet:
    """The configured input and output devices, looked up when needed (devices come and go)."""

    def __init__(self, config: AudioConfig, busy: Callable[[], bool] = lambda: False) -> None:
        self.config = config
        self.busy = busy  # True while a stream is open: PortAudio must not be re-initialised then

    def input(self) -> Device:
        return self._find("input", self.config.input)

    def output(self) -> Device:
        return self._find("output", self.config.output)

    def _find(self, kind: str, pattern: str) -> Device:
        sd = load_sounddevice()
        with _sd_lock:
            devices, defaults = devices_of(sd)
        try:
            return pick_device(devices, kind, pattern, self.config.hostapi, defaults)
        except DawgenError:
            if self.busy() or not _refresh(sd):
                raise
        with _sd_lock:
            devices, defaults = devices_of(sd)
        return pick_device(devices, kind, pattern, self.config.hostapi, defaults)


def open_stream(factory: Callable[[], Any]) -> Any:
    """A PortAudio stream made by `factory()`, counted open until `close_stream` has closed it: a
    re-initialisation closes every open stream while its callback may still run in the host API's
    thread (a crash with JACK), so `_refresh` waits for none. The owner's busy flag alone does not
    cover this (it is set after the open)."""
    global _open_streams
    with _sd_lock:
        stream = factory()
        _open_streams += 1
        return stream


def stream_call(call: Callable[[], Any]) -> Any:
    """One PortAudio call on an open stream (start, abort), in turn with all others."""
    with _sd_lock:
        return call()


def close_stream(stream: Any) -> None:
    global _open_streams
    with _sd_lock:
        try:
            stream.close()
        finally:
            _open_streams -= 1


def open_streams() -> int:
    with _sd_lock:
        return _open_streams


def _refresh(sd: Any) -> bool:
    """Re-initialise PortAudio to see devices that appeared since; never while a stream is open (a
    re-initialisation closes them). sounddevice documents _terminate/_initialize for this."""
    with _sd_lock:
        if _open_streams:
            log.debug("PortAudio refresh skipped: %d stream(s) open", _open_streams)
            return False
        try:
            sd._terminate()
            sd._initialize()
            return True
        except Exception as exc:  # noqa: BLE001 - a failed refresh just means the old list stands
            log.debug("PortAudio refresh failed: %s", exc)
            return False
