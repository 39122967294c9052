"""A training run's folder, `<models_dir>/<name>/`:

    step-<N>/            one checkpoint per save, in the format its backend loads (the family's
                         write_files: stable_audio.py, musicgen/, midi/), and
        trainer.pt        optimizer state, step, random states, the online weights: only in the
                          newest checkpoint (it is what resuming needs; older ones drop it)
    latest               the newest step folder's name
    dawgen-model.toml    the [models.NAME] entry for the newest checkpoint (paths relative to this folder)
    loss.csv, loss.png   training loss per step (the plot smoothed)
    demos/step-<N>/      demo renders, demo-<i>.wav (audio) or demo-<i>.mid (MIDI)

A checkpoint is written into a hidden temporary folder and renamed into place, so a step folder
that exists is complete; every other file is replaced by rename too. trainer.pt holds tensors and
plain values only (torch.load(weights_only=True) reads it): no file here can run code when loaded.
"""
from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DawgenError, ErrorCode

STEP = re.compile(r"^step-(\d+)$")
TRAINER = "trainer.pt"
RECORD = "training.json"  # what made the model (the job's kind, base, settings, data): read into provenance
FORMAT = 1


def step_folder(folder: Path, step: int) -> Path:
    return Path(folder) / f"step-{int(step)}"


def step_of(path: Path) -> int:
    match = STEP.match(Path(path).name)
    if match is None:
        raise ValueError(f"{path} is not a step-<N> folder")
    return int(match.group(1))


def checkpoints(folder: Path) -> list[tuple[int, Path]]:
    """(step, folder) of every checkpoint, oldest first."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in folder.iterdir() if p.is_dir() and (m := STEP.match(p.name))]
    return sorted(found)


def newest_checkpoint(folder: Path) -> tuple[int, Path] | None:
    """The newest checkpoint a run can resume from (one with trainer.pt)."""
    resumable = [(s, p) for s, p in checkpoints(folder) if (p / TRAINER).is_file()]
    return resumable[-1] if resumable else None


# -- writing ----------------------------------------------------------------------------------------
def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # Windows cannot open a folder; its renames are durable enough
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_file(path: Path, data: bytes) -> None:
    """Replace `path` by rename: a reader sees the old file or the new one, never half of one."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def write_checkpoint(folder: Path, name: str, step: int, trainee: Any, state: dict[str, Any],
                     losses: Sequence[tuple[int, float]]) -> Path:
    """step-<step>/ with the model (or adapter) and trainer.pt, then latest, dawgen-model.toml and
    the loss files; older checkpoints lose their trainer.pt. Returns the step folder."""
    import torch

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    final = step_folder(folder, step)
    tmp = folder / f".{final.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        trainee.write_files(tmp, step)
        torch.save(state, tmp / TRAINER)
        for file in tmp.iterdir():
            with open(file, "rb") as fh:
                os.fsync(fh.fileno())
        _replace_folder(tmp, final)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise DawgenError(ErrorCode.WRITE_FAILED, f"cannot write the checkpoint {final}: {exc}") from None
    for old_step, old in checkpoints(folder):
        if old_step < step:
            (old / TRAINER).unlink(missing_ok=True)
    write_file(folder / "latest", f"{final.name}\n".encode())
    write_file(folder / "dawgen-model.toml", model_toml(name, final, trainee).encode())
    write_losses(folder, losses)
    return final


def _replace_folder(tmp: Path, final: Path) -> None:
    if final.exists():  # the same step saved again (a run resumed from an older step)
        trash = final.with_name(f".{final.name}.old-{os.getpid()}")
        os.replace(final, trash)
        os.replace(tmp, final)
        shutil.rmtree(trash, ignore_errors=True)
    else:
        os.replace(tmp, final)
    _fsync_dir(final.parent)


