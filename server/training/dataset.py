"""A training dataset from a producer's folder: scan, read, reject, chop, prompt, report.

`prepare(folder, kind, ...)` reads every audio file under `folder` (see files.py), resamples it to
the model's rate and channel count, rejects what nothing can be learnt from (unreadable, silent,
too_short, clipped, duplicate: never aborting for one bad file), cuts the rest into clips
(chop.py) and gives the stable-audio kinds a prompt per clip (prompts.py). A folder with no usable
file is a bad_request that names each file's reason. `write_report` saves `dataset-report.json`.

`chop="auto"` resolves per file: `onsets` for the dance-diffusion kinds (one-shots); for the
stable-audio kinds `bars` when the file's tempo is known (ACID chunk, `120bpm` in the name, or the
`bpm` param) and it lasts a whole number of bars, 1 to 16 (a loop), else `window` (one-shots and
recordings: silence trimmed at both ends, a random window of a long one per training step). `Dataset.chop` is the mode(s) used, e.g. "bars+window".

No torch here: the training loop turns `Dataset.sample_batch` into tensors.
"""
from __future__ import annotations

import json
import os
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..backends.audio_in import to_model
from ..errors import DawgenError, ErrorCode
from .chop import Tempo, file_tempo, is_loop, spans_for
from .files import (
    DATASET_TOML,
    Reject,
    audio_digest,
    check_audio,
    file_digest,
    read_audio,
    scan,
)
from .prompts import PromptSource, load_metadata, prompt_for, with_tempo, with_trigger
from .settings import CHOPS, FAMILY_OF_KIND, KINDS  # declared once, with the train params

DANCE_DIFFUSION_WINDOW = 65536  # frames: ~1.5 s at 44.1 kHz, the published Dance Diffusion models' size
STABLE_AUDIO_SECONDS = 10.0
MIN_SECONDS = 0.03  # shorter than any useful one-shot (a closed hat is ~40 ms)
REASON_LIMIT = 10   # files named in a bad_request message; the report names all


def family(kind: str) -> str:
    """"dance-diffusion" (unprompted one-shots) or "stable-audio" (prompted clips: the stable-audio
    and musicgen kinds); bad_request for a kind that does not train on audio."""
    if kind not in KINDS or FAMILY_OF_KIND[kind] not in ("stable-audio", "musicgen"):
        audio_kinds = [k for k in KINDS if FAMILY_OF_KIND[k] != "midi"]
        raise DawgenError(ErrorCode.BAD_REQUEST, f"kind {kind!r} is not one of {', '.join(audio_kinds)}")
    return "dance-diffusion" if kind.startswith("dance-diffusion") else "stable-audio"


def default_window_frames(kind: str, sample_rate: int) -> int:
    """The training window when the request gives no `seconds` and the base model says nothing."""
    if family(kind) == "dance-diffusion":
        return DANCE_DIFFUSION_WINDOW
    return int(round(STABLE_AUDIO_SECONDS * sample_rate))


@dataclass
class Clip:
    samples: np.ndarray  # float32 (frames, channels) at the dataset's rate
    source: str          # the file, relative to the dataset folder
    prompt: str          # "" for the dance-diffusion kinds (unconditional)
    start_s: float       # where the clip starts in its file (seconds)
    chop: str = "none"   # the mode that cut it; `window` clips are cropped at random per draw


@dataclass
class Rejected:
    file: str
    reason: str  # unreadable | silent | too_short | clipped | duplicate
    detail: str = ""


@dataclass
class UsedFile:
    file: str
    clips: int
    seconds: float
    chop: str
    prompt: str = ""
    prompt_from: str = ""
    bpm: float | None = None


@dataclass
class Batch:
    audio: np.ndarray            # float32 (batch, channels, window)
    prompts: list[str]
    seconds_start: list[float]   # where each window starts in its clip (stable-audio conditioning)
    seconds_total: list[float]   # each clip's length in seconds


