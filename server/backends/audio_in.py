"""Reading input audio files. Songs (separate, transcribe): libsndfile first (WAV, AIFF, FLAC, MP3,
OGG...), ffmpeg otherwise, block by block, never whole: a 10-minute song is not held in memory at
the input's rate. Short clips a model takes whole (musicgen continue/melody, stable-audio vary and
inpaint): `read_section` and `to_model`. A format libsndfile cannot read is decoded by ffmpeg into
a temporary float WAV (outside the output roots) and read from there. `probe` is the cheap check
that runs when a request is submitted.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import soundfile as sf

from ..errors import DawgenError, ErrorCode
from ..post.resample import resample
from .inputs import input_file, section

BLOCK_FRAMES = 1 << 17  # ~3 s at 44.1 kHz per read
FFPROBE_TIMEOUT = 30.0


@dataclass(frozen=True)
class InputInfo:
    frames: int
    sample_rate: int
    channels: int
    reader: str  # "libsndfile" or "ffmpeg"

    @property
    def seconds(self) -> float:
        return self.frames / self.sample_rate


def probe(path: str) -> InputInfo:
    """What the file holds; ValueError (a message for the client) when nothing can read it."""
    try:
        info = sf.info(path)
    except (RuntimeError, OSError) as exc:  # soundfile.LibsndfileError is a RuntimeError
        return _probe_ffmpeg(path, str(exc))
    if info.frames <= 0 or info.samplerate <= 0:
        raise ValueError(f"input: {path} holds no audio frames")
    return InputInfo(int(info.frames), int(info.samplerate), int(info.channels), "libsndfile")


def _probe_ffmpeg(path: str, sndfile_error: str) -> InputInfo:
    ffprobe = shutil.which("ffprobe")
    if ffprobe is None:
        raise ValueError(f"input: {path} is not audio that libsndfile reads ({sndfile_error}); "
                         "install ffmpeg to read other formats")
    cmd = [ffprobe, "-v", "error", "-select_streams", "a:0", "-show_entries",
           "stream=sample_rate,channels:format=duration", "-of", "json", path]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=FFPROBE_TIMEOUT, check=False)
        data = json.loads(done.stdout or "{}")
    except (OSError, subprocess.TimeoutExpired, ValueError) as exc:
        raise ValueError(f"input: {path}: ffprobe failed ({exc})") from None
    streams = data.get("streams") or []
    if not streams:
        why = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "no audio stream"
        raise ValueError(f"input: {path} is not audio that libsndfile or ffmpeg reads "
                         f"(libsndfile: {sndfile_error}; ffmpeg: {why})")
    rate, channels = int(streams[0].get("sample_rate") or 0), int(streams[0].get("channels") or 0)
    seconds = float((data.get("format") or {}).get("duration") or 0.0)
    if rate <= 0 or channels <= 0 or seconds <= 0:
        raise ValueError(f"input: {path} holds no audio frames")
    return InputInfo(int(round(seconds * rate)), rate, channels, "ffmpeg")


class AudioSource:
    """A readable input: exact frame count, rate and channels, and float32 blocks from the start
    (of the file, or of the section `select` chose)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._file = sf.SoundFile(path)
        self.frames, self.sample_rate = int(self._file.frames), int(self._file.samplerate)
        self.channels = int(self._file.channels)
        self.offset = 0

    def select(self, first: int, stop: int) -> None:
        """Read only frames [first, stop) of the file from now on."""
        self.offset, self.frames = first, stop - first

    def blocks(self, frames: int = BLOCK_FRAMES) -> Iterator[np.ndarray]:
        """(n, channels) float32 blocks covering the file (or section), from its first frame."""
        self._file.seek(self.offset)
        left = self.frames
        while left > 0:
            block = self._file.read(min(frames, left), dtype="float32", always_2d=True)
            if block.shape[0] == 0:
                return
            left -= block.shape[0]
            yield block

    def close(self) -> None:
        self._file.close()


def open_source(path: str, tmpdir: str, check: Callable[[], None]) -> AudioSource:
    """Open `path` with libsndfile, or decode it with ffmpeg into `tmpdir` first.

    `check` runs every few tenths of a second while ffmpeg decodes: it raises to cancel the job.
    """
    try:
        source = AudioSource(path)
    except (RuntimeError, OSError) as exc:
        decoded = _decode_ffmpeg(path, os.path.join(tmpdir, "decoded.wav"), str(exc), check)
        source = AudioSource(decoded)
    if source.frames <= 0:
        source.close()
        raise DawgenError(ErrorCode.BAD_REQUEST, f"input: {path} holds no audio frames")
    return source


def checked_section(path: str, params: Mapping[str, Any], max_seconds: float, doing: str) -> tuple[InputInfo, int, int]:
    """Submit-time check of the audio file at `path` and the `start`..`end` part of it a request
    takes: (probe info, first, stop) frames; ValueError names the problem, including a part longer
    than one job `doing` (e.g. "separates") takes."""
    info = probe(path)
    first, stop = section(params, info.frames, info.sample_rate)
    seconds = (stop - first) / info.sample_rate
    if seconds > max_seconds:
        raise ValueError(f"input: {seconds / 60:.0f} minutes is longer than the {max_seconds / 60:.0f} minutes one "
                         f"job {doing} (split the file, or use start and end)")
    return info, first, stop


