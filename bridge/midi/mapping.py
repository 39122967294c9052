"""The MIDI mapping: a TOML file of bindings, and a pure function from messages to actions.

```toml
[settings]
debounce_ms = 30        # a binding that fired is deaf this long (pads double-trigger)
feedback = true         # light a pad's LED while the job it started runs

[[bind]]
name = "kick"           # unique; `dawgen midi learn kick` rewrites this binding's trigger
note = 36               # or cc = 20, or program = 3; note names work too ("C1"; C4 = 60)
channel = 10            # 1..16; absent = any channel
verb = "generate"       # a request template ...
params = { prompt = "punchy kick", count = 1 }

[[bind]]
name = "wildness"
cc = 21
set = "temperature"     # ... or a knob: sets a parameter of the next requests
min = 0.0
max = 2.0

[[bind]]
name = "again"
note = 41
action = "regenerate"   # or cancel, audition, stop, capture (params as for /dawgen/capture)
```

A note-on with velocity > 0 is a press; a note-off or a note-on with velocity 0 is a release. A CC
bound to anything but `set` is a button: pressed when its value rises to `threshold` (default 64)
or above, released when it falls below. `on = "release"` or `"both"` fires on releases too.
`Mapper.feed` keeps only the state this needs (CC button levels, last fire times): the caller
passes the clock, so the same messages at the same times always give the same actions.
"""
from __future__ import annotations

import fnmatch
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ACTIONS = ("request", "set", "cancel", "regenerate", "audition", "stop", "capture")
EDGES = ("press", "release", "both")
SETTINGS_KEYS = {"debounce_ms": (int, float), "feedback": bool, "led_on": int}
BIND_KEYS = {
    "name": str, "note": (int, str), "cc": int, "program": int, "channel": int, "port": str,
    "on": str, "threshold": int, "action": str, "verb": str, "params": dict, "set": str,
    "min": (int, float), "max": (int, float), "integer": bool, "debounce_ms": (int, float),
    "feedback": bool, "led_note": int, "led_cc": int, "led_channel": int, "led_on": int,
}
TRIGGER_KEYS = ("note", "cc", "program")
_NOTE_NAME = re.compile(r"^([A-Ga-g])([#b]?)(-?\d+)$")
_PITCH = {"c": 0, "d": 2, "e": 4, "f": 5, "g": 7, "a": 9, "b": 11}


class MappingError(ValueError):
    """The mapping file is wrong; the message names the file, the binding and the key."""


@dataclass(frozen=True)
class Led:
    kind: str      # "note" or "cc"
    number: int
    channel: int   # 0-based, as on the wire
    on: int = 127  # velocity (note) or value (cc) while lit; off is note-off / value 0


@dataclass(frozen=True)
class Binding:
    name: str
    kind: str                  # "note" | "cc" | "program"
    number: int
    channel: int | None = None  # 0-based; None = any
    port: str = ""             # port name pattern; "" = any port
    on: str = "press"
    threshold: int = 64
    action: str = "request"
    verb: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)
    param: str = ""            # for action "set"
    lo: float = 0.0
    hi: float = 1.0
    integer: bool = False
    debounce: float = 0.03     # seconds
    led: Led | None = None


@dataclass(frozen=True)
class Fire:
    """A binding fired (a pad was pressed or released); `value` is the velocity or CC value."""

    binding: Binding
    edge: str
    value: int


@dataclass(frozen=True)
class SetParam:
    """A knob moved: `param` is `value` for the next requests."""

    binding: Binding
    param: str
    value: float | int


Action = Fire | SetParam


@dataclass(frozen=True)
class MidiMapping:
    bindings: tuple[Binding, ...]
    feedback: bool = True
    source: str = ""


def note_number(value: int | str, where: str) -> int:
    """36 or "C2" (C4 = 60) -> 36."""
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    else:
        match = _NOTE_NAME.match(str(value).strip())
        if not match:
            raise MappingError(f"{where}: {value!r} is not a note number (0..127) or name (C4 = 60)")
        letter, accidental, octave = match.groups()
        number = _PITCH[letter.lower()] + {"#": 1, "b": -1, "": 0}[accidental] + (int(octave) + 1) * 12
    if not 0 <= number <= 127:
        raise MappingError(f"{where}: note {value!r} is outside 0..127")
    return number


def load_mapping(path: str | Path) -> MidiMapping:
    """Read and check a mapping file; a missing file is an empty mapping (learn creates it)."""
    path = Path(path)
    if not path.exists():
        return MidiMapping(bindings=(), source=str(path))
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise MappingError(f"{path}: not valid TOML: {exc}") from None
    return parse_mapping(data, str(path))