@dataclass
class Dataset:
    clips: list[Clip]
    rejected: list[Rejected]
    notes: list[str]
    metadata: dict[str, Any]     # dataset.toml: owner, licence, source (+ whatever else it says)
    sample_rate: int
    channels: int
    window: int                  # frames per training example
    chop: str
    kind: str = ""
    folder: str = ""
    files: list[UsedFile] = field(default_factory=list)
    skipped: int = 0

    @property
    def seconds(self) -> float:
        return sum(c.samples.shape[0] for c in self.clips) / self.sample_rate

    def report(self) -> dict[str, Any]:
        """What `dataset-report.json` holds (JSON-ready)."""
        return {
            "folder": self.folder, "kind": self.kind, "sample_rate": self.sample_rate,
            "channels": self.channels, "window_frames": self.window,
            "window_seconds": round(self.window / self.sample_rate, 4), "chop": self.chop,
            "files": {"found": len(self.files) + len(self.rejected), "used": len(self.files),
                      "rejected": len(self.rejected), "skipped": self.skipped},
            "clips": len(self.clips), "clip_seconds": round(self.seconds, 3),
            "used": [vars(f) for f in self.files],
            "rejected": [vars(r) for r in self.rejected],
            "notes": list(self.notes), "metadata": dict(self.metadata),
        }

    def summary(self) -> str:
        """One line for a reply: clips, files, format, chop and the rejects by reason."""
        found = len(self.files) + len(self.rejected)
        layout = {1: "mono", 2: "stereo"}.get(self.channels, f"{self.channels} channels")
        text = (f"{len(self.clips)} clips ({self.seconds:.1f} s) from {len(self.files)} of {found} files, "
                f"{self.sample_rate} Hz {layout}, window {self.window} frames "
                f"({self.window / self.sample_rate:.2f} s), chop {self.chop}")
        if self.rejected:
            counts = Counter(r.reason for r in self.rejected)
            text += f"; rejected {len(self.rejected)}: " + ", ".join(f"{n} {why}" for why, n in sorted(counts.items()))
        return text

    def draw(self, rng: np.random.Generator, batch_size: int) -> Batch:
        """`batch_size` examples of exactly `window` frames: a random window of a `window` clip,
        the start of any other clip; shorter clips end in silence. The same rng state gives the
        same batch."""
        if batch_size < 1 or not self.clips:
            raise ValueError(f"batch_size must be >= 1 and the dataset not empty (batch_size={batch_size})")
        audio = np.zeros((batch_size, self.channels, self.window), dtype=np.float32)
        prompts, starts, totals = [], [], []
        for row, index in enumerate(rng.integers(0, len(self.clips), size=batch_size).tolist()):
            clip = self.clips[index]
            frames = clip.samples.shape[0]
            offset = 0
            if clip.chop == "window" and frames > self.window:
                offset = int(rng.integers(0, frames - self.window + 1))
            part = clip.samples[offset:offset + self.window]
            audio[row, :, :part.shape[0]] = part.T
            prompts.append(clip.prompt)
            starts.append(offset / self.sample_rate)
            totals.append(frames / self.sample_rate)
        return Batch(audio, prompts, starts, totals)

    def sample_batch(self, rng: np.random.Generator, batch_size: int) -> tuple[np.ndarray, list[str]]:
        """(float32 (batch, channels, window), prompts): `draw` without the timing conditioning."""
        batch = self.draw(rng, batch_size)
        return batch.audio, batch.prompts


class NoUsableAudio(DawgenError):
    """bad_request: no file in the folder is usable; `rejected` names each one and why (for a
    report written beside the failed run)."""

    def __init__(self, message: str, rejected: list[Rejected]) -> None:
        super().__init__(ErrorCode.BAD_REQUEST, message)
        self.rejected = rejected


def _bad(message: str) -> DawgenError:
    return DawgenError(ErrorCode.BAD_REQUEST, message)


def _check_args(kind: str, chop: str, sample_rate: int, channels: int, window_frames: int,
                bpm: float | None, min_seconds: float) -> None:
    family(kind)
    if chop not in CHOPS:
        raise _bad(f"chop {chop!r} is not one of {', '.join(CHOPS)}")
    try:
        shape_ok = int(sample_rate) > 0 and int(channels) in (1, 2) and int(window_frames) > 0
        bpm_ok = bpm is None or 20.0 <= float(bpm) <= 999.0
        min_ok = 0.0 < float(min_seconds) < 3600.0
    except (TypeError, ValueError):
        shape_ok = bpm_ok = min_ok = False
    if not shape_ok:
        raise _bad(f"sample_rate and window must be positive and channels 1 or 2 "
                   f"(got {sample_rate!r}, {window_frames!r}, {channels!r})")
    if not bpm_ok:
        raise _bad(f"bpm must be between 20 and 999, got {bpm!r}")
    if not min_ok:
        raise _bad(f"min_seconds must be above 0 and under an hour, got {min_seconds!r}")


