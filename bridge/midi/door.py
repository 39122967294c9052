"""The MIDI front door: mapped messages become engine requests; job events light pads.

Started by `dawgen serve` only when the config has a `[midi]` section. Like every front door it
only translates: engine.submit / engine.cancel in, engine events out (note-on while a pad's job
runs, note-off when it is done, failed or cancelled). A problem here (no mido, a bad mapping file)
is logged at start and leaves the MIDI door off; the daemon keeps serving OSC.
"""
from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from server.config import Config
from server.engine import Engine
from server.errors import DawgenError
from server.jobs import Event, EventKind, Job, Request
from server.params import random_seed

from .mapping import Binding, Fire, Led, Mapper, MappingError, MidiMapping, SetParam, load_mapping

log = logging.getLogger("dawgen.midi")

REALTIME = {"clock", "start", "stop", "continue", "songpos", "active_sensing", "reset"}


def mapping_path(config: Config) -> Path:
    """`[midi] mapping`, relative to the config file's folder; default <state_dir>/midi-mapping.toml."""
    midi = config.midi
    if midi is None or not midi.mapping:
        return config.state_dir / "midi-mapping.toml"
    path = Path(midi.mapping).expanduser()
    if not path.is_absolute() and config.source:
        path = Path(config.source).resolve().parent / path
    return path


