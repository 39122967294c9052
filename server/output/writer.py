"""Atomic writes under the output roots: every file the daemon writes goes through here.

A file is written under a temporary dot-name ending in `.tmp` (no DAW browser lists it) and
renamed into place when complete, so no partial file is ever visible. The sidecar `.json` claims the
name first (no-clobber), then the audio is renamed beside it: after a crash a re-run job finds its
own sidecar and reuses the name, so a job never leaves two copies of one output.
"""
from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from ..backends.base import Artifact, Audio, Midi, Output
from ..errors import DawgenError, ErrorCode
from ..jobs import Job
from ..post import dither_tpdf
from ..post.pipeline import prepare
from .encode import encode, file_facts
from .midi_preview import render_wav
from .naming import check_subdir, daw_suffix, output_stem, slugify, slugify_name
from .preview import render_png

TMP_MARK = ".dawgen-"


class OutputWriter:
    def __init__(self, roots: Iterable[str | os.PathLike[str]], fsync: bool = True) -> None:
        self.roots = [Path(r).expanduser().absolute() for r in roots]
        if not self.roots:
            raise ValueError("at least one output root is needed")
        self._real_roots = [os.path.realpath(r) for r in self.roots]
        self.fsync = fsync

    @property
    def root(self) -> Path:
        return self.roots[0]

    # -- where --------------------------------------------------------------------------------
    def target_dir(self, params: Mapping[str, Any], created: float) -> Path:
        """The folder for a job's files; raises out_of_root / bad_request for a bad `dir`."""
        dir_param = str(params.get("dir") or "")
        try:
            parts = check_subdir(dir_param)
        except PermissionError as exc:
            raise DawgenError(ErrorCode.OUT_OF_ROOT, str(exc)) from None
        except ValueError as exc:
            raise DawgenError(ErrorCode.BAD_REQUEST, str(exc)) from None
        if parts:
            target = self.root.joinpath(*parts)
        else:
            # The job's creation date, not today's: a job re-run after a crash lands where it would have.
            target = self.root / "dawgen" / datetime.fromtimestamp(created).strftime("%Y-%m-%d")
        self.check_inside(target)
        return target

    def check_inside(self, path: Path) -> None:
        """Refuse a path that resolves (through symlinks too) outside every output root."""
        real = os.path.realpath(path)
        for real_root in self._real_roots:
            if os.path.commonpath([real, real_root]) == real_root:
                return
        raise DawgenError(ErrorCode.OUT_OF_ROOT, f"{path} resolves to {real}, outside the output root(s)")

    # -- write --------------------------------------------------------------------------------
    def write_job(self, job: Job, outputs: list[Output], provenance: Mapping[str, Any]) -> list[str]:
        """Render and place every output in order; an Artifact (made by the backend itself) is
        listed as it is."""
        files = [o for o in outputs if not isinstance(o, Artifact)]
        placed: list[str] = []
        if files:
            folder = self.target_dir(job.params, job.created)
            folder.mkdir(parents=True, exist_ok=True)
            self.check_inside(folder)  # a symlink could have appeared since the request was accepted
            rendered = self._render_all(job, files, provenance)
            for index, (output, item) in enumerate(zip(files, rendered)):
                where = folder
                if output.meta.get("folder"):  # e.g. one folder per separated input
                    where = folder / slugify(str(output.meta["folder"]), fallback=job.verb)
                    where.mkdir(exist_ok=True)
                placed.append(str(self._place_one(where, job, index, item)))
        written = iter(placed)
        return [o.path if isinstance(o, Artifact) else next(written) for o in outputs]

    def _render_all(self, job: Job, outputs: list[Output], provenance: Mapping[str, Any]) -> list[_Rendered]:
        """Post-process and encode every output (CPU only, nothing touches the output folder).

        The outputs of a `count` request are rendered in parallel threads: soxr, numpy and the
        encoders release the GIL, and for a small model this is most of a batch's time (measured
        with bench/stable_audio.py). Large outputs (long stems) are rendered one at a time, so a
        job's peak memory stays that of one file's encoding."""
        def render(item: tuple[int, Output]) -> _Rendered:
            return self._render(job, item[0], item[1], provenance)

        workers = min(len(outputs), PARALLEL_RENDERS, os.cpu_count() or 1)
        if workers < 2 or sum(_nbytes(o) for o in outputs) > PARALLEL_RENDER_BYTES:
            return [render(item) for item in enumerate(outputs)]
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="dawgen-render") as pool:
            return list(pool.map(render, enumerate(outputs)))

    def _render(self, job: Job, index: int, output: Output, provenance: Mapping[str, Any]) -> _Rendered:
        params = job.params
        seed = output.seed if output.seed is not None else params.get("seed")
        sidecar = dict(provenance)
        sidecar.update(job_id=job.id, index=index, seed=seed, meta=output.meta, written_at=time.time())
        preview, preview_suffix = None, ".png"
        if isinstance(output, Midi):
            fmt, data, grid = "mid", output.data, None
            if params.get("preview_audio"):  # rendered before anything is placed: a failure writes nothing
                preview, sidecar["preview_audio"] = render_wav(output.data, params)
                preview_suffix = ".wav"
        else:
            fmt, bit_depth = str(params.get("format", "wav")), str(params.get("bit_depth", "24"))
            audio, post = prepare(output, params)
            grid = post.get("grid")
            sidecar.update(post=post, audio={"sample_rate": audio.sample_rate, "channels": audio.channels,
                                             "frames": audio.frames, "bit_depth": bit_depth})
            facts = file_facts(audio.samples, audio.sample_rate, params, post, {**output.meta, "seed": seed},
                               job.id, job.created)
            samples = dither_tpdf(audio.samples, bit_depth, seed=int(seed or 0))
            data = encode(samples, audio.sample_rate, fmt, bit_depth, facts, sidecar)
            if params.get("preview"):
                preview = render_png(audio.samples, audio.sample_rate)
        sidecar["file_format"] = fmt
        if output.meta.get("name"):  # a backend-chosen name, e.g. `<input-name>_<stem>` for stems
            stem = slugify_name(str(output.meta["name"]), fallback=job.verb)
        else:
            stem = output_stem(str(params.get("prompt", "")), job.verb, seed,
                               daw_suffix(grid.get("bpm") if grid else None, params.get("key"),
                                          grid.get("bars") if grid else None))
        return _Rendered(fmt, data, sidecar, stem, preview, preview_suffix)

    def _place_one(self, folder: Path, job: Job, index: int, item: _Rendered) -> Path:
        """Names are claimed one output at a time, in order: file i keeps index i's name."""
        tmp_audio = self._tmp_write(folder, f"{item.stem}.{item.fmt}", job.id, item.data)
        try:
            final = self._place(folder, item.stem, item.fmt, job.id, index, tmp_audio, item.sidecar)
        finally:
            tmp_audio.unlink(missing_ok=True)
        if item.preview is not None:
            beside = final.with_suffix(item.preview_suffix)
            os.replace(self._tmp_write(folder, beside.name, job.id, item.preview), beside)
        return final

    def _tmp_write(self, folder: Path, final_name: str, job_id: str, data: bytes | bytearray) -> Path:
        tmp = folder / f".{final_name}{TMP_MARK}{job_id}.tmp"
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            if self.fsync:
                os.fsync(fh.fileno())
        return tmp

    def _place(self, folder: Path, stem: str, fmt: str, job_id: str, index: int,
               tmp_audio: Path, sidecar: dict[str, Any]) -> Path:
        for n in range(1, 10_000):
            name = stem if n == 1 else f"{stem}-{n}"
            final_audio, final_json = folder / f"{name}.{fmt}", folder / f"{name}.json"
            if final_json.exists():
                if not _is_ours(final_json, job_id, index):
                    continue
                # Our own sidecar from an attempt cut short by a crash: finish that attempt.
                payload = _sidecar_bytes(sidecar, final_audio.name)
                os.replace(self._tmp_write(folder, final_json.name, job_id, payload), final_json)
                os.replace(tmp_audio, final_audio)
                return final_audio
            if final_audio.exists():
                continue  # someone else's file without a sidecar: never overwrite it
            # Encoded only for a name that is free (a regen of the same seed tries a few taken ones first).
            tmp_json = self._tmp_write(folder, final_json.name, job_id, _sidecar_bytes(sidecar, final_audio.name))
            if not _link_no_clobber(tmp_json, final_json):
                continue
            os.replace(tmp_audio, final_audio)
            return final_audio
        raise DawgenError(ErrorCode.WRITE_FAILED, f"no free file name for {stem} in {folder}")

    def sweep_temp(self, folders: Iterable[Path], job_id: str = "*") -> int:
        """Remove temporary files a crash left in `folders` (of one job, or all); returns how many."""
        removed = 0
        for folder in folders:
            if not folder.is_dir():
                continue
            for path in folder.glob(f".*{TMP_MARK}{job_id}.tmp"):
                path.unlink(missing_ok=True)
                removed += 1
        return removed


