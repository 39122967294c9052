"""MIDI ports chosen by name pattern: mido for names and outputs, python-rtmidi polled for inputs.

Port names differ per platform and per plug-in order ("nanoPAD2:nanoPAD2 MIDI 1 20:0" on ALSA,
"RtMidiOut Client:dawgen" on JACK), so the config names patterns, and ports that appear later (a
controller plugged in after start) are opened by `rescan()`.

Inputs are read by polling rtmidi's own queue, not through a callback: rtmidi runs callbacks in the
MIDI system's thread (on JACK the real-time audio thread), where a Python callback must wait for the
GIL; measured here under load, JACK then delivered every note-off of a burst as a copy of its
note-on. RtMidi's queue is filled in C++ without the GIL, so polling it loses and mangles nothing.
"""
from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Callable
from typing import Any

from server.config import MidiConfig

from .mapping import port_matches

log = logging.getLogger("dawgen.midi")

EXTRA_HINT = "install the optional extra 'midi': pip install 'dawgen[midi]' (mido and python-rtmidi)"
POLL_SECONDS = 0.002  # input latency added by polling; far below a pad's debounce


class MidiUnavailable(RuntimeError):
    """mido or python-rtmidi is missing, or the MIDI system cannot be opened; says what to do."""


def load_backend(name: str = "") -> Any:
    """The mido backend for `name` ("" = mido's default, or $MIDO_BACKEND); raises MidiUnavailable."""
    try:
        import mido
        import rtmidi  # noqa: F401 - inputs are read through it directly
    except ImportError as exc:
        raise MidiUnavailable(f"MIDI needs {exc.name}: {EXTRA_HINT}") from None
    if "JACK" in name.upper():
        # libjack would otherwise try to start a JACK server of its own when none runs.
        os.environ.setdefault("JACK_NO_START_SERVER", "1")
    try:
        backend = mido.Backend(name, load=True) if name else mido.Backend(load=True)
        backend.get_input_names()  # opens the MIDI system once: fail here, clearly
    except ImportError as exc:
        raise MidiUnavailable(f"MIDI backend {name or 'rtmidi'} cannot be loaded ({exc}): {EXTRA_HINT}") from None
    except Exception as exc:  # noqa: BLE001 - rtmidi raises its own error types per API
        raise MidiUnavailable(f"MIDI backend {name or 'default'} cannot open the MIDI system: {exc}") from None
    return backend


def list_ports(backend: Any) -> tuple[list[str], list[str]]:
    return list(backend.get_input_names()), list(backend.get_output_names())


def _rtmidi_api(backend: Any) -> int:
    import rtmidi

    return getattr(rtmidi, f"API_{backend.api}", rtmidi.API_UNSPECIFIED) if backend.api else rtmidi.API_UNSPECIFIED


class PortLister:
    """Port names through two long-lived rtmidi clients. mido's get_*_names open and close a new
    MIDI client per call; on JACK each one changes the graph, and a rescan every few seconds made
    that churn visible (events delivered twice while clients came and went)."""

    def __init__(self, backend: Any) -> None:
        import rtmidi

        self._in = rtmidi.MidiIn(_rtmidi_api(backend), name="dawgen ports")
        self._out = rtmidi.MidiOut(_rtmidi_api(backend), name="dawgen ports")

    def input_names(self) -> list[str]:
        return list(self._in.get_ports())

    def output_names(self) -> list[str]:
        return list(self._out.get_ports())

    def close(self) -> None:
        self._in.delete()
        self._out.delete()


class RtInput:
    """One input port whose messages are taken from rtmidi's queue by `poll()`."""

    def __init__(self, backend: Any, name: str, virtual: bool = False) -> None:
        import rtmidi

        self._rt = rtmidi.MidiIn(_rtmidi_api(backend), queue_size_limit=4096)
        self._rt.ignore_types(sysex=True, timing=False, active_sense=True)  # timing: the clock for captures
        if virtual:
            self._rt.open_virtual_port(name)
        else:
            ports = self._rt.get_ports()
            if name not in ports:
                self._rt.delete()
                raise OSError(f"no MIDI input {name!r} (inputs: {', '.join(ports) or 'none'})")
            self._rt.open_port(ports.index(name))
        self.name = name

    def poll(self) -> list[Any]:
        import mido

        messages = []
        while True:
            event = self._rt.get_message()
            if not event:
                return messages
            try:
                messages.append(mido.Message.from_bytes(event[0]))
            except ValueError:
                continue  # a malformed message from a device is dropped, not fatal

    def close(self) -> None:
        self._rt.close_port()
        self._rt.delete()


