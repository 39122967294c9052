"""basic-pitch's network run with onnxruntime, and basic-pitch's own note creation.

The model (`nmp.onnx`, 230 kB, Spotify's ICASSP 2022 "Basic Pitch", Apache-2.0) reads mono 22.05 kHz
audio in windows of 43,844 samples that overlap by 30 frames of 256 samples, and gives three
matrices per window: note (frame) and onset activations per piano key, and a pitch contour at a
third of a semitone. This module replays `basic_pitch.inference.run_inference` (windowing and
unwrapping) on audio read by dawgen (libsndfile, ffmpeg for other formats; soxr resampling, as
librosa's default) and hands the matrices to `basic_pitch.note_creation.model_output_to_notes`,
so the notes are exactly the ones basic-pitch's own ONNX path finds. TensorFlow is never needed.
Imported in the model process only (onnxruntime, librosa through basic_pitch).
"""
from __future__ import annotations

import contextlib
import logging
import math
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

# basic_pitch.constants (repeated here so that importing this module imports nothing heavy)
SAMPLE_RATE = 22050
FFT_HOP = 256
WINDOW_SAMPLES = SAMPLE_RATE * 2 - FFT_HOP  # 43,844
OVERLAP_FRAMES = 30
OVERLAP_SAMPLES = OVERLAP_FRAMES * FFT_HOP
HOP_SAMPLES = WINDOW_SAMPLES - OVERLAP_SAMPLES
FRAMES_PER_SECOND = SAMPLE_RATE // FFT_HOP  # 86, as basic-pitch's ANNOTATIONS_FPS

INPUT_NAME = "serving_default_input_2:0"
# output name -> basic-pitch's key, as basic_pitch.inference.Model.predict maps them for ONNX
OUTPUT_NAMES = {"StatefulPartitionedCall:1": "note", "StatefulPartitionedCall:2": "onset",
                "StatefulPartitionedCall:0": "contour"}


@dataclass(frozen=True)
class Note:
    start: float  # seconds from the start of the transcribed audio
    end: float
    pitch: int  # MIDI note number
    velocity: int  # 1..127, from the model's amplitude as basic-pitch writes it


@dataclass(frozen=True)
class Settings:
    onset_threshold: float = 0.5
    frame_threshold: float = 0.3
    minimum_note_ms: float = 127.7
    minimum_frequency: float | None = None
    maximum_frequency: float | None = None
    melodia_trick: bool = True

    @property
    def min_note_frames(self) -> int:
        # basic_pitch.inference.predict's conversion
        return int(np.round(self.minimum_note_ms / 1000 * (SAMPLE_RATE / FFT_HOP)))


_import_lock = threading.Lock()


def import_note_creation() -> Any:
    """`basic_pitch.note_creation`, without the warnings basic_pitch's __init__ logs on the root
    logger for every runtime it does not find (CoreML, TFLite, TensorFlow: none are needed here)."""
    with _import_lock, _quiet_root_warnings():
        from basic_pitch import note_creation
    return note_creation


@contextlib.contextmanager
def _quiet_root_warnings() -> Iterator[None]:
    root = logging.getLogger()
    # logging.warning() on a root logger with no handler would install one (basicConfig): give it a
    # do-nothing handler for the import, and drop records below ERROR meanwhile.
    added = None
    if not root.handlers:
        added = logging.NullHandler()
        root.addHandler(added)
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        yield
    finally:
        logging.disable(previous)
        if added is not None:
            root.removeHandler(added)


