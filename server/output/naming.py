"""File and folder names that are readable, sortable and safe on Windows, macOS and Linux."""
from __future__ import annotations

import re
import unicodedata

_WINDOWS_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)), *(f"lpt{i}" for i in range(1, 10))}
_UNSAFE_CHARS = re.compile(r'[<>:"/\\|?*\x00-\x1f]')
MAX_SLUG = 48


def slugify(text: str, fallback: str = "untitled", max_length: int = MAX_SLUG) -> str:
    """'Punchy Kick!! (808)' -> 'punchy-kick-808': ASCII, lower case, dashes, never empty."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    slug = slug[:max_length].rstrip("-")
    if not slug:
        slug = fallback
    if slug in _WINDOWS_RESERVED:
        slug += "-"  # 'con.wav' cannot be created on Windows
    return slug


def slugify_name(text: str, fallback: str = "untitled", max_length: int = 96) -> str:
    """A backend-chosen file name: each `_`-separated part slugified, the underscores kept, so
    `My Song_vocals` -> `my-song_vocals` (the `<input-name>_<stem>` contract), never empty."""
    parts = [slugify(part, fallback="") for part in text.split("_")]
    name = "_".join(p for p in parts if p)[:max_length].rstrip("-_")
    return name or fallback


def check_subdir(dir_param: str) -> list[str]:
    """Split a request's `dir` into safe components; ValueError says what is wrong.

    `..` and absolute paths are escapes (the caller maps them to out_of_root); characters Windows
    cannot store are refused here rather than producing a project that will not open elsewhere.
    """
    text = dir_param.replace("\\", "/")
    if text.startswith("/") or re.match(r"^[A-Za-z]:", text) or text.startswith("~"):
        raise PermissionError(f"dir {dir_param!r} is absolute; give a folder relative to the output root")
    parts = [p for p in text.split("/") if p not in ("", ".")]
    for part in parts:
        if part == "..":
            raise PermissionError(f"dir {dir_param!r} climbs out of the output root")
        if _UNSAFE_CHARS.search(part) or part.endswith((" ", ".")):
            raise ValueError(f"dir {dir_param!r}: folder name {part!r} is not valid on every system")
        if part.split(".")[0].lower() in _WINDOWS_RESERVED:
            raise ValueError(f"dir {dir_param!r}: {part!r} is a reserved name on Windows")
    return parts


def output_stem(prompt: str, verb: str, seed: int | None, suffix: str = "") -> str:
    """`<slug-of-prompt>_<seed>[_<suffix>]`; the seed keeps variations of one prompt sorted together."""
    stem = slugify(prompt, fallback=verb)
    if seed is not None:
        stem += f"_{seed}"
    if suffix:
        stem += f"_{suffix}"
    return stem


def daw_suffix(bpm: float | None, key: str | None, bars: float | None) -> str:
    """`120bpm_Am_4bars` for what is known: Ableton reads a loop's tempo from its name and length."""
    from ..music import parse_key

    parts = []
    if bpm:
        parts.append(f"{bpm:g}bpm")
    if key:
        parts.append(parse_key(key).name)
    if bars:
        parts.append(f"{bars:g}bar" + ("" if bars == 1 else "s"))
    return "_".join(parts)
