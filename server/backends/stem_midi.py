"""`transcribe=` on a separate job: a MIDI file per chosen stem, beside the stems (demucs, roformer).

The built-in `transcribe` model (basic-pitch; or a `[models.transcribe]` entry that replaces it) is
looked up in the registry of the process that separated, so it loads there once and stays warm. The
names are the written stems' words (`bass`, `vocals`, `no_vocals`); `all` is every written stem.
Each MIDI is `<input-name>_<stem>_transcribed.mid` in the stems' folder, at the request's `bpm`
and meter (default 120, 4/4), with basic-pitch's default thresholds.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..errors import DawgenError, ErrorCode
from .base import Audio, Output

MODEL = "transcribe"  # the built-in model's name (server/registry.py BUILTIN_MODELS)
ProgressFn = Callable[[float, str], None]


def wanted(params: Mapping[str, Any]) -> bool:
    return bool(str(params.get("transcribe") or "").strip())


def separating_share(params: Mapping[str, Any]) -> float:
    """The part of the job's bar the separation takes (after 2 % for reading): less when MIDI follows."""
    return 0.78 if wanted(params) else 0.96


def finish(stems: list[Audio], ctx: Any, registry: Any, share: float) -> list[Output]:
    """A separate job's outputs: the stems, plus their MIDI files when the request asks (`ctx`: RunContext)."""
    if not wanted(ctx.params):
        return list(stems)
    lo = 0.02 + share
    return add_midi(stems, ctx.params, registry, lambda f, stage: ctx.progress(lo + (0.98 - lo) * f, stage))


def check_available(registry: Any) -> None:
    """Submit time: the transcribe model must be usable (ValueError names why not)."""
    entry = registry.get(MODEL) if registry is not None else None
    if entry is None:
        raise ValueError(f"transcribe: no `{MODEL}` model in this daemon")
    if entry.unavailable:
        raise ValueError(f"transcribe: the `{MODEL}` model is unavailable: {entry.unavailable}")


def chosen(params: Mapping[str, Any], stems: list[Audio]) -> list[Audio]:
    """The stems to transcribe; bad_request for a name that is not among the written stems."""
    from .demucs.spec import parse_stems

    words = [str(a.meta.get("stem")) for a in stems]
    try:
        names = parse_stems(str(params.get("transcribe")))
    except ValueError as exc:
        raise DawgenError(ErrorCode.BAD_REQUEST, f"transcribe: {exc}") from None
    unknown = [n for n in names or () if n not in words]
    if unknown:
        raise DawgenError(ErrorCode.BAD_REQUEST, f"transcribe: {', '.join(unknown)} is not among this job's stems "
                                                 f"(written: {', '.join(words)})")
    return [a for a in stems if names is None or a.meta.get("stem") in names]


def add_midi(stems: list[Audio], params: Mapping[str, Any], registry: Any, progress: ProgressFn) -> list[Output]:
    """`stems` followed by one Midi per chosen stem; `progress(fraction, stage)` over the transcriptions."""
    picked = chosen(params, stems)
    if registry is None:
        raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, f"transcribe: this model has no registry to find `{MODEL}` in")
    backend = registry.backend(MODEL)
    out: list[Output] = list(stems)
    for n, audio in enumerate(picked):
        midi = transcribe_stem(backend, audio, params, lambda f, stage, n=n: progress((n + f) / len(picked), stage))
        out.append(midi)
    return out


def transcribe_stem(backend: Any, audio: Audio, params: Mapping[str, Any], progress: ProgressFn) -> Output:
    from .transcribe import model

    samples = model.to_model_rate([audio.samples], audio.sample_rate)
    name = str(audio.meta.get("name") or "stem")
    midi = backend.transcribe_audio(samples, audio.frames / audio.sample_rate, name, params, progress)
    midi.meta.update(folder=audio.meta.get("folder"), stem=audio.meta.get("stem"), transcribed_from=name)
    return midi
