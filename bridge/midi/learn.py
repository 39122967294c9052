"""`dawgen midi learn NAME`: bind the next note, CC or program change to the binding NAME.

The mapping file is the user's (comments, order, layout), so it is edited as text: an existing
binding gets its trigger lines replaced, a new one is appended. The result is parsed again and
compared with what was meant before it replaces the file (temporary file + rename), so learn never
leaves a broken or half-written mapping.
"""
from __future__ import annotations

import json
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

from .mapping import TRIGGER_KEYS, MappingError, parse_mapping

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

HEADER = "# dawgen MIDI mapping: see `dawgen midi learn --help` and bridge/midi/mapping.py\n"
_BIND_HEADER = re.compile(r"^\s*\[\[\s*bind\s*\]\]\s*(#.*)?$")
_TABLE_HEADER = re.compile(r"^\s*\[")
_TRIGGER_LINE = re.compile(rf"^\s*({'|'.join((*TRIGGER_KEYS, 'channel'))})\s*=")


def trigger_of(msg: Any) -> dict[str, int] | None:
    """The trigger keys a message teaches ({"note": 36, "channel": 10}); None for messages that
    cannot trigger (note-offs, clock, sysex...)."""
    kind = getattr(msg, "type", "")
    if kind == "note_on" and msg.velocity > 0:
        key, number = "note", msg.note
    elif kind == "control_change":
        key, number = "cc", msg.control
    elif kind == "program_change":
        key, number = "program", msg.program
    else:
        return None
    return {key: int(number), "channel": int(msg.channel) + 1}


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid TOML basic string
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_key(k)} = {toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {type(value).__name__} to the mapping")


def _key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key)


def new_binding(name: str, trigger: dict[str, int]) -> dict[str, Any]:
    """A pad or program change generates NAME as a prompt; a knob sets the parameter NAME (0..1)."""
    binding: dict[str, Any] = {"name": name, **trigger}
    if "cc" in trigger:
        binding.update({"set": name, "min": 0.0, "max": 1.0})
    else:
        binding.update({"verb": "generate", "params": {"prompt": name}})
    return binding


def learn_text(text: str, name: str, trigger: dict[str, int], source: str = "mapping") -> tuple[str, bool]:
    """The mapping text with NAME bound to `trigger`; (new text, whether NAME was new)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise MappingError(f"{source}: not valid TOML, fix it before learning: {exc}") from None
    binds = data.get("bind", [])
    index = next((i for i, b in enumerate(binds) if isinstance(b, dict) and b.get("name") == name), None)
    if index is None:
        block = "\n[[bind]]\n" + "".join(f"{_key(k)} = {toml_value(v)}\n" for k, v in new_binding(name, trigger).items())
        out = (text if text.strip() else HEADER).rstrip("\n") + "\n" + block
        expected = [*binds, new_binding(name, trigger)]
        created = True
    else:
        out = _replace_trigger(text, index, trigger, source)
        kept = {k: v for k, v in binds[index].items() if k not in (*TRIGGER_KEYS, "channel")}
        expected = [*binds[:index], {**kept, **trigger}, *binds[index + 1:]]
        created = False
    _verify(out, data, expected, source)
    return out, created


def _replace_trigger(text: str, index: int, trigger: dict[str, int], source: str) -> str:
    lines = text.splitlines(keepends=True)
    headers = [i for i, line in enumerate(lines) if _BIND_HEADER.match(line)]
    if index >= len(headers):
        raise MappingError(f"{source}: binding #{index + 1} is not written as [[bind]]; edit it by hand")
    start = headers[index]
    end = next((i for i in range(start + 1, len(lines)) if _TABLE_HEADER.match(lines[i])), len(lines))
    body = [line for line in lines[start + 1:end] if not _TRIGGER_LINE.match(line)]
    new = [f"{k} = {v}\n" for k, v in trigger.items()]
    if not lines[start].endswith("\n"):
        lines[start] += "\n"
    return "".join(lines[:start + 1] + new + body + lines[end:])


def _verify(text: str, before: dict[str, Any], expected_binds: list[Any], source: str) -> None:
    try:
        after = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise MappingError(f"{source}: learning would break the file ({exc}); edit it by hand") from None
    rest_before = {k: v for k, v in before.items() if k != "bind"}
    rest_after = {k: v for k, v in after.items() if k != "bind"}
    if rest_before != rest_after or after.get("bind", []) != expected_binds:
        raise MappingError(f"{source}: the file's layout is unusual; learning could not edit it safely. "
                           "Add the binding by hand")
    parse_mapping(after, source)  # the result must be a valid mapping, not just valid TOML


def write_atomic(path: Path, text: str) -> None:
    """Temporary file in the same folder, fsync, rename: readers see the old or the new file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o777)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def learn(path: Path, name: str, msg: Any) -> tuple[dict[str, int], bool]:
    """Write the binding for `msg` into the mapping file; returns (trigger, created)."""
    trigger = trigger_of(msg)
    if trigger is None:
        raise MappingError(f"{msg} cannot trigger anything; send a note, a CC or a program change")
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    out, created = learn_text(text, name, trigger, str(path))
    write_atomic(path, out)
    return trigger, created