class MidiDoor:
    def __init__(self, config: Config, engine: Engine, ports: Any = None, audio: Any = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self.engine = engine
        self.ports = ports          # a PortSet, or anything with send(msg) and close() (tests)
        self._audio = audio         # the shared AudioDoor, looked up on first use
        self.now = clock
        self.path = mapping_path(config)
        self.mapper: Mapper | None = None
        self.knobs: dict[str, float | int] = {}
        self.last_request: tuple[str, dict[str, Any]] | None = None
        self.last_outputs: list[str] = []
        self._jobs: dict[str, Led | None] = {}   # unfinished jobs this door started -> their LED
        self._lit: Counter[Led] = Counter()
        self._lock = threading.RLock()
        self._mtime = 0.0
        self._stop = threading.Event()
        self._unsubscribe: Callable[[], None] | None = None
        self._rescan_thread: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> None:
        try:
            self._load_mapping()
            if self.ports is None:
                self.ports = self._open_ports()
        except (MappingError, RuntimeError) as exc:
            log.error("MIDI front door is off: %s", exc)
            self.ports = None
            return
        self._unsubscribe = self.engine.subscribe(self.on_event)
        self._audio_door().clock_fed = True  # capture start=bar can follow the clock we receive
        every = self.config.midi.rescan_seconds if self.config.midi else 0
        if every > 0 and hasattr(self.ports, "rescan"):
            self._rescan_thread = threading.Thread(target=self._rescan_loop, args=(every,), daemon=True,
                                                   name="dawgen-midi-rescan")
            self._rescan_thread.start()

    def _open_ports(self) -> Any:
        from .ports import MidiUnavailable, PortSet, load_backend

        midi = self.config.midi
        if midi is None:
            raise MappingError("no [midi] section in the config")
        try:
            backend = load_backend(midi.backend)
        except MidiUnavailable as exc:
            raise RuntimeError(str(exc)) from None
        ports = PortSet(midi, backend, self.handle)
        try:
            ports.open()
        except Exception as exc:  # noqa: BLE001 - rtmidi's errors differ per API (no ALSA, no virtual ports)
            ports.close()
            raise RuntimeError(f"cannot open the MIDI ports: {exc}") from None
        return ports

    def _rescan_loop(self, every: float) -> None:
        while not self._stop.wait(every):
            try:
                self.ports.rescan()
            except Exception as exc:  # noqa: BLE001 - a MIDI system hiccup must not end the door
                log.debug("MIDI rescan failed: %s", exc)

    def stop(self) -> None:
        self._stop.set()
        if self._unsubscribe is not None:
            self._unsubscribe()
        with self._lock:
            lit = list(self._lit)
            self._lit.clear()
        for led in lit:  # leave no pad lit after the daemon is gone
            self._send_led(led, False)
        if self.ports is not None:
            self.ports.close()

    @property
    def active(self) -> bool:
        return self.mapper is not None and self.ports is not None

    @property
    def pending_jobs(self) -> list[str]:
        """Ids of the jobs this door started that have not finished, oldest first (their pads
        stay lit; the cancel button cancels the newest)."""
        with self._lock:
            return list(self._jobs)

    # -- mapping ------------------------------------------------------------------------------
    def _load_mapping(self) -> None:
        mapping = load_mapping(self.path)
        self._mtime = self.path.stat().st_mtime if self.path.exists() else 0.0
        verbs = set(self.engine.job_verbs())
        for b in mapping.bindings:
            if b.action == "request" and b.verb not in verbs:
                log.warning("MIDI binding %r: verb %r is not done by any available model (yet)", b.name, b.verb)
        log.info("MIDI mapping %s: %d binding(s)", self.path, len(mapping.bindings))
        self.set_mapping(mapping)

    def set_mapping(self, mapping: MidiMapping) -> None:
        with self._lock:
            self.mapper = Mapper(mapping)

    def _reload_if_changed(self) -> None:
        """`dawgen midi learn` (or an editor) changed the file: use it from the next message on."""
        try:
            mtime = self.path.stat().st_mtime if self.path.exists() else 0.0
        except OSError:
            return
        if mtime != self._mtime:
            try:
                self._load_mapping()
            except MappingError as exc:
                self._mtime = mtime
                log.error("MIDI mapping not reloaded, the previous one stays: %s", exc)

    # -- messages -----------------------------------------------------------------------------
    def handle(self, msg: Any, port: str = "", received: float | None = None) -> None:
        """One incoming message, `received` at that monotonic time (debounce and the clock need the
        arrival time, not the time it is handled); never raises for a request the engine refuses."""
        kind = getattr(msg, "type", "")
        now = self.now() if received is None else received
        if kind in REALTIME:
            self._audio_door().clock.feed(msg, now)
            return
        log.debug("MIDI in %s: %s", port, msg)
        with self._lock:
            self._reload_if_changed()
            actions = self.mapper.feed(msg, now, port) if self.mapper else []
        for action in actions:
            try:
                self._act(action)
            except DawgenError as exc:
                log.warning("MIDI %s -> %s: %s", msg, action.binding.name, exc)

    def _act(self, action: Fire | SetParam) -> None:
        if isinstance(action, SetParam):
            with self._lock:
                self.knobs[action.param] = action.value
            return
        b = action.binding
        if b.action == "request":
            self.submit(b.verb, dict(b.params), b)
        elif b.action == "regenerate":
            self.regenerate(b)
        elif b.action == "cancel":
            self.cancel_latest()
        elif b.action == "audition":
            self._audition(b)
        elif b.action == "stop":
            self._audio_door().stop()
        elif b.action == "capture":
            self._capture(b)

    def submit(self, verb: str, template: dict[str, Any], binding: Binding | None = None) -> Job:
        """Template params plus the knobs the verb accepts (a knob the verb lacks is left out, not
        an error: one knob can steer several pads with different models)."""
        params = dict(template)
        accepted = {s.name for s in self.engine.params_for(params.get("model"), verb)}
        with self._lock:
            params.update({k: v for k, v in self.knobs.items() if k in accepted})
        return self._submit(verb, params, binding)

    def regenerate(self, binding: Binding | None = None) -> Job | None:
        """The last request again with a new seed (the knobs as they were then)."""
        with self._lock:
            last = self.last_request
        if last is None:
            log.info("MIDI regenerate: nothing was requested yet")
            return None
        verb, params = last
        params = dict(params)
        if any(s.name == "seed" for s in self.engine.params_for(params.get("model"), verb)):
            old, seed = params.get("seed"), params.get("seed")
            while seed == old:  # room for `count` consecutive seeds, as the engine leaves
                seed = random_seed()
            params["seed"] = seed
        return self._submit(verb, params, binding)

    def _submit(self, verb: str, params: dict[str, Any], binding: Binding | None) -> Job:
        led = binding.led if binding is not None and self._feedback() else None

        def accepted(job: Job, position: int) -> None:
            # Runs before a worker can see the job: the LED is on before its done can turn it off.
            with self._lock:
                self._jobs[job.id] = led
            if led is not None:
                self._light(led, True)

        request = Request(verb, params, f"midi-{uuid.uuid4().hex[:12]}",
                          {"midi": binding.name if binding else ""})
        job, _ = self.engine.submit(request, on_accepted=accepted)
        with self._lock:
            self.last_request = (verb, dict(params))
        log.info("MIDI %s -> %s job %s", binding.name if binding else "-", verb, job.id)
        return job

    def cancel_latest(self) -> Job | None:
        """Cancel the newest job this door started that has not finished."""
        for job_id in reversed(self.pending_jobs):
            try:
                return self.engine.cancel(job_id)
            except DawgenError:
                continue  # finished meanwhile: try the one before
        return None

    def _feedback(self) -> bool:
        return bool(self.mapper and self.mapper.mapping.feedback)

    # -- events and LEDs ----------------------------------------------------------------------
    def on_event(self, event: Event) -> None:
        if event.kind not in (EventKind.DONE, EventKind.FAILED, EventKind.CANCELLED):
            return
        with self._lock:
            if event.job.id not in self._jobs:
                return
            led = self._jobs.pop(event.job.id)
            if event.kind is EventKind.DONE:
                self.last_outputs = list(event.job.outputs)
        if led is not None:
            self._light(led, False)

    def _light(self, led: Led, on: bool) -> None:
        """Counted: a pad with two jobs running stays lit until both are done."""
        with self._lock:
            if on:
                self._lit[led] += 1
                send = self._lit[led] == 1
            else:
                self._lit[led] -= 1
                send = self._lit[led] <= 0
                if send:
                    del self._lit[led]
        if send:
            self._send_led(led, on)

    def _send_led(self, led: Led, on: bool) -> None:
        if self.ports is None:
            return
        import mido

        if led.kind == "note":
            msg = mido.Message("note_on" if on else "note_off", note=led.number, channel=led.channel,
                               velocity=led.on if on else 0)
        else:
            msg = mido.Message("control_change", control=led.number, channel=led.channel, value=led.on if on else 0)
        self.ports.send(msg)

    # -- audio buttons ------------------------------------------------------------------------
    def _audio_door(self) -> Any:
        if self._audio is None:
            from ..audio_io import door_for

            self._audio = door_for(self.engine)
        return self._audio

    def _audition(self, b: Binding) -> None:
        path = b.params.get("path")
        with self._lock:
            outputs = list(self.last_outputs)
        self._audio_door().audition(str(path) if path else (outputs[0] if outputs else None))

    def _capture(self, b: Binding) -> None:
        from server.params import validate

        from ..audio_io import CaptureSink, CaptureSpec
        from ..audio_params import CAPTURE

        spec = CaptureSpec.from_params(validate(CAPTURE, dict(b.params), f"MIDI binding {b.name!r} capture"))
        led = b.led if self._feedback() else None
        if led is not None:
            self._light(led, True)

        def off(*_: Any) -> None:
            if led is not None:
                self._light(led, False)

        sink = CaptureSink(captured=lambda path, frames, rate: (off(), log.info("MIDI capture -> %s", path)),
                           failed=lambda code, message: (off(), log.warning("MIDI capture failed: %s", message)),
                           chain_failed=lambda rid, code, message: log.warning("MIDI capture chain: %s", message))
        try:
            self._audio_door().capture(spec, sink, f"midi-{uuid.uuid4().hex[:12]}")
        except DawgenError:
            off()
            raise