class PortSet:
    """The door's open ports: inputs (each message goes to `on_message(msg, port_name, received)`
    from one dispatcher thread, in arrival order) and feedback outputs."""

    def __init__(self, config: MidiConfig, backend: Any, on_message: Callable[[Any, str, float], None]) -> None:
        self.config = config
        self.backend = backend
        self.on_message = on_message
        self.inputs: dict[str, RtInput] = {}
        self.outputs: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._dispatcher = threading.Thread(target=self._dispatch, name="dawgen-midi-in", daemon=True)
        self.names = PortLister(backend)

    def open(self) -> None:
        if self.config.virtual:
            name = self.config.virtual_name
            self.inputs[f"virtual:{name}"] = RtInput(self.backend, name, virtual=True)
            self.outputs[f"virtual:{name}"] = self.backend.open_output(name, virtual=True)
            log.info("MIDI: virtual ports %r open (in and out)", name)
        self.rescan()
        self._dispatcher.start()
        if not any(not k.startswith("virtual:") for k in self.inputs):
            log.warning("MIDI: no input port matches %s (ports now: %s); looked for every %gs",
                        self.config.inputs, ", ".join(self.names.input_names()) or "none",
                        self.config.rescan_seconds)

    def rescan(self) -> list[str]:
        """Open ports that match the config and are not open yet; returns the names opened."""
        opened = []
        own = self._own_names()
        for name in self.names.input_names():
            if name in self.inputs or name in own or not any(port_matches(p, name) for p in self.config.inputs):
                continue
            try:
                port = RtInput(self.backend, name)
            except Exception as exc:  # noqa: BLE001 - a port can vanish between listing and opening
                log.warning("MIDI: cannot open input %r: %s", name, exc)
                continue
            with self._lock:
                self.inputs[name] = port
            opened.append(name)
            log.info("MIDI: listening on %r", name)
        if self.config.output and not any(not k.startswith("virtual:") for k in self.outputs):
            self._open_feedback(own)
        return opened

    def _open_feedback(self, own: set[str]) -> None:
        for name in self.names.output_names():
            if name in own or not port_matches(self.config.output, name):
                continue
            try:
                port = self.backend.open_output(name)
            except Exception as exc:  # noqa: BLE001
                log.warning("MIDI: cannot open output %r: %s", name, exc)
                return
            _rename(port, f"{self.config.virtual_name} feedback")
            with self._lock:
                self.outputs[name] = port
            log.info("MIDI: feedback to %r", name)
            return

    def _own_names(self) -> set[str]:
        # Our own ports show up in the port lists (on JACK even the feedback output): never listen
        # to ourselves, a lit LED would trigger its own pad.
        own = re.compile(rf"(^|:){re.escape(self.config.virtual_name)}( feedback)?( \d+:\d+)?$")
        return {n for n in [*self.names.input_names(), *self.names.output_names()] if own.search(n)}

    def _dispatch(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                inputs = list(self.inputs.items())
            busy = False
            for name, port in inputs:
                try:
                    messages = port.poll()
                except Exception as exc:  # noqa: BLE001 - an unplugged device: drop it, rescan may bring it back
                    log.warning("MIDI: input %r failed (%s); closing it", name, exc)
                    self._drop(name)
                    continue
                received = time.monotonic()
                for msg in messages:
                    busy = True
                    try:
                        self.on_message(msg, name, received)
                    except Exception:
                        log.exception("MIDI: error handling %s from %s", msg, name)
            if not busy:
                self._stop.wait(POLL_SECONDS)

    def _drop(self, name: str) -> None:
        with self._lock:
            port = self.inputs.pop(name, None)
        if port is not None:
            try:
                port.close()
            except Exception:  # noqa: BLE001
                pass

    def send(self, msg: Any) -> None:
        with self._lock:
            outputs = list(self.outputs.items())
        for name, port in outputs:
            try:
                port.send(msg)
            except Exception as exc:  # noqa: BLE001 - an unplugged controller must not stop feedback elsewhere
                log.debug("MIDI: cannot send to %s: %s", name, exc)

    def close(self) -> None:
        self._stop.set()
        if self._dispatcher.is_alive():
            self._dispatcher.join(2)
        with self._lock:
            ports = [*self.inputs.values(), *self.outputs.values()]
            self.inputs.clear()
            self.outputs.clear()
        for port in ports:
            try:
                port.close()
            except Exception:  # noqa: BLE001
                pass
        self.names.close()


def _rename(port: Any, name: str) -> None:
    """Give our feedback output a name we recognise (rtmidi calls it "RtMidi output" otherwise),
    where the MIDI API can rename ports (JACK, ALSA); elsewhere it keeps the default."""
    try:
        port._rt.set_port_name(name)
    except Exception as exc:  # noqa: BLE001 - not every API or mido version allows it
        log.debug("MIDI: cannot rename the feedback port: %s", exc)