def _sidecar_bytes(sidecar: dict[str, Any], file_name: str) -> bytes:
    sidecar["file"] = file_name
    return json.dumps(sidecar, indent=2, default=str).encode()


def _is_ours(sidecar_path: Path, job_id: str, index: int) -> bool:
    try:
        data = json.loads(sidecar_path.read_text())
    except (OSError, ValueError):
        return False
    return data.get("job_id") == job_id and data.get("index") == index


def _link_no_clobber(src: Path, dst: Path) -> bool:
    """Move src to dst only if dst does not exist; False if it does. Atomic where links exist."""
    try:
        os.link(src, dst)
    except FileExistsError:
        src.unlink(missing_ok=True)
        return False
    except OSError:
        # exFAT/FAT drives (common for sample libraries) have no hard links.
        if dst.exists():
            src.unlink(missing_ok=True)
            return False
        os.replace(src, dst)
        return True
    src.unlink(missing_ok=True)
    return True


# Outputs of one job rendered at once: at most this many threads, and only while their audio totals
# at most this many bytes (float32; 8 × 60 s of 48 kHz stereo is 184 MB).
PARALLEL_RENDERS = 4
PARALLEL_RENDER_BYTES = 256 * 1024 * 1024


@dataclass
class _Rendered:
    fmt: str
    data: bytes | bytearray
    sidecar: dict[str, Any]
    stem: str
    preview: bytes | None
    preview_suffix: str


def _nbytes(output: Output) -> int:
    return int(output.samples.nbytes) if isinstance(output, Audio) else len(output.data)
