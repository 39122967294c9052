"""Files a request names (`input`, `input2`), checked one way for every backend, so the same mistake
gets the same words whatever the verb; the `start`..`end` part of an audio input; the length a
request asks for (`bars` at `bpm`, or `seconds`); output stems.

Plain path and number checks: nothing here decodes audio (audio_in.py does, and imports this module,
never the other way round), so spec modules can import it at no cost. `input_seconds` reads only a
file's header, importing soundfile when it is called."""
from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from ..music import parse_time_signature


def input_file(params: Mapping[str, Any], name: str = "input", what: str = "an audio file") -> str:
    """`params[name]` as the absolute path of an existing file; ValueError (bad_request at submit)
    says what is wrong. Relative paths are refused: the daemon's working folder is not the DAW's."""
    raw = str(params.get(name) or "").strip()
    if not raw:
        raise ValueError(f"{name}: required (give the path of {what})")
    path = os.path.expanduser(raw)
    if not os.path.isabs(path):
        raise ValueError(f"{name}: {raw!r} is a relative path, not an absolute path; give an absolute path "
                         "(the daemon's working folder is not yours)")
    if not os.path.exists(path):
        raise ValueError(f"{name}: {path} does not exist (no file there)")
    if not os.path.isfile(path):
        raise ValueError(f"{name}: {path} is not a file")
    return path



def input_seconds(params: Mapping[str, Any], name: str = "input") -> float:
    """The length of the audio file `params[name]` names, from its header (libsndfile's formats);
    ValueError when it is not audio libsndfile reads or holds none."""
    import soundfile as sf

    path = input_file(params, name, "an audio file")
    try:
        info = sf.info(path)
    except (RuntimeError, OSError) as exc:
        raise ValueError(f"{name}: {path} is not audio that libsndfile reads ({exc})") from None
    if info.frames <= 0:
        raise ValueError(f"{name}: {path} holds no audio")
    return info.frames / info.samplerate


def bars_seconds(params: Mapping[str, Any]) -> float | None:
    """The length `bars` at `bpm` asks for, or None without `bars`. ValueError if `bpm` is missing."""
    bars = params.get("bars")
    if bars is None:
        return None
    bpm = params.get("bpm")
    if bpm is None:
        raise ValueError("bars needs bpm: give the tempo the bars are counted at")
    numerator, denominator = parse_time_signature(str(params.get("time_signature") or "4/4"))
    return float(bars) * numerator * 4 / denominator * 60.0 / float(bpm)


def requested_seconds(params: Mapping[str, Any]) -> float | None:
    """The length a request asks for: `bars` at `bpm`, else `seconds`, else None (the backend's
    default). Limits are each backend's own."""
    value = bars_seconds(params)
    if value is None and params.get("seconds") is not None:
        value = float(params["seconds"])
    return value


def section(params: Mapping[str, Any], frames: int, rate: int) -> tuple[int, int]:
    """[first, stop) frames of the input that `start` and `end` select; ValueError when empty.

    An `end` past the file's end is its end: a decoder's length can differ from the container's."""
    start, end = params.get("start"), params.get("end")
    first = int(round(float(start) * rate)) if start is not None else 0
    stop = min(frames, int(round(float(end) * rate))) if end is not None else frames
    if first >= frames:
        raise ValueError(f"start: {float(start):g} s is past the end of input ({frames / rate:.3f} s)")
    if stop <= first:
        raise ValueError(f"end: {float(end):g} s is not after start ({float(start or 0):g} s)")
    return first, stop


def input_stem(path: str) -> str:
    """`/music/My Song.wav` → `My Song`: the folder and the first word of every output name."""
    return os.path.splitext(os.path.basename(path))[0] or "input"