def read_dataset_toml(folder: Path) -> tuple[dict[str, Any], list[str]]:
    """dataset.toml's keys (owner, licence, source...) and notes; a broken file is a bad_request:
    the licence of what a model learns from is never dropped silently."""
    path = folder / DATASET_TOML
    if not path.is_file():
        return {}, [f"no {DATASET_TOML}: the model's owner, licence and source will be unknown"]
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise _bad(f"{path}: not valid TOML: {exc}") from None
    if "license" in data and "licence" not in data:
        data["licence"] = data.pop("license")
    metadata = {k: v if isinstance(v, (str, int, float, bool)) else str(v) for k, v in data.items()}
    missing = [k for k in ("owner", "licence", "source") if not metadata.get(k)]
    return metadata, [f"{DATASET_TOML} does not say: {', '.join(missing)}"] if missing else []


class _Builder:
    """The per-file work of `prepare`, and the tallies its notes are made from."""

    def __init__(self, folder: Path, kind: str, rate: int, channels: int, window: int, chop: str,
                 bpm: float | None, trigger: str, min_seconds: float, prompts: PromptSource,
                 check: Callable[[], None], tmpdir: str) -> None:
        self.folder, self.family, self.rate, self.channels = folder, family(kind), rate, channels
        self.window, self.chop, self.bpm, self.trigger = window, chop, bpm, trigger
        self.min_seconds, self.prompts, self.check = min_seconds, prompts, check
        self.tmpdir = tmpdir  # where ffmpeg decodes what libsndfile cannot read
        self.clips: list[Clip] = []
        self.rejected: list[Rejected] = []
        self.used: list[UsedFile] = []
        self.seen_bytes: dict[str, str] = {}
        self.seen_audio: dict[str, str] = {}
        self.resampled: Counter[int] = Counter()
        self.dropped = 0
        self.no_tempo: list[str] = []
        self.tagged = 0
        self.prompt_from: Counter[str] = Counter()

    def add(self, path: Path) -> None:
        name = path.relative_to(self.folder).as_posix()
        try:
            self._add(path, name)
        except Reject as why:
            self.rejected.append(Rejected(name, why.reason, why.detail))

    def _load(self, path: Path, name: str) -> np.ndarray:
        """The file at the model's rate and channels, once it passed every check."""
        try:
            digest = file_digest(path)
        except OSError as exc:
            raise Reject("unreadable", str(exc)) from None
        if digest in self.seen_bytes:
            raise Reject("duplicate", f"the same bytes as {self.seen_bytes[digest]}")
        self.seen_bytes[digest] = name
        samples, rate = read_audio(path, self.tmpdir, self.check)
        check_audio(samples, rate, self.min_seconds)
        sound = audio_digest(samples, rate)
        if sound in self.seen_audio:
            raise Reject("duplicate", f"the same audio as {self.seen_audio[sound]}")
        self.seen_audio[sound] = name
        if rate != self.rate:
            self.resampled[rate] += 1
        return to_model(samples, rate, self.rate, self.channels)

    def _add(self, path: Path, name: str) -> None:
        x = self._load(path, name)
        tempo = file_tempo(path, self.bpm)
        mode = self._mode(x.shape[0], tempo, name)
        spans = spans_for(mode, x, self.rate, tempo, self.window)
        keep = [(a, b) for a, b in spans if b - a >= self.min_seconds * self.rate]
        self.dropped += len(spans) - len(keep)
        if not keep:
            raise Reject("too_short", f"no sound of {self.min_seconds * 1000:.0f} ms or more "
                                      "once silence is trimmed")
        prompt, source = self._prompt(path, tempo)
        for a, b in keep:
            # Most of the file: a view (no copy). A hit out of a longer file: a copy, so the
            # silence around it is freed with the file.
            part = x[a:b] if (b - a) * 10 >= x.shape[0] * 9 else x[a:b].copy()
            self.clips.append(Clip(part, name, prompt, a / self.rate, mode))
        seconds = sum(b - a for a, b in keep) / self.rate
        self.used.append(UsedFile(name, len(keep), round(seconds, 3), mode, prompt, source,
                                  tempo.bpm if tempo else None))

    def _mode(self, frames: int, tempo: Tempo | None, name: str) -> str:
        if self.chop == "auto":
            if self.family == "dance-diffusion":
                return "onsets"
            return "bars" if is_loop(frames, self.rate, tempo) else "window"
        if self.chop == "bars" and tempo is None:
            self.no_tempo.append(name)
            return "window"
        return self.chop

    def _prompt(self, path: Path, tempo: Tempo | None) -> tuple[str, str]:
        if self.family != "stable-audio":
            return "", ""
        prompt, source = prompt_for(path, self.folder, self.prompts)
        prompt, added = with_tempo(prompt, tempo)
        self.tagged += added
        self.prompt_from[source] += 1
        return with_trigger(prompt, self.trigger), source

    def notes(self) -> list[str]:
        notes = list(self.prompts.notes)
        if self.resampled:
            rates = ", ".join(f"{n} from {r} Hz" for r, n in sorted(self.resampled.items()))
            notes.append(f"resampled to {self.rate} Hz: {rates}")
        if self.dropped:
            notes.append(f"dropped {self.dropped} clip(s) shorter than {self.min_seconds * 1000:.0f} ms")
        if self.no_tempo:
            notes.append(f"no tempo for `bars` in {len(self.no_tempo)} file(s) (no ACID chunk, no `120bpm` "
                         f"in the name, no bpm=): chopped by window: {', '.join(self.no_tempo[:REASON_LIMIT])}")
        if self.family == "stable-audio":
            sources = ", ".join(f"{n} from {where}" for where, n in sorted(self.prompt_from.items()))
            trigger = f"; trigger {self.trigger!r} in front" if self.trigger else ""
            notes.append(f"prompts: {sources or 'none'}{trigger}")
            if self.tagged:
                notes.append(f"tempo added to {self.tagged} prompt(s) as a 'N bpm' tag")
        longer = sum(1 for c in self.clips if c.chop != "window" and c.samples.shape[0] > self.window)
        if longer:
            notes.append(f"{longer} clip(s) longer than the window: training uses their first {self.window} frames")
        return notes

    def resolved_chop(self) -> str:
        modes = sorted({f.chop for f in self.used})
        return "+".join(modes) if modes else self.chop


