"""Fetching one catalog file and proving it is the right one.

Hugging Face files go through huggingface_hub's `hf_hub_download` (its cache layout, shared with
every other tool; it retries a cut connection with a Range request from where it stopped). Plain
HTTPS files (demucs' own) are fetched here the same way: into `<name>.part`, resumed with Range.

Every file is then hashed: against the catalog's sha256 (or its prefix) when it has one, else
against the hub's ETag, which is the sha256 of an LFS file and the git blob sha1 of a small one. A
file that does not match is removed (the cache blob and its snapshot link) and never registered.
"""
from __future__ import annotations

import hashlib
import os
import re
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from ..errors import DawgenError, ErrorCode
from . import CatalogFile, Entry

Hook = Callable[[int], None]  # bytes just received (negative when a download restarts); may raise JobCancelled
SizeHook = Callable[[int | None, int], None]  # a file's download starts: (its size if known, bytes already there)
SHA256 = re.compile(r"^[0-9a-f]{64}$")
SHA1 = re.compile(r"^[0-9a-f]{40}$")
CHUNK = 1 << 20
RETRIES = 5


@dataclass(frozen=True)
class Fetched:
    file: CatalogFile
    path: Path  # where the backend reads it (a cache snapshot link, or the file itself)
    sha256: str
    size: int


class Missing(Exception):
    """The repo has no such file (an optional file is skipped)."""


def bar_class(hook: Hook | None, show: bool, on_size: SizeHook | None = None) -> type[tqdm]:
    """A tqdm class for one file's bar: drawn when `show`, telling `on_size` the file's size when the
    download starts and reporting every chunk to `hook`."""
    class Bar(tqdm):  # type: ignore[misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs.pop("name", None)
            kwargs["disable"] = not show
            super().__init__(*args, **kwargs)
            if on_size is not None:
                total, initial = kwargs.get("total"), int(kwargs.get("initial") or 0)
                on_size(int(total) if total is not None else None, initial)

        def update(self, n: float | None = 1) -> bool | None:
            if hook is not None and n:
                hook(int(n))
            return super().update(n)
    return Bar


def digests(path: Path) -> tuple[str, str, int]:
    """(sha256, git blob sha1, size) of a file, read once."""
    size = path.stat().st_size
    sha256, sha1 = hashlib.sha256(), hashlib.sha1(f"blob {size}\0".encode())
    with open(path, "rb") as f:
        while block := f.read(CHUNK):
            sha256.update(block)
            sha1.update(block)
    return sha256.hexdigest(), sha1.hexdigest(), size


def verify(path: Path, file: CatalogFile, etag: str | None) -> tuple[str, int]:
    """(sha256, size) of `path` when it is the file the catalog (or the hub) promises; else download_failed."""
    sha256, sha1, size = digests(path)
    if file.size is not None and size != file.size:
        raise _bad(file, f"has {size} bytes, the catalog says {file.size}")
    if file.sha256 is not None:
        if not sha256.startswith(file.sha256):
            raise _bad(file, f"sha256 {sha256} is not the catalog's {file.sha256}")
    elif etag is not None and SHA256.match(etag):
        if sha256 != etag:
            raise _bad(file, f"sha256 {sha256} is not the hub's {etag}")
    elif etag is not None and SHA1.match(etag):
        if sha1 != etag:
            raise _bad(file, f"git sha1 {sha1} is not the hub's {etag}")
    else:
        raise _bad(file, "has no sha256 in the catalog and the server gave no ETag to check it against")
    return sha256, size


def _bad(file: CatalogFile, why: str) -> DawgenError:
    return DawgenError(ErrorCode.DOWNLOAD_FAILED, f"{file.name} {why}: the file was removed; run the pull again")


# -- Hugging Face ---------------------------------------------------------------------------------
def fetch_hf(entry: Entry, file: CatalogFile, revision: str, *, cache_dir: Path | None, token: str | None,
             hook: Hook | None, show: bool, on_size: SizeHook | None = None) -> Fetched:
    """One file of a hub repo into huggingface_hub's cache, verified."""
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError, LocalEntryNotFoundError

    try:
        with _online():
            link = Path(hf_hub_download(entry.repo, file.name, revision=revision, cache_dir=cache_dir, token=token,
                                        endpoint=os.environ.get("HF_ENDPOINT") or None,
                                        tqdm_class=bar_class(hook, show, on_size)))
    except LocalEntryNotFoundError:  # (an EntryNotFoundError too): the hub was not reached, not a missing file
        raise
    except EntryNotFoundError:
        raise Missing(file.name) from None
    blob = link.resolve()
    etag = blob.name if blob != link else None  # the cache names a blob by its ETag
    try:
        sha256, size = verify(link, file, etag)
    except DawgenError:
        for bad in {link, blob}:
            bad.unlink(missing_ok=True)
        raise
    return Fetched(file, link, sha256, size)


@contextmanager
def _online() -> Iterator[None]:
    """huggingface_hub as the user's environment has it, for the download. A model process that
    loaded a model has put this process offline (backends/torch_util.offline: a hub lookup while
    loading would hang), and huggingface_hub reads HF_HUB_OFFLINE once, at its import: a `pull` job
    on the same lane would otherwise not reach the hub at all. A pull runs alone on its lane, and
    the switch is set back after it."""
    from huggingface_hub import constants

    from ..backends.torch_util import user_offline

    saved = constants.HF_HUB_OFFLINE
    constants.HF_HUB_OFFLINE = user_offline()
    try:
        yield
    finally:
        constants.HF_HUB_OFFLINE = saved


# -- plain HTTPS ----------------------------------------------------------------------------------
def fetch_url(entry: Entry, file: CatalogFile, folder: Path, *, hook: Hook | None, show: bool,
              on_size: SizeHook | None = None) -> Fetched:
    """One file from `entry.base_url` into `folder`, resumed from `<name>.part`, verified."""
    target = folder / file.name
    if target.is_file():
        try:
            sha256, size = verify(target, file, None)
            return Fetched(file, target, sha256, size)
        except DawgenError:
            target.unlink()
    part = target.with_name(target.name + ".part")
    folder.mkdir(parents=True, exist_ok=True)
    url = entry.base_url.rstrip("/") + "/" + file.name
    with bar_class(hook, show, on_size)(desc=file.name, total=file.size, initial=0, unit="B", unit_scale=True) as bar:
        for attempt in range(RETRIES + 1):
            try:
                _get(url, part, bar)
                break
            except (urllib.error.URLError, OSError) as exc:
                if isinstance(exc, urllib.error.HTTPError) and exc.code == 404:
                    raise Missing(file.name) from None
                if attempt == RETRIES:
                    raise DawgenError(ErrorCode.DOWNLOAD_FAILED, f"{url}: {exc} (run the pull again: it resumes)") from None
    try:
        sha256, size = verify(part, file, None)
    except DawgenError:
        part.unlink(missing_ok=True)
        raise
    part.replace(target)
    return Fetched(file, target, sha256, size)


def _get(url: str, part: Path, bar: tqdm) -> None:
    have = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    with urllib.request.urlopen(request, timeout=30) as response:
        if have and response.status != 206:  # the server sent the whole file again
            part.unlink()
            bar.update(-bar.n)
            have = 0
        elif have and bar.n == 0:
            bar.update(have)
        expected = int(response.headers.get("Content-Length") or -1)
        got = 0
        with open(part, "ab") as out:
            while block := response.read(CHUNK):
                out.write(block)
                got += len(block)
                bar.update(len(block))
    if 0 <= got < expected:
        raise OSError(f"connection cut after {got} of {expected} bytes")
