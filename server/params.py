"""Declared parameters: one declaration drives validation, `/dawgen/models` and docs/PROTOCOL.md.

Values arrive from OSC, the CLI, MIDI mappings or JSON, so ints stand in for floats, strings for
numbers ("1.5" from a CLI), and 0/1 for booleans. Coercion is strict otherwise: a value that does not
fit its declared type or range is a `bad_request`, never silently clamped.
"""
from __future__ import annotations

import math
import random
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from .errors import DawgenError, ErrorCode

_TYPES = ("str", "int", "float", "bool", "blob")  # blob: bytes (an OSC blob; front-door params only)


@dataclass(frozen=True)
class ParamSpec:
    name: str
    type: str  # one of _TYPES
    default: Any = None
    min: float | None = None
    max: float | None = None
    choices: tuple[Any, ...] | None = None
    doc: str = ""
    # Extra check run after coercion; raises ValueError with a user-facing message.
    check: Callable[[Any], None] | None = None
    max_length: int = 1024

    def __post_init__(self) -> None:
        if self.type not in _TYPES:
            raise ValueError(f"param {self.name}: unknown type {self.type!r}")

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "type": self.type, "default": self.default}
        if self.min is not None:
            out["min"] = self.min
        if self.max is not None:
            out["max"] = self.max
        if self.choices is not None:
            out["choices"] = list(self.choices)
        if self.doc:
            out["doc"] = self.doc
        return out

    def coerce(self, value: Any) -> Any:
        try:
            out = _COERCE[self.type](value, self)
        except (TypeError, ValueError) as exc:
            raise DawgenError(ErrorCode.BAD_REQUEST, f"{self.name}: {exc}") from None
        if self.choices is not None and out not in self.choices:
            allowed = ", ".join(str(c) for c in self.choices)
            raise DawgenError(ErrorCode.BAD_REQUEST, f"{self.name}: {out!r} is not one of {allowed}")
        if self.min is not None and out < self.min:
            raise DawgenError(ErrorCode.BAD_REQUEST, f"{self.name}: {out} is below the minimum {self.min}")
        if self.max is not None and out > self.max:
            raise DawgenError(ErrorCode.BAD_REQUEST, f"{self.name}: {out} is above the maximum {self.max}")
        if self.check is not None:
            try:
                self.check(out)
            except ValueError as exc:
                raise DawgenError(ErrorCode.BAD_REQUEST, f"{self.name}: {exc}") from None
        return out


def _to_str(value: Any, spec: ParamSpec) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a CLI "808" typed as a number stays "808"
    text = str(value)
    if len(text) > spec.max_length:
        raise ValueError(f"longer than {spec.max_length} characters")
    if "\x00" in text:
        raise ValueError("contains a NUL character")
    return text


def _to_int(value: Any, spec: ParamSpec) -> int:
    if isinstance(value, bool):
        raise TypeError("expected an integer, got a boolean")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        raise ValueError(f"expected an integer, got {value}")
    if isinstance(value, str):
        try:
            return int(value.strip(), 10)
        except ValueError:
            raise ValueError(f"expected an integer, got {value!r}") from None
    raise TypeError(f"expected an integer, got {type(value).__name__}")


def _to_float(value: Any, spec: ParamSpec) -> float:
    if isinstance(value, bool):
        raise TypeError("expected a number, got a boolean")
    if isinstance(value, (int, float)):
        out = float(value)
    elif isinstance(value, str):
        try:
            out = float(value.strip())
        except ValueError:
            raise ValueError(f"expected a number, got {value!r}") from None
    else:
        raise TypeError(f"expected a number, got {type(value).__name__}")
    if not math.isfinite(out):
        raise ValueError("must be a finite number")
    return out


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _to_bool(value: Any, spec: ParamSpec) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise ValueError(f"expected true/false or 1/0, got {value!r}")


def _to_blob(value: Any, spec: ParamSpec) -> bytes:
    if not isinstance(value, (bytes, bytearray)):
        raise TypeError(f"expected an OSC blob, got {type(value).__name__}")
    return bytes(value)


_COERCE: dict[str, Callable[[Any, ParamSpec], Any]] = {
    "blob": _to_blob,
    "str": _to_str,
    "int": _to_int,
    "float": _to_float,
    "bool": _to_bool,
}


