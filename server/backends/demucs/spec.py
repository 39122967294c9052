"""The `separate` verb's parameters and the checks that run at submit time (no torch, no demucs).

`mode` picks what is written: `stems` (one file per stem in `stems`), `only:<stem>` (that stem
alone) or `without:<stem>` (the sum of every other stem: a karaoke / drumless track).
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ...params import ParamSpec
from ..inputs import input_file

# A stem name as demucs models spell them (drums, bass, other, vocals, guitar, piano).
_STEM = r"[a-z0-9_]+"
_MODE = re.compile(rf"^(stems|only:{_STEM}|without:{_STEM})$")
# Every output stem is held in memory until it is written (about 21 MB per minute of 44.1 kHz
# stereo per stem), so an input's length is capped to keep a 6-stem job inside a laptop's memory.
MAX_INPUT_SECONDS = 3600.0


def _check_mode(value: str) -> None:
    if not _MODE.match(value.strip().lower()):
        raise ValueError(f"{value!r} is not `stems`, `only:<stem>` or `without:<stem>` (e.g. without:vocals)")


def _check_stems(value: str) -> None:
    parse_stems(value)


def _check_transcribe(value: str) -> None:
    if value.strip():
        parse_stems(value)


# What every `separate` backend takes (demucs, roformer): the DAW devices send these.
SEPARATE_BASE: tuple[ParamSpec, ...] = (
    ParamSpec("input", "str", None, max_length=4096,
              doc="absolute path of the audio file to split (WAV, AIFF, FLAC, MP3, OGG; other formats "
                  "through ffmpeg); required"),
    ParamSpec("start", "float", None, min=0.0, max=86400.0,
              doc="seconds into `input` where the part to split begins (a DAW item's offset in its file); default 0"),
    ParamSpec("end", "float", None, min=0.0, max=86400.0,
              doc="seconds into `input` where it ends; default (or past the end): the end of the file"),
    ParamSpec("stems", "str", "all", max_length=200, check=_check_stems,
              doc="with mode `stems`: `all` or a comma-separated list of the model's stems, e.g. `vocals,drums`"),
    ParamSpec("mode", "str", "stems", max_length=64, check=_check_mode,
              doc="`stems`: `<input-name>_<stem>` per stem; `only:<stem>`: that stem alone; "
                  "`without:<stem>`: the sum of the other stems, `<input-name>_no_<stem>`"),
    ParamSpec("sample_rate", "int", None, min=8000, max=192000,
              doc="output sample rate (Hz); default: the input's rate"),
    ParamSpec("transcribe", "str", None, max_length=200, check=_check_transcribe,
              doc="also write a MIDI file per stem named here (`all` or e.g. `bass,vocals`), "
                  "`<input-name>_<stem>_transcribed.mid` beside the stems, with the built-in `transcribe` model"),
)
SEPARATE_PARAMS: tuple[ParamSpec, ...] = (
    *SEPARATE_BASE,
    ParamSpec("shifts", "int", 1, min=0, max=20,
              doc="random time shifts averaged (demucs' shift trick): each one is another pass; 0 = none"),
    ParamSpec("overlap", "float", 0.25, min=0.0, max=0.9, doc="overlap between the model's segments"),
    ParamSpec("segment", "float", None, min=1.0, max=120.0,
              doc="segment length (s); default: the model's own, which is also the most an HTDemucs accepts"),
)


@dataclass(frozen=True)
class Selection:
    """What one job writes: `kind` is stems / only / without; `names` the stems it names (None: all)."""

    kind: str
    names: tuple[str, ...] | None

    def outputs(self, sources: list[str]) -> list[tuple[str, list[int]]]:
        """(output stem word, indices of the model's sources summed into it), in file order."""
        unknown = [n for n in (self.names or ()) if n not in sources]
        if unknown:
            word = "stems" if self.kind == "stems" else "mode"
            raise ValueError(f"{word}: {', '.join(unknown)} is not a stem of this model "
                             f"(its stems: {', '.join(sources)})")
        if self.kind == "only":
            return [(self.names[0], [sources.index(self.names[0])])]  # type: ignore[index]
        if self.kind == "without":
            name = self.names[0]  # type: ignore[index]
            return [(f"no_{name}", [i for i, s in enumerate(sources) if s != name])]
        wanted = self.names or tuple(sources)
        return [(name, [sources.index(name)]) for name in sources if name in wanted]


def parse_stems(value: str) -> tuple[str, ...] | None:
    """`all` → None; `vocals, drums` → ("vocals", "drums")."""
    text = value.strip().lower()
    if text in ("", "all"):
        return None
    names = tuple(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))
    bad = [n for n in names if not re.fullmatch(_STEM, n)]
    if bad or not names:
        raise ValueError(f"{value!r}: give `all` or stem names separated by commas (e.g. vocals,drums)")
    return names


def selection(params: Mapping[str, Any]) -> Selection:
    """The job's Selection; ValueError when `mode` and `stems` contradict each other."""
    mode = str(params.get("mode") or "stems").strip().lower()
    stems = parse_stems(str(params.get("stems") or "all"))
    if mode == "stems":
        return Selection("stems", stems)
    if stems is not None:
        raise ValueError(f"stems: only with mode `stems` (mode {mode} already names its stem)")
    kind, _, name = mode.partition(":")
    return Selection(kind, (name,))


def input_path(params: Mapping[str, Any]) -> str:
    return input_file(params, "input", "the audio file to separate")


