"""`transcribe`: audio → MIDI with Spotify's basic-pitch (ICASSP 2022 model, Apache-2.0) on onnxruntime.

`[models.NAME] backend = "transcribe"`; with no options the model is the `nmp.onnx` inside the
installed basic-pitch wheel, `path = FILE.onnx` uses another copy of it. Verb `transcribe` takes
`input` (an audio file) and writes `<input-name>_transcribed.mid`: a type-1 MIDI file at the
request's `bpm` (default 120) and `time_signature`, the notes in one track named
"<input name> (transcribed)"; with `preview_audio` also a .wav of it played through a GM soundfont.

basic-pitch cannot be a plain dependency: its Linux requirements pin TensorFlow, which the ONNX path
never uses. `make install-transcribe` (or `pip install 'dawgen[transcribe]'` then
`pip install --no-deps basic-pitch==0.4.0`) installs it. onnxruntime and basic_pitch are imported in
`_load`/`_run` only, in the model process.
"""
from __future__ import annotations

import importlib.util
import logging
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from ...errors import DawgenError, ErrorCode
from ...output import midi_preview
from ...params import ParamSpec
from ..base import Backend, Midi, Output, RunContext
from ..inputs import input_stem
from .spec import DEFAULT_BPM, MAX_INPUT_SECONDS, TRANSCRIBE_PARAMS, check_frequencies, input_path

log = logging.getLogger("dawgen.transcribe")

EXTRA = "transcribe"
INSTALL = ("make install-transcribe (or: pip install 'dawgen[transcribe]' && "
           "pip install --no-deps basic-pitch==0.4.0)")
# Python modules the backend imports: onnxruntime runs the model; basic_pitch's note creation needs
# librosa, mir_eval, resampy, pretty_midi and scipy; mido writes the file.
MODULES = ("onnxruntime", "basic_pitch", "librosa", "mir_eval", "resampy", "pretty_midi", "mido")
MODEL_IN_WHEEL = ("saved_models", "icassp_2022", "nmp.onnx")
# A prior for queue ETAs: measured 0.09-0.11 s per second of audio, warm, on a 2-core CPU (0.12 s
# per 1.65 s model window, plus note creation).
SECONDS_PER_AUDIO_SECOND = 0.1
# onnxruntime's arena and the model's activations for one window, beside the 230 kB of weights.
SESSION_OVERHEAD_BYTES = 64 << 20


def wheel_model_path() -> str | None:
    """nmp.onnx inside the installed basic_pitch package, found without importing it (its
    __init__ probes for TensorFlow, CoreML and TFLite and logs a warning for each one missing)."""
    spec = importlib.util.find_spec("basic_pitch")
    for folder in (spec.submodule_search_locations or []) if spec is not None else []:
        candidate = os.path.join(folder, *MODEL_IN_WHEEL)
        if os.path.isfile(candidate):
            return candidate
    return None