def section_seconds(params: Mapping[str, Any]) -> float | None:
    """Seconds of the `start`..`end` part of the audio `input`, for a queue estimate; None when the
    input cannot be read (submit-time checks report that)."""
    try:
        info = probe(input_file(params))
        first, stop = section(params, info.frames, info.sample_rate)
    except ValueError:
        return None
    return (stop - first) / info.sample_rate


def open_section(path: str, params: Mapping[str, Any], tmpdir: str, check: Callable[[], None]) -> AudioSource:
    """`open_source`, narrowed to the `start`..`end` part of the file the request asks for (an
    empty part is a bad_request: the file may have changed since the request was checked)."""
    source = open_source(path, tmpdir, check)
    try:
        source.select(*section(params, source.frames, source.sample_rate))
    except ValueError as exc:
        source.close()
        raise DawgenError(ErrorCode.BAD_REQUEST, str(exc)) from None
    return source


def read_selected(path: str, params: Mapping[str, Any], check: Callable[[], None],
                  prefix: str = "dawgen-") -> tuple[np.ndarray, int]:
    """The `start`..`end` part of `path` (open_section: any format, ffmpeg's decoded into a
    temporary folder named `prefix`...) as float32 (frames, channels), and its rate: for effects
    and models that take the whole part at once (process, rvc)."""
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        source = open_section(path, params, tmp, check)
        try:
            blocks = list(source.blocks())
        finally:
            source.close()
    samples = np.concatenate(blocks) if blocks else np.zeros((0, source.channels), np.float32)
    return samples.astype(np.float32, copy=False), int(source.sample_rate)


def _decode_ffmpeg(path: str, target: str, sndfile_error: str, check: Callable[[], None]) -> str:
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise DawgenError(ErrorCode.BAD_REQUEST, f"input: {path} is not audio that libsndfile reads "
                                                 f"({sndfile_error}); install ffmpeg to read other formats")
    # 32-bit float keeps the decoder's output exactly; rf64 lifts WAV's 4 GB limit for long files.
    cmd = [ffmpeg, "-nostdin", "-v", "error", "-y", "-i", path, "-map", "0:a:0", "-vn",
           "-c:a", "pcm_f32le", "-rf64", "auto", "-f", "wav", target]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        while proc.poll() is None:
            check()
            time.sleep(0.2)
    finally:
        if proc.poll() is None:  # cancelled: stop the decoder we started
            proc.kill()
            proc.wait()
    stderr = proc.stderr.read() if proc.stderr is not None else ""
    if proc.returncode != 0:
        why = stderr.strip().splitlines()[-1] if stderr.strip() else f"exit code {proc.returncode}"
        raise DawgenError(ErrorCode.BAD_REQUEST, f"input: ffmpeg cannot decode {path}: {why}")
    return target


def convert_channels(x: np.ndarray, channels: int) -> np.ndarray:
    """(n, c) → (n, channels) as demucs' convert_audio_channels does: mono is repeated, a mono
    target is the mean, extra channels are dropped."""
    have = x.shape[1]
    if have == channels:
        return x
    if channels == 1:
        return x.mean(axis=1, keepdims=True, dtype=np.float32)
    if have == 1:
        return np.repeat(x, channels, axis=1)
    if have > channels:
        return x[:, :channels]
    raise DawgenError(ErrorCode.BAD_REQUEST, f"input: {have} channels cannot feed a {channels}-channel model")


def mix_stats(source: AudioSource, channels: int) -> tuple[float, float]:
    """Mean and standard deviation (ddof 1) of the mono reference demucs normalises the track by,
    over the whole file, block by block (Chan's parallel formula keeps the variance exact)."""
    count, mean, m2 = 0, 0.0, 0.0
    for block in source.blocks():
        ref = convert_channels(block, channels).mean(axis=1, dtype=np.float64)
        n, block_mean = ref.shape[0], float(ref.mean())
        block_m2 = float(((ref - block_mean) ** 2).sum())
        delta, total = block_mean - mean, count + n
        mean += delta * n / total
        m2 += block_m2 + delta * delta * count * n / total
        count = total
    std = (m2 / (count - 1)) ** 0.5 if count > 1 else 0.0
    return mean, std


# -- short clips, read whole (musicgen continue/melody, stable-audio vary/inpaint) --------------------
def read_section(path: str, start: float | None, end: float | None) -> tuple[np.ndarray, int]:
    """float32 (frames, channels) of `path` from `start` to `end` seconds, at the file's rate."""
    try:
        with sf.SoundFile(path) as fh:
            rate = fh.samplerate
            first = int(round(float(start or 0.0) * rate))
            last = fh.frames if end is None else min(fh.frames, int(round(float(end) * rate)))
            fh.seek(min(first, fh.frames))
            samples = fh.read(max(0, last - first), dtype="float32", always_2d=True)
    except (OSError, RuntimeError) as exc:
        raise DawgenError(ErrorCode.BAD_REQUEST, f"input: cannot read {path}: {exc}") from None
    if samples.shape[0] == 0:
        raise DawgenError(ErrorCode.BAD_REQUEST, f"input: {path} has no audio between the given start and end")
    return samples, rate


def to_model(samples: np.ndarray, rate: int, model_rate: int, channels: int) -> np.ndarray:
    """Resampled to the model's rate, mixed to its channel count (mono: the mean)."""
    x = resample(samples, rate, model_rate) if rate != model_rate else samples.astype(np.float32)
    if channels == 1:
        return x.mean(axis=1, keepdims=True)
    if x.shape[1] == 1:
        return np.repeat(x, channels, axis=1)
    return x[:, :channels]
