"""Write a recording into the output root: temporary dot-name, fsync, then a no-clobber rename.

A capture is the DAW's own audio, so it is stored as recorded: no trimming, no loudness change, no
resampling (the generation post-processing chain is for model output). The folder comes from the
engine's OutputWriter (`dir` checks, symlinks out of the root refused); the file is only ever
visible complete, and an existing file is never overwritten.
"""
from __future__ import annotations

import io
import json
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from server.errors import DawgenError, ErrorCode
from server.output.naming import slugify
from server.output.writer import OutputWriter

SUBTYPES = {"16": "PCM_16", "24": "PCM_24", "32f": "FLOAT"}


def encode(samples: np.ndarray, rate: int, fmt: str, bit_depth: str) -> bytes:
    import soundfile as sf

    from server.post import dither_tpdf

    if fmt == "flac" and bit_depth == "32f":
        fmt = "wav"  # flac cannot hold float; a capture must not be refused after it was recorded
    buf = io.BytesIO()
    sf.write(buf, dither_tpdf(samples, bit_depth), rate, subtype=SUBTYPES[bit_depth], format=fmt.upper())
    return buf.getvalue()


def capture_stem(name: str, length: str, when: float) -> str:
    """`capture_4bars-153012`: what it is, how long, and when (sorts by time within a day)."""
    return f"{slugify(name, fallback='capture')}_{length}-{time.strftime('%H%M%S', time.localtime(when))}"


def write_capture(writer: OutputWriter, dir_param: str, stem: str, samples: np.ndarray, rate: int,
                  fmt: str, bit_depth: str, sidecar: Mapping[str, Any]) -> Path:
    """Place `<stem>.<fmt>` (and `<stem>.json`) under the output root; returns the audio path."""
    folder = writer.target_dir({"dir": dir_param}, time.time())
    folder.mkdir(parents=True, exist_ok=True)
    writer.check_inside(folder)  # a symlink could have appeared while recording
    data = encode(samples, rate, fmt, bit_depth)
    fmt = "wav" if fmt == "flac" and bit_depth == "32f" else fmt
    tmp = _tmp_write(folder / f".{stem}.{fmt}.dawgen-capture-{os.getpid()}.tmp", data)
    try:
        for n in range(1, 1000):
            name = stem if n == 1 else f"{stem}-{n}"
            final = folder / f"{name}.{fmt}"
            if _link_no_clobber(tmp, final):
                meta = dict(sidecar, file=final.name, frames=int(samples.shape[0]), sample_rate=rate,
                            channels=int(samples.shape[1]), bit_depth=bit_depth, file_format=fmt, written_at=time.time())
                payload = json.dumps(meta, indent=2, default=str).encode()
                os.replace(_tmp_write(folder / f".{name}.json.dawgen-capture-{os.getpid()}.tmp", payload),
                           folder / f"{name}.json")
                return final
    finally:
        tmp.unlink(missing_ok=True)
    raise DawgenError(ErrorCode.WRITE_FAILED, f"no free file name for {stem} in {folder}")


def _tmp_write(path: Path, data: bytes) -> Path:
    with open(path, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    return path


def _link_no_clobber(src: Path, dst: Path) -> bool:
    """Give src the name dst unless dst exists; atomic where hard links exist."""
    try:
        os.link(src, dst)
        return True
    except FileExistsError:
        return False
    except OSError:  # exFAT/FAT drives have no hard links
        if dst.exists():
            return False
        os.replace(src, dst)
        return True