def prepare(folder: str | os.PathLike[str], kind: str, *, sample_rate: int, channels: int,
            window_frames: int, chop: str = "auto", bpm: float | None = None, trigger: str = "",
            min_seconds: float = MIN_SECONDS, progress: Callable[[float, str], None] | None = None,
            check: Callable[[], None] | None = None) -> Dataset:
    """The dataset in `folder` (searched recursively) for a `kind` model at `sample_rate` and
    `channels`, with training examples of `window_frames`. bad_request when the folder is missing
    or no file is usable. `progress(fraction, stage)` is called per file and `check()` while ffmpeg
    decodes; either may raise (JobCancelled) to stop."""
    _check_args(kind, chop, sample_rate, channels, window_frames, bpm, min_seconds)
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise _bad(f"data folder not found: {root}")
    metadata, notes = read_dataset_toml(root)
    audio, metadata_files, skipped = scan(root)
    if not audio:
        raise _bad(f"no audio files in {root}" + (f" ({skipped} other files skipped)" if skipped else ""))
    stable = family(kind) == "stable-audio"
    prompts = load_metadata(root, metadata_files) if stable else PromptSource()
    with tempfile.TemporaryDirectory(prefix="dawgen-dataset-") as tmpdir:
        builder = _Builder(root, kind, int(sample_rate), int(channels), int(window_frames), chop,
                           float(bpm) if bpm else None, trigger, float(min_seconds), prompts,
                           check or (lambda: None), tmpdir)
        for done, path in enumerate(audio):
            if progress is not None:
                progress(done / len(audio), "preparing dataset")
            builder.add(path)
    if not builder.clips:
        reasons = "; ".join(f"{r.file}: {r.reason} ({r.detail})" for r in builder.rejected[:REASON_LIMIT])
        more = len(builder.rejected) - REASON_LIMIT
        raise NoUsableAudio(f"no usable audio in {root}: {reasons}" + (f"; and {more} more" if more > 0 else ""),
                            builder.rejected)
    if progress is not None:
        progress(1.0, "preparing dataset")
    notes += builder.notes()
    if skipped:
        notes.append(f"skipped {skipped} file(s) that are not audio (text, images, MIDI, DAW files)")
    return Dataset(builder.clips, builder.rejected, notes, metadata, int(sample_rate), int(channels),
                   int(window_frames), builder.resolved_chop(), kind, str(root), builder.used, skipped)


def write_report(dataset: Dataset, path: str | os.PathLike[str]) -> None:
    """`dataset-report.json` at `path`, written to a temporary file beside it and renamed, so a
    reader never sees half a report."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(dataset.report(), fh, indent=2, ensure_ascii=False)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