def wait_and_learn(config: Any, name: str, timeout: float, say: Any = print) -> tuple[dict[str, int], bool, Path]:
    """Open the configured inputs (or a virtual port), wait for a triggering message, write it.
    Raises MappingError (bad file, nothing arrived) or RuntimeError (MIDI unavailable)."""
    from .door import mapping_path
    from .mapping import port_matches
    from .ports import MidiUnavailable, RtInput, load_backend

    midi = config.midi
    if midi is None:
        raise MappingError("no [midi] section in the config: add one with inputs = [\"your controller*\"]")
    path = mapping_path(config)
    if path.exists():
        learn_text(path.read_text(encoding="utf-8"), name, {"note": 0, "channel": 1}, str(path))  # fail before waiting
    try:
        backend = load_backend(midi.backend)
    except MidiUnavailable as exc:
        raise RuntimeError(str(exc)) from None
    names = [n for n in backend.get_input_names() if any(port_matches(p, n) for p in midi.inputs)]
    ports = [RtInput(backend, n) for n in names]
    if midi.virtual:
        learn_port = f"{midi.virtual_name}-learn"
        ports.append(RtInput(backend, learn_port, virtual=True))
        names.append(f"{learn_port} (virtual)")
    if not ports:
        raise MappingError(f"no MIDI input matches {midi.inputs} (inputs now: "
                           f"{', '.join(backend.get_input_names()) or 'none'})")
    say(f"waiting {timeout:g}s for a note, CC or program change on: {', '.join(names)}")
    try:
        msg = _first_trigger(ports, timeout)
    finally:
        for port in ports:
            port.close()
    trigger, created = learn(path, name, msg)
    return trigger, created, path


def _first_trigger(ports: list[Any], timeout: float) -> Any:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for port in ports:
            for msg in port.poll():
                if trigger_of(msg) is not None:
                    return msg
        time.sleep(0.005)
    raise MappingError(f"no note, CC or program change arrived within {timeout:g}s")


def run_learn(config: Any, name: str, timeout: float) -> int:
    """The CLI command: 0 when the binding was written, 1 when nothing was learned."""
    try:
        trigger, created, path = wait_and_learn(config, name, timeout, say=lambda text: print(text, file=sys.stderr))
    except (MappingError, RuntimeError) as exc:
        print(f"dawgen midi learn: {exc}", file=sys.stderr)
        return 1
    what = ", ".join(f"{k} {v}" for k, v in trigger.items())
    print(f"{'added' if created else 'updated'} binding {name!r}: {what} in {path}")
    return 0
