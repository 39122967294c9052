"""Provenance: everything needed to know how a file was made and to make it again (`dawgen regen`).

Stored in the sidecar `.json`, in the WAV's iXML chunk and in FLAC Vorbis comments, so it survives
a file being copied without its sidecar.
"""
from __future__ import annotations

import functools
import hashlib
import os
import platform
from collections.abc import Mapping
from importlib import metadata
from typing import Any

from .. import __version__

INPUT_PARAMS = ("input", "input2")  # params that name input files; their contents are hashed


def installed_versions(*dists: str) -> dict[str, str]:
    """{distribution: version} of those installed; one not installed is left out (provenance is
    best effort: a model that runs without a package has nothing to record about it)."""
    versions: dict[str, str] = {}
    for dist in dists:
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return versions


@functools.lru_cache(maxsize=1)
def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version(), "dawgen": __version__,
                **installed_versions("numpy", "scipy", "soundfile", "soxr", "pyloudnorm", "pedalboard", "torch")}
    try:
        import soundfile

        versions["libsndfile"] = soundfile.__libsndfile_version__
    except (ImportError, AttributeError):
        pass
    return versions


@functools.lru_cache(maxsize=256)
def _file_sha256(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_sha256(path: str) -> str:
    """SHA-256 of a file, cached by (path, size, mtime) so a warm model's weights are hashed once."""
    st = os.stat(path)
    return _file_sha256(os.path.abspath(path), st.st_size, st.st_mtime_ns)


def input_hashes(params: Mapping[str, Any]) -> dict[str, str]:
    out = {}
    for key in INPUT_PARAMS:
        value = params.get(key)
        if isinstance(value, str) and os.path.isfile(value):
            out[key] = file_sha256(value)
    return out


def build(job: Any, backend: Any, request: Mapping[str, Any]) -> dict[str, Any]:
    """The provenance of one job (per-file fields such as seed and post-processing are added by the writer)."""
    out = {
        "dawgen": __version__,
        "job_id": job.id,
        "req_id": job.req_id,
        "request": dict(request),
        "verb": job.verb,
        "params": dict(job.params),
        "model": {"name": job.model, "backend": backend.name, "version": backend.version,
                  "device": getattr(backend, "device", "cpu"), **backend.fingerprint()},
        "backend": backend.name,
        "libraries": library_versions(),
        "inputs": input_hashes(job.params),
        "timings": {"created": job.created, "started": job.started, "load_seconds": round(backend.load_seconds, 4)},
    }
    # LoRA adapters of the request (name, sha256, strength) and the prompt their trigger words made
    lora = getattr(backend, "lora_provenance", None)
    if lora is not None:
        out.update(lora(job.params))
    return out
