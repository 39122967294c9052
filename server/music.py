"""Small music-theory helpers shared by params, post-processing and naming."""
from __future__ import annotations

import re
from dataclasses import dataclass

_ROOTS = {"c": 0, "d": 2, "e": 4, "f": 5, "g": 7, "a": 9, "b": 11}
_KEY = re.compile(r"^\s*([a-gA-G])\s*(#|b|♯|♭)?\s*(m|min|minor|maj|major|M)?\s*$")
_SIG = re.compile(r"^\s*(\d{1,2})\s*/\s*(\d{1,2})\s*$")


@dataclass(frozen=True)
class Key:
    root: int  # semitone of the root, C = 0
    minor: bool
    name: str  # canonical: "Am", "C#", "Bbm"

    @property
    def root_note(self) -> int:
        """MIDI note of the root in the octave from middle C (C4 = 60) - what samplers expect."""
        return 60 + self.root


def parse_key(text: str) -> Key:
    """'Am', 'a minor', 'C#', 'Bb maj', 'F♯m' → Key; ValueError with the accepted forms otherwise."""
    m = _KEY.match(text or "")
    if not m:
        raise ValueError(f"{text!r} is not a key; use a root and an optional m: C, F#, Bb, Am, C#m")
    letter, accidental, quality = m.groups()
    root = _ROOTS[letter.lower()] + {"#": 1, "♯": 1, "b": -1, "♭": -1}.get(accidental or "", 0)
    minor = quality in ("m", "min", "minor")
    sign = {"♯": "#", "♭": "b"}.get(accidental or "", accidental or "")
    return Key(root % 12, minor, f"{letter.upper()}{sign}{'m' if minor else ''}")


def parse_time_signature(text: str) -> tuple[int, int]:
    """'7/8' → (7, 8). Denominators 1, 2, 4, 8, 16, 32; numerators 1-32."""
    m = _SIG.match(text or "")
    if not m:
        raise ValueError(f"{text!r} is not a time signature such as 4/4, 3/4 or 7/8")
    num, den = int(m.group(1)), int(m.group(2))
    if not 1 <= num <= 32 or den not in (1, 2, 4, 8, 16, 32):
        raise ValueError(f"{text!r}: the numerator must be 1-32 and the denominator a power of two up to 32")
    return num, den