def _toml_key(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else json.dumps(name)


def model_toml(name: str, checkpoint: Path, trainee: Any) -> str:
    """The [models.NAME] entry for a checkpoint, from the family's options (JSON strings and numbers
    are valid TOML values)."""
    backend, options = trainee.model_options(Path(checkpoint))
    lines = [f"# written by dawgen train ({trainee.settings.kind}); relative paths are relative to this folder",
             f"[models.{_toml_key(name)}]", f"backend = {json.dumps(backend)}"]
    lines += [f"{key} = {json.dumps(value)}" for key, value in options.items()]
    if (Path(checkpoint).parent / RECORD).is_file():
        lines.append(f"training = {json.dumps(RECORD)}")
    return "\n".join(lines) + "\n"


def write_demos(folder: Path, step: int, outputs: Iterable[Any]) -> list[Path]:
    """demos/step-<N>/demo-<i>.wav (Audio, float) or .mid (Midi) in the run folder."""
    import soundfile as sf

    target = Path(folder) / "demos" / f"step-{int(step)}"
    target.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, out in enumerate(outputs):
        if hasattr(out, "samples"):
            buf = io.BytesIO()
            sf.write(buf, np.asarray(out.samples, dtype=np.float32), int(out.sample_rate), format="WAV", subtype="FLOAT")
            path, data = target / f"demo-{i}.wav", buf.getvalue()
        else:
            path, data = target / f"demo-{i}.mid", bytes(out.data)
        write_file(path, data)
        paths.append(path)
    return paths


# -- reading ----------------------------------------------------------------------------------------
def read_trainer_state(folder: Path) -> dict[str, Any]:
    import pickle

    import torch

    path = Path(folder) / TRAINER
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, pickle.UnpicklingError, EOFError) as exc:
        raise DawgenError(ErrorCode.BAD_REQUEST, f"cannot resume from {path}: {type(exc).__name__}: "
                                                 f"{str(exc)[:300]}") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise DawgenError(ErrorCode.BAD_REQUEST, f"{path} is not a dawgen trainer state (format {FORMAT})")
    return state


def read_model_weights(folder: Path) -> dict[str, Any]:
    from safetensors.torch import load_file

    return load_file(str(Path(folder) / "model.safetensors"))


def read_losses(folder: Path) -> list[tuple[int, float]]:
    path = Path(folder) / "loss.csv"
    if not path.is_file():
        return []
    rows = []
    with open(path, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            try:
                rows.append((int(row["step"]), float(row["loss"])))
            except (KeyError, TypeError, ValueError):
                continue  # a damaged line costs one point of the plot, not the run
    return rows


def write_losses(folder: Path, losses: Sequence[tuple[int, float]]) -> None:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(["step", "loss"])
    writer.writerows((int(s), f"{float(v):.6g}") for s, v in losses)
    write_file(Path(folder) / "loss.csv", text.getvalue().encode())
    write_file(Path(folder) / "loss.png", loss_png([v for _, v in losses]))


# -- the loss plot ----------------------------------------------------------------------------------
WIDTH, HEIGHT, MARGIN = 640, 240, 12
_BG, _GRID = np.array([24, 26, 32], np.uint8), np.array([48, 52, 62], np.uint8)
_RAW, _SMOOTH = np.array([70, 90, 120], np.uint8), np.array([110, 200, 255], np.uint8)


def smooth(values: Sequence[float], weight: float = 0.9) -> np.ndarray:
    """Exponential moving average with bias correction (the first points are not pulled to 0)."""
    out, avg = np.empty(len(values)), 0.0
    for i, v in enumerate(values):
        avg = weight * avg + (1 - weight) * float(v)
        out[i] = avg / (1 - weight ** (i + 1))
    return out


def loss_png(values: Sequence[float]) -> bytes:
    """Raw losses as dim dots, the smoothed curve bright, on a grid of quarters; y spans the
    smoothed curve's range (one wild step does not flatten the plot)."""
    from ..output.preview import png_bytes

    img = np.tile(_BG, (HEIGHT, WIDTH, 1))
    for q in range(5):
        img[MARGIN + q * (HEIGHT - 2 * MARGIN) // 4, :] = _GRID
    finite = np.array([v for v in values if np.isfinite(v)], dtype=np.float64)
    if finite.size:
        curve = smooth(finite)
        lo, hi = float(curve.min()), float(curve.max())
        pad = max(hi - lo, abs(hi) * 1e-3, 1e-12) * 0.1
        lo, hi = lo - pad, hi + pad
        xs = np.linspace(MARGIN, WIDTH - 1 - MARGIN, finite.size)

        def ys(v: np.ndarray) -> np.ndarray:
            frac = np.clip((v - lo) / (hi - lo), 0.0, 1.0)
            return np.round(HEIGHT - 1 - MARGIN - frac * (HEIGHT - 1 - 2 * MARGIN)).astype(int)

        img[ys(finite), np.round(xs).astype(int)] = _RAW
        columns = np.arange(MARGIN, WIDTH - MARGIN)
        y = ys(np.interp(columns, xs, curve))
        for i, x in enumerate(columns):  # a vertical run from the previous column's y: a connected line
            a, b = sorted((y[max(i - 1, 0)], y[i]))
            img[a:b + 1, x] = _SMOOTH
    return png_bytes(img)
