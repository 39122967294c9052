"""Finding a dataset's audio files, reading them, and the checks that reject one.

Every file is tried (libsndfile, then ffmpeg, through server/backends/audio_in.py) except hidden
files, the dataset's own text files (sidecars, metadata, dataset.toml) and a few kinds of file that
sit beside samples and are never audio (artwork, DAW analysis files, MIDI, documents): those are
counted as skipped, not reported as unreadable, so the report lists only what matters.
"""
from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..backends.audio_in import open_source
from ..errors import DawgenError, JobCancelled
from .chop import frame_level, gate_level
from .prompts import METADATA_FILES

DATASET_TOML = "dataset.toml"
REPORT_NAME = "dataset-report.json"
SILENT_DBFS = -60.0      # a file whose peak is under this holds nothing to learn from
FULL_SCALE = 0.999       # a sample this close to 1.0 is at the converter's limit
CLIPPED_FRACTION = 0.5   # "clipped throughout": at least this share of the sounding frames at full scale
NOT_AUDIO = frozenset({
    ".txt", ".json", ".jsonl", ".csv", ".toml", ".md", ".pdf", ".rtf", ".html", ".xml", ".nfo", ".ini",
    ".log", ".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp", ".tif", ".tiff", ".asd", ".reapeaks",
    ".pk", ".mid", ".midi", ".als", ".alc", ".rpp", ".flp", ".logicx", ".ptx", ".zip", ".rar", ".7z",
    ".db", ".py", ".exe", ".dll", ".nki", ".nkm", ".fxp", ".fxb", ".vstpreset", ".adg", ".adv",
})


class Reject(Exception):
    """One file cannot be used: `reason` is the report's word, `detail` says why in words."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason, self.detail = reason, detail


def scan(folder: Path) -> tuple[list[Path], list[Path], int]:
    """(audio candidates, metadata files, how many other files were skipped), sorted by path so
    the first of two duplicates is always the same one. Symlinked folders are not followed."""
    audio: list[Path] = []
    metadata: list[Path] = []
    skipped = 0
    for root, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "__MACOSX")
        for name in sorted(names):
            path = Path(root) / name
            if name.startswith("."):
                continue  # .DS_Store, AppleDouble "._kick.wav" files, editors' temp files
            if name in METADATA_FILES:
                metadata.append(path)
            elif path.suffix.lower() in NOT_AUDIO or name in (DATASET_TOML, REPORT_NAME):
                skipped += name != DATASET_TOML
            else:
                audio.append(path)
    def key(path: Path) -> str:
        return path.relative_to(folder).as_posix()
    return sorted(audio, key=key), sorted(metadata, key=key), skipped


def file_digest(path: Path) -> str:
    """SHA-256 of the file's bytes (an exact duplicate has the same)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def audio_digest(samples: np.ndarray, rate: int) -> str:
    """SHA-256 of the decoded audio: the same sound saved as WAV and as FLAC has the same."""
    digest = hashlib.sha256(f"{rate}:{samples.shape}".encode())
    digest.update(memoryview(np.ascontiguousarray(samples)).cast("B"))  # no copy of a long file
    return digest.hexdigest()


def read_audio(path: Path, tmpdir: str, check: Callable[[], None]) -> tuple[np.ndarray, int]:
    """The whole file as float32 (frames, channels) at its own rate; Reject("unreadable") when
    neither libsndfile nor ffmpeg reads it. ffmpeg decodes into `tmpdir` (emptied again here);
    `check` runs while it decodes (it raises to cancel)."""
    try:
        try:
            source = open_source(str(path), tmpdir, check)
            try:
                blocks = list(source.blocks())
                rate, channels = source.sample_rate, source.channels
            finally:
                source.close()
        finally:
            for decoded in Path(tmpdir).iterdir():
                decoded.unlink()
    except JobCancelled:
        raise
    except DawgenError as exc:
        raise Reject("unreadable", _short(exc.message, path)) from None
    except (RuntimeError, OSError) as exc:  # soundfile.LibsndfileError is a RuntimeError
        raise Reject("unreadable", _short(str(exc), path)) from None
    samples = np.concatenate(blocks) if blocks else np.zeros((0, channels), dtype=np.float32)
    if not np.all(np.isfinite(samples)):
        raise Reject("unreadable", "holds NaN or infinite samples")
    return samples, rate


def _short(message: str, path: Path) -> str:
    """A reader's message without the absolute path the report already names."""
    text = message.removeprefix("input: ").replace(str(path), path.name)
    return text.replace(f"{path.name}: {path.name}: ", f"{path.name}: ")


def check_audio(samples: np.ndarray, rate: int, min_seconds: float) -> None:
    """Reject("too_short" | "silent" | "clipped") for a file nothing can be learnt from."""
    seconds = samples.shape[0] / rate
    if seconds < min_seconds:
        raise Reject("too_short", f"{seconds * 1000:.0f} ms long; the minimum is {min_seconds * 1000:.0f} ms")
    level = frame_level(samples)
    peak = float(level.max())
    if peak == 0.0:
        raise Reject("silent", "every sample is zero")
    if peak < 10 ** (SILENT_DBFS / 20):
        raise Reject("silent", f"peak {20 * np.log10(peak):.0f} dBFS, under {SILENT_DBFS:.0f} dBFS")
    sounding = level[level > gate_level(level)]
    clipped = float(np.mean(sounding >= FULL_SCALE))
    if clipped >= CLIPPED_FRACTION:
        raise Reject("clipped", f"{clipped:.0%} of the sound is at full scale")