def parse_mapping(data: Mapping[str, Any], source: str = "mapping") -> MidiMapping:
    errors: list[str] = []
    unknown = sorted(set(data) - {"settings", "bind"})
    if unknown:
        errors.append(f"{source}: unknown section(s) {', '.join(unknown)} (expected [settings] and [[bind]])")
    settings = data.get("settings", {})
    if not isinstance(settings, dict):
        raise MappingError(f"{source}: [settings] must be a table")
    _check_types(settings, SETTINGS_KEYS, f"{source}: settings", errors)
    debounce = float(settings.get("debounce_ms", 30)) / 1000.0
    led_on = int(settings.get("led_on", 127))
    raw_binds = data.get("bind", [])
    if not isinstance(raw_binds, list):
        raise MappingError(f"{source}: bindings are written [[bind]] (an array of tables)")
    bindings: list[Binding] = []
    names: set[str] = set()
    for index, raw in enumerate(raw_binds):
        where = f"{source}: bind #{index + 1}" + (f" ({raw.get('name')!r})" if isinstance(raw, dict) and "name" in raw else "")
        try:
            binding = _binding(raw, where, debounce, led_on)
        except MappingError as exc:
            errors.append(str(exc))
            continue
        if binding.name in names:
            errors.append(f"{where}: name {binding.name!r} is used twice (names must be unique)")
        names.add(binding.name)
        bindings.append(binding)
    if errors:
        raise MappingError("mapping errors:\n  " + "\n  ".join(errors))
    return MidiMapping(tuple(bindings), feedback=bool(settings.get("feedback", True)), source=source)


def _check_types(values: Mapping[str, Any], allowed: Mapping[str, Any], where: str, errors: list[str]) -> None:
    for key, value in values.items():
        if key not in allowed:
            errors.append(f"{where}.{key}: unknown key (known: {', '.join(sorted(allowed))})")
        elif isinstance(value, bool) and allowed[key] is not bool or not isinstance(value, allowed[key]):
            errors.append(f"{where}.{key}: wrong type {type(value).__name__} ({value!r})")


def _binding(raw: Any, where: str, debounce: float, led_on: int) -> Binding:
    if not isinstance(raw, dict):
        raise MappingError(f"{where}: must be a table")
    errors: list[str] = []
    _check_types(raw, BIND_KEYS, where, errors)
    if errors:
        raise MappingError("; ".join(errors))
    if not raw.get("name"):
        raise MappingError(f"{where}: name is required (learn and the logs use it)")
    triggers = [k for k in TRIGGER_KEYS if k in raw]
    if len(triggers) != 1:
        raise MappingError(f"{where}: give exactly one of note, cc, program (got {triggers or 'none'})")
    kind = triggers[0]
    number = note_number(raw["note"], f"{where}.note") if kind == "note" else _in_range(raw[kind], 0, 127, f"{where}.{kind}")
    channel = raw.get("channel")
    if channel is not None:
        channel = _in_range(channel, 1, 16, f"{where}.channel") - 1
    action = _action(raw, where)
    on = str(raw.get("on", "press"))
    if on not in EDGES:
        raise MappingError(f"{where}.on: {on!r} is not one of {', '.join(EDGES)}")
    params = raw.get("params", {})
    bad = [k for k, v in params.items() if not isinstance(v, (str, int, float, bool))]
    if bad:
        raise MappingError(f"{where}.params: values must be strings, numbers or booleans ({', '.join(bad)})")
    lo, hi = float(raw.get("min", 0.0)), float(raw.get("max", 1.0))
    return Binding(
        name=str(raw["name"]), kind=kind, number=number, channel=channel, port=str(raw.get("port", "")),
        on=on, threshold=_in_range(raw.get("threshold", 64), 1, 127, f"{where}.threshold"),
        action=action, verb=str(raw.get("verb", "")), params=dict(params), param=str(raw.get("set", "")),
        lo=lo, hi=hi, integer=bool(raw.get("integer", False)),
        debounce=float(raw["debounce_ms"]) / 1000.0 if "debounce_ms" in raw else debounce,
        led=_led(raw, kind, number, channel, led_on, where),
    )