def validate(specs: Sequence[ParamSpec], raw: dict[str, Any], where: str) -> dict[str, Any]:
    """Coerce `raw` against `specs`; unknown names are an error naming the accepted ones."""
    by_name = {s.name: s for s in specs}
    unknown = sorted(set(raw) - set(by_name))
    if unknown:
        accepted = ", ".join(sorted(by_name))
        raise DawgenError(
            ErrorCode.BAD_REQUEST,
            f"unknown parameter(s) {', '.join(unknown)} for {where}; accepted: {accepted}",
        )
    out: dict[str, Any] = {}
    for spec in specs:
        if spec.name in raw and raw[spec.name] is not None:
            out[spec.name] = spec.coerce(raw[spec.name])
        elif spec.default is not None:
            out[spec.name] = spec.default
    return out


def merge_specs(*groups: Iterable[ParamSpec]) -> list[ParamSpec]:
    """Later groups override earlier ones by name (a backend may narrow a common param)."""
    merged: dict[str, ParamSpec] = {}
    for group in groups:
        for spec in group:
            merged[spec.name] = spec
    return list(merged.values())


# -- parameters many verbs share, declared once ------------------------------------------------------
# Seeds fit a signed 32-bit int: every library the backends use takes them as they are.
SEED_MAX = 2**31 - 1
# The project tempo a request may give. The synth's renderer checks the same range, so a tempo the
# protocol accepts is one every backend makes.
BPM_MIN, BPM_MAX = 20.0, 400.0


def seed_param(doc: str = "same seed + params = identical output; default: random") -> ParamSpec:
    """`seed`: optional (the engine picks a random one), 0..SEED_MAX."""
    return ParamSpec("seed", "int", None, min=0, max=SEED_MAX, doc=doc)


def count_param(max: int, doc: str = "variations; file i has seed + i") -> ParamSpec:
    """`count`: how many outputs one job makes, 1..max (each backend knows what it can batch)."""
    return ParamSpec("count", "int", 1, min=1, max=max, doc=doc)


def random_seed() -> int:
    """A seed for a request that gave none, with room above it for `count` variations (seed + i)."""
    return random.randint(0, SEED_MAX - 100)


def bpm_param(default: float | None = None, doc: str = "project tempo (quarter notes per minute)") -> ParamSpec:
    """`bpm`: BPM_MIN..BPM_MAX; the common param has no default, a backend may give its own."""
    return ParamSpec("bpm", "float", default, min=BPM_MIN, max=BPM_MAX, doc=doc)


# -- `lora`: adapters applied on top of a model for one request (server/adapters.py) -----------------
LORA_MAX = 4  # adapters in one request: each one costs a merge pass over its weights
LORA_STRENGTH = (-2.0, 2.0)
_LORA_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,127}$")


def parse_loras(text: str) -> list[tuple[str, float]]:
    """`name[:strength][,name2[:strength]...]` → [(name, strength)], strength 1.0 when left out.
    ValueError (a bad_request once ParamSpec.coerce sees it) for bad syntax, a strength outside
    LORA_STRENGTH, a name given twice or more than LORA_MAX adapters."""
    out: list[tuple[str, float]] = []
    for item in (part.strip() for part in str(text).split(",")):
        if not item:
            if text.strip():
                raise ValueError(f"{text!r}: an empty item (write name[:strength],name2[:strength])")
            continue
        name, sep, value = item.partition(":")
        name = name.strip()
        if not _LORA_NAME.match(name):
            raise ValueError(f"{name!r} is not an adapter name (letters, digits, _ . @ -)")
        strength = _strength(name, value) if sep else 1.0
        if any(name == seen for seen, _ in out):
            raise ValueError(f"{name} is named twice")
        out.append((name, strength))
    if len(out) > LORA_MAX:
        raise ValueError(f"{len(out)} adapters; at most {LORA_MAX} in one request")
    return out


def _strength(name: str, value: str) -> float:
    try:
        strength = float(value.strip())
    except ValueError:
        raise ValueError(f"{name}: strength {value!r} is not a number") from None
    low, high = LORA_STRENGTH
    if not (math.isfinite(strength) and low <= strength <= high):
        raise ValueError(f"{name}: strength {value.strip()} is outside {low:g}..{high:g}")
    return strength


def _check_loras(text: str) -> None:
    parse_loras(text)


def lora_param() -> ParamSpec:
    """`lora`: the adapters to apply for this request (the model's fitting ones: `/dawgen/models` `loras`)."""
    return ParamSpec("lora", "str", None, max_length=600, check=_check_loras,
                     doc=f"LoRA adapters on top of the model: name[:strength][,name2[:strength]], strength "
                         f"{LORA_STRENGTH[0]:g}..{LORA_STRENGTH[1]:g} (default 1; 0 = off), at most {LORA_MAX}; "
                         "the model's `loras` in /dawgen/models lists those that fit")