def open_session(path: str, threads: int = 0) -> Any:
    """An onnxruntime session on the CPU; ValueError when the file is not a basic-pitch model."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3  # errors only
    if threads > 0:
        options.intra_op_num_threads = threads
    try:
        session = ort.InferenceSession(path, sess_options=options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own exception types
        raise ValueError(f"{path} is not a model onnxruntime can load: {exc}") from None
    inputs = [i.name for i in session.get_inputs()]
    outputs = {o.name for o in session.get_outputs()}
    if inputs != [INPUT_NAME] or not set(OUTPUT_NAMES) <= outputs:
        raise ValueError(f"{path} is not a basic-pitch model (inputs {inputs}, outputs {sorted(outputs)}; "
                         f"expected {INPUT_NAME} and {', '.join(OUTPUT_NAMES)})")
    return session


def warm_up(session: Any) -> None:
    """One window of silence: onnxruntime sets up its kernels on the first run."""
    session.run(list(OUTPUT_NAMES), {INPUT_NAME: np.zeros((1, WINDOW_SAMPLES, 1), dtype=np.float32)})


def windows(audio: np.ndarray) -> Iterator[np.ndarray]:
    """basic-pitch's windows over mono 22.05 kHz audio: half an overlap of silence first, then
    windows of WINDOW_SAMPLES every HOP_SAMPLES, the last padded with zeros."""
    padded = np.concatenate([np.zeros(OVERLAP_SAMPLES // 2, dtype=np.float32), audio.astype(np.float32)])
    for i in range(0, padded.shape[0], HOP_SAMPLES):
        window = padded[i:i + WINDOW_SAMPLES]
        if window.shape[0] < WINDOW_SAMPLES:
            window = np.pad(window, (0, WINDOW_SAMPLES - window.shape[0]))
        yield window[None, :, None]


def window_count(frames: int) -> int:
    return max(1, math.ceil((frames + OVERLAP_SAMPLES // 2) / HOP_SAMPLES))


def predict(session: Any, audio: np.ndarray, progress: Callable[[float], None] | None = None) -> dict[str, np.ndarray]:
    """The model's three matrices for the whole of `audio` (mono float, 22.05 kHz), unwrapped as
    basic_pitch.inference.unwrap_output does."""
    names = list(OUTPUT_NAMES)
    parts: dict[str, list[np.ndarray]] = {key: [] for key in OUTPUT_NAMES.values()}
    total = window_count(audio.shape[0])
    for n, window in enumerate(windows(audio)):
        for name, value in zip(names, session.run(names, {INPUT_NAME: window})):
            parts[OUTPUT_NAMES[name]].append(value)
        if progress is not None:
            progress((n + 1) / total)
    keep = int(np.floor(audio.shape[0] * (FRAMES_PER_SECOND / SAMPLE_RATE)))
    half = OVERLAP_FRAMES // 2
    out = {}
    for key, chunks in parts.items():
        stacked = np.concatenate(chunks)[:, half:-half, :]
        out[key] = stacked.reshape(-1, stacked.shape[2])[:keep]
    return out


def notes_from(output: dict[str, np.ndarray], settings: Settings) -> list[Note]:
    """basic-pitch's notes (no pitch bends), sorted by start then pitch."""
    if output["note"].shape[0] == 0:
        return []
    note_creation = import_note_creation()
    _, events = note_creation.model_output_to_notes(
        output, onset_thresh=settings.onset_threshold, frame_thresh=settings.frame_threshold,
        infer_onsets=True, min_note_len=settings.min_note_frames, min_freq=settings.minimum_frequency,
        max_freq=settings.maximum_frequency, include_pitch_bends=False, melodia_trick=settings.melodia_trick)
    notes = [Note(max(0.0, float(start)), float(end), int(pitch), max(1, min(127, int(np.round(127 * amp)))))
             for start, end, pitch, amp, _ in events if float(end) > float(start)]
    return sorted(notes, key=lambda n: (n.start, n.pitch, n.end))


def to_model_rate(blocks: Iterable[np.ndarray], rate: int) -> np.ndarray:
    """(n, channels) float blocks → mono float32 at the model's 22.05 kHz: the mean of the channels
    (as librosa.load(mono=True)), resampled block by block with soxr HQ (librosa.load's default)."""
    import soxr

    stream = None if rate == SAMPLE_RATE else soxr.ResampleStream(rate, SAMPLE_RATE, 1, dtype="float32", quality="HQ")
    parts = []
    for block in blocks:
        mono = np.ascontiguousarray(block.mean(axis=1, dtype=np.float32) if block.shape[1] > 1 else block[:, 0],
                                    dtype=np.float32)
        parts.append(mono if stream is None else stream.resample_chunk(mono))
    if stream is not None:
        parts.append(stream.resample_chunk(np.zeros(0, dtype=np.float32), last=True))
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)