def _action(raw: Mapping[str, Any], where: str) -> str:
    action = str(raw.get("action") or ("set" if "set" in raw else "request"))
    if action not in ACTIONS:
        raise MappingError(f"{where}.action: {action!r} is not one of {', '.join(ACTIONS)}")
    if action == "request" and not raw.get("verb"):
        raise MappingError(f"{where}: a request binding needs verb = \"generate\" (or another verb)")
    if action == "set":
        if not raw.get("set"):
            raise MappingError(f"{where}: a knob binding needs set = \"PARAM\"")
        if "cc" not in raw:
            raise MappingError(f"{where}: set = ... needs a cc (a knob or fader)")
    return action


def _led(raw: Mapping[str, Any], kind: str, number: int, channel: int | None, led_on: int, where: str) -> Led | None:
    if not raw.get("feedback", True) or raw.get("action") == "set" or "set" in raw:
        return None
    on = _in_range(raw.get("led_on", led_on), 1, 127, f"{where}.led_on")
    led_channel = _in_range(raw["led_channel"], 1, 16, f"{where}.led_channel") - 1 if "led_channel" in raw else (channel or 0)
    if "led_note" in raw:
        return Led("note", _in_range(raw["led_note"], 0, 127, f"{where}.led_note"), led_channel, on)
    if "led_cc" in raw:
        return Led("cc", _in_range(raw["led_cc"], 0, 127, f"{where}.led_cc"), led_channel, on)
    if kind in ("note", "cc"):  # light the pad that was hit
        return Led(kind, number, led_channel, on)
    return None  # a program change has no pad to light unless led_note/led_cc says which


def _in_range(value: Any, lo: int, hi: int, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise MappingError(f"{where}: {value!r} is not an integer in {lo}..{hi}")
    return value


def port_matches(pattern: str, name: str) -> bool:
    """A pattern with wildcards is matched whole, a plain word as a substring; case is ignored."""
    if not pattern:
        return True
    if any(c in pattern for c in "*?["):
        return fnmatch.fnmatchcase(name.lower(), pattern.lower())
    return pattern.lower() in name.lower()


class Mapper:
    """Messages in, actions out. Not thread-safe: feed it from one thread (the door's lock)."""

    def __init__(self, mapping: MidiMapping) -> None:
        self.mapping = mapping
        self._cc_level: dict[tuple[str, int, int], int] = {}  # (port, channel, cc) -> last value
        self._last_fire: dict[tuple[str, str], float] = {}    # (binding, edge) -> time

    def feed(self, msg: Any, now: float, port: str = "") -> list[Action]:
        """The actions one message causes at time `now` (seconds, any monotonic clock)."""
        event = _classify(msg)
        if event is None:
            return []
        kind, channel, number, edge, value = event
        before = 0
        if kind == "cc":
            before = self._cc_level.get((port, channel, number), 0)
            self._cc_level[(port, channel, number)] = value
        actions: list[Action] = []
        for b in self.mapping.bindings:
            if b.kind != kind or b.number != number or (b.channel is not None and b.channel != channel):
                continue
            if b.port and not port_matches(b.port, port):
                continue
            if b.action == "set":
                actions.append(SetParam(b, b.param, knob_value(b, value)))
                continue
            fired = cc_edge(before, value, b.threshold) if kind == "cc" else edge
            if fired is None or (b.on != "both" and b.on != fired):
                continue
            if now - self._last_fire.get((b.name, fired), float("-inf")) < b.debounce:
                continue  # a bouncing pad or a double hit: one request, not two
            self._last_fire[(b.name, fired)] = now
            actions.append(Fire(b, fired, value))
        return actions


def _classify(msg: Any) -> tuple[str, int, int, str | None, int] | None:
    """(kind, channel, number, edge, value) of a message we map; None for everything else.
    A CC's edge depends on each binding's threshold, so it is worked out per binding."""
    kind = getattr(msg, "type", "")
    if kind == "note_on":
        return ("note", msg.channel, msg.note, "press" if msg.velocity > 0 else "release", msg.velocity)
    if kind == "note_off":
        return ("note", msg.channel, msg.note, "release", msg.velocity)
    if kind == "program_change":
        return ("program", msg.channel, msg.program, "press", msg.program)
    if kind == "control_change":
        return ("cc", msg.channel, msg.control, None, msg.value)
    return None


def cc_edge(before: int, value: int, threshold: int) -> str | None:
    """Only a crossing is an edge: a button that sends 127 twice is held, not pressed twice."""
    if before < threshold <= value:
        return "press"
    if value < threshold <= before:
        return "release"
    return None


def knob_value(b: Binding, value: int) -> float | int:
    """CC 0..127 onto the binding's range; 127 lands exactly on `max`."""
    out = b.lo + (b.hi - b.lo) * (value / 127.0)
    return int(round(out)) if b.integer else round(out, 6)