class TranscribeBackend(Backend):
    name: ClassVar[str] = "transcribe"
    version: ClassVar[str] = "1"
    verbs: ClassVar[Mapping[str, Sequence[ParamSpec]]] = {"transcribe": TRANSCRIBE_PARAMS}
    output_kind: ClassVar[str] = "midi"
    unused_common: ClassVar[tuple[str, ...]] = ("bars",)  # a transcription is as long as its audio
    requires: ClassVar[tuple[str, ...]] = MODULES
    extra: ClassVar[str] = EXTRA
    install_hint: ClassVar[str] = INSTALL
    config_keys: ClassVar[Mapping[str, type]] = {"path": str, "threads": int}

    def __init__(self, model_name: str, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(model_name, options)
        self._session: Any = None
        self._model_file: str | None = None

    # -- availability and provenance -----------------------------------------------------------------
    def _check_available(self) -> None:
        self._model_file = self._find_model()

    def _find_model(self) -> str:
        path = str(self.options.get("path") or "")
        if path:
            path = os.path.expanduser(path)
            if not os.path.isfile(path):
                raise DawgenError(ErrorCode.MODEL_UNAVAILABLE,
                                  f"model {self.model_name}: path {path} is not a file (a basic-pitch nmp.onnx)")
            return path
        found = wheel_model_path()
        if found is None:
            raise DawgenError(ErrorCode.MODEL_UNAVAILABLE,
                              f"model {self.model_name}: the basic-pitch package holds no "
                              f"{'/'.join(MODEL_IN_WHEEL)}; reinstall it: {INSTALL}, or set path = FILE.onnx")
        return found

    def fingerprint(self) -> dict[str, Any]:
        from importlib import metadata

        from ...output.provenance import file_sha256

        out: dict[str, Any] = {"path": str(self.options.get("path") or "")}
        model_file = self._model_file
        if model_file is None:
            try:
                model_file = self._find_model()
            except DawgenError:
                model_file = None
        if model_file is not None:
            out["weights_sha256"] = file_sha256(model_file)
        for package in ("basic-pitch", "onnxruntime"):
            try:
                out[package] = metadata.version(package)
            except metadata.PackageNotFoundError:
                pass
        return out

    def _memory_estimate(self) -> int:
        try:
            model_file = self._model_file or self._find_model()
        except DawgenError:
            return 0
        return os.path.getsize(model_file) + SESSION_OVERHEAD_BYTES

    # -- submit time ----------------------------------------------------------------------------------
    def _check_params(self, verb: str, params: Mapping[str, Any]) -> None:
        from ..audio_in import checked_section

        check_frequencies(params)
        checked_section(input_path(params), params, MAX_INPUT_SECONDS, "transcribes")
        midi_preview.check_params(params)  # no fluidsynth: refused now, before any work

    def estimate_seconds(self, verb: str, params: Mapping[str, Any]) -> float:
        from ..audio_in import section_seconds

        seconds = section_seconds(params)
        return 1.0 if seconds is None else 0.2 + seconds * SECONDS_PER_AUDIO_SECOND

    # -- load -------------------------------------------------------------------------------------------
    def _load(self) -> None:
        from . import model

        self._check_available()
        model_file = self._find_model()
        try:
            session = model.open_session(model_file, int(self.options.get("threads") or 0))
        except ValueError as exc:
            raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, f"model {self.model_name}: {exc}") from None
        model.warm_up(session)
        model.import_note_creation()  # librosa and friends take ~1-2 s to import: pay it here, not in a job
        self._session = session
        self._model_file = model_file
        log.info("transcribe %s loaded (%s)", self.model_name, model_file)

    def _unload(self) -> None:
        self._session = None

    # -- run ----------------------------------------------------------------------------------------------
    def _run(self, verb: str, ctx: RunContext) -> list[Output]:
        from ..audio_in import open_section
        from . import model

        p = ctx.params
        try:
            path = input_path(p)
        except ValueError as exc:
            raise DawgenError(ErrorCode.BAD_REQUEST, str(exc)) from None
        ctx.progress(0.0, "reading")
        with tempfile.TemporaryDirectory(prefix="dawgen-transcribe-") as tmp:
            source = open_section(path, p, tmp, ctx.check_cancel)
            try:
                seconds = source.frames / source.sample_rate
                audio = model.to_model_rate(source.blocks(), source.sample_rate)
            finally:
                source.close()
        midi = self.transcribe_audio(audio, seconds, input_stem(path), p,
                                     lambda f, stage: ctx.progress(0.05 + 0.85 * f, stage))
        midi.meta["input"] = path
        return [midi]

    def transcribe_audio(self, audio: np.ndarray, seconds: float, name: str, p: Mapping[str, Any],
                         progress: Callable[[float, str], None]) -> Midi:
        """`audio` (mono, the model's 22.05 kHz: model.to_model_rate) as a MIDI file named
        `<name>_transcribed`, with the request's thresholds, bpm, meter and key (defaults for any not given);
        also used by `transcribe=` on separate jobs (server/backends/stem_midi.py)."""
        from ...music import parse_key, parse_time_signature
        from . import model
        from .midifile import write_midi

        settings = model.Settings(float(p.get("onset_threshold", 0.5)), float(p.get("frame_threshold", 0.3)),
                                  float(p.get("minimum_note_ms", 127.7)), _opt_float(p.get("minimum_frequency")),
                                  _opt_float(p.get("maximum_frequency")), bool(p.get("melodia_trick", True)))
        output = model.predict(self._session, audio, lambda f: progress(f, "transcribing"))
        progress(1.0, "notes")
        notes = model.notes_from(output, settings)
        bpm = float(p.get("bpm") or DEFAULT_BPM)
        signature = parse_time_signature(str(p.get("time_signature") or "4/4"))
        key = parse_key(str(p["key"])).name if p.get("key") else None
        title = f"{name} (transcribed)"
        data = write_midi(notes, title, bpm, signature, key)
        pitches = sorted({n.pitch for n in notes})
        meta = {"name": f"{name}_transcribed", "title": title, "bpm": bpm,
                "time_signature": f"{signature[0]}/{signature[1]}", "seconds": round(seconds, 4),
                "notes": len(notes), "lowest": pitches[0] if pitches else None,
                "highest": pitches[-1] if pitches else None}
        return Midi(data=data, meta=meta)


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)
