"""`pull`: a catalog model and what it needs, fetched, verified and registered as a model folder.

A pulled model arrives as trained ones do: `<models_dir>/<name>/dawgen-model.toml` (server/
model_folders.py), its paths pointing into huggingface_hub's cache snapshot (or at the files in
the folder, for demucs' own), so the registry's next rescan serves `model=NAME`. `pulled.json`
beside it records the repo, revision, commit and every file's sha256 (`dawgen pull --list` reads it;
a dependency such as t5-base has only that file: no model of its own).
"""
from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import DawgenError, ErrorCode
from ..model_folders import MODEL_FILE
from . import Catalog, Entry
from .fetch import Fetched, Hook, Missing, SizeHook, fetch_hf, fetch_url

RECORD = "pulled.json"
FileStart = Callable[[Entry, str, int, int], None]  # (entry, file name, index, count)


@dataclass
class Pulled:
    entry: Entry
    folder: Path  # <models_dir>/<name>
    source: Path  # the folder the backend reads (a snapshot, or `folder` itself)
    files: list[Fetched] = field(default_factory=list)
    commit: str = ""


@dataclass
class Options:
    models_dir: Path
    cache_dir: Path | None = None  # None: huggingface_hub's own (HF_HUB_CACHE / HF_HOME)
    revision: str | None = None  # for the named model only; dependencies keep the catalog's
    token: str | None = None  # None: huggingface_hub finds HF_TOKEN or its token file
    show_bars: bool = False
    on_file: FileStart | None = None
    on_bytes: Hook | None = None
    on_size: SizeHook | None = None  # a file's download starts (not called for a file already in the cache)


def pull(catalog: Catalog, name: str, options: Options) -> list[Pulled]:
    """Fetch `name` (dependencies first) and write its model folder; the entries pulled, in order."""
    check_target(catalog, name, options.models_dir)
    done: dict[str, Pulled] = {}
    for entry in catalog.order(name):
        revision = options.revision if entry.name == name and options.revision else entry.revision
        pulled = _pull_one(entry, revision, options)
        done[entry.name] = pulled
        _write(pulled, revision, {opt: str(done[dep].source) for dep, opt in entry.needs.items()})
    return list(done.values())


def check_target(catalog: Catalog, name: str, models_dir: Path) -> None:
    """bad_request when a model folder `pull` did not make (a training run, a pack) would be overwritten."""
    for entry in catalog.order(name):
        folder = models_dir / entry.name
        if (folder / MODEL_FILE).exists() and not (folder / RECORD).exists():
            raise DawgenError(ErrorCode.BAD_REQUEST, f"{folder} holds a model `pull` did not make (a trained or "
                                                     f"imported model named {entry.name!r}); not overwriting it")


def _pull_one(entry: Entry, revision: str, options: Options) -> Pulled:
    folder = options.models_dir / entry.name
    pulled = Pulled(entry, folder, folder)
    for index, file in enumerate(entry.files):
        if options.on_file is not None:
            options.on_file(entry, file.name, index, len(entry.files))
        try:
            if entry.source == "url":
                got = fetch_url(entry, file, folder, hook=options.on_bytes, show=options.show_bars,
                                on_size=options.on_size)
            else:
                got = _hf(entry, file, revision, options)
        except Missing:
            if file.optional:
                continue
            raise DawgenError(ErrorCode.DOWNLOAD_FAILED, f"{entry.name}: {entry.repo or entry.base_url} has no file "
                                                         f"{file.name!r} at revision {revision!r}") from None
        pulled.files.append(got)
    if entry.source == "hf" and pulled.files:
        pulled.source = pulled.files[0].path.parent  # .../snapshots/<commit>/
        pulled.commit = pulled.source.name
    return pulled


def _hf(entry: Entry, file: Any, revision: str, options: Options) -> Fetched:
    from huggingface_hub.errors import GatedRepoError, HfHubHTTPError, LocalEntryNotFoundError, RepositoryNotFoundError

    try:
        return fetch_hf(entry, file, revision, cache_dir=options.cache_dir, token=options.token,
                        hook=options.on_bytes, show=options.show_bars, on_size=options.on_size)
    except GatedRepoError:
        raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, gated_message(entry, options.token)) from None
    except RepositoryNotFoundError as exc:
        status = exc.response.status_code if exc.response is not None else 0
        if entry.gated or status in (401, 403):
            raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, gated_message(entry, options.token)) from None
        raise DawgenError(ErrorCode.DOWNLOAD_FAILED, f"{entry.name}: no repo {entry.repo!r} on the hub") from None
    except LocalEntryNotFoundError:
        raise DawgenError(ErrorCode.DOWNLOAD_FAILED, f"{entry.name}: cannot reach the hub for {file.name} "
                                                     "(offline? HF_HUB_OFFLINE set?); run the pull again when online") from None
    except HfHubHTTPError as exc:
        status = exc.response.status_code if exc.response is not None else 0
        if status in (401, 403):
            raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, gated_message(entry, options.token)) from None
        raise DawgenError(ErrorCode.DOWNLOAD_FAILED, f"{entry.name}: {file.name}: the hub answered {status}") from None
    except OSError as exc:  # a size that does not match, a full disk
        raise DawgenError(ErrorCode.DOWNLOAD_FAILED, f"{entry.name}: {file.name}: {exc}") from None


def has_token(token: str | None = None) -> bool:
    """Whether a token would be sent (never what it is)."""
    if token:
        return True
    from huggingface_hub import get_token

    return get_token() is not None


def gated_message(entry: Entry, token: str | None = None) -> str:
    """What to do about a gated repo: accept the licence, then give the token. Names no token."""
    from huggingface_hub import constants

    how = (f"give dawgen a Hugging Face token: set HF_TOKEN, or run `dawgen login` (it saves the token in "
           f"huggingface_hub's token file, {constants.HF_TOKEN_PATH}, which `hf auth login` also writes)")
    if has_token(token):
        return (f"{entry.name} is gated ({entry.licence}) and the token in use has not been granted access: "
                f"open {entry.page}, log in as the token's owner and accept the licence, then run the pull again "
                f"(or {how} of an account that has)")
    return (f"{entry.name} is gated ({entry.licence}): open {entry.page}, log in and accept the licence, "
            f"then {how}, and run the pull again")


def _write(pulled: Pulled, revision: str, deps: dict[str, str]) -> None:
    entry = pulled.entry
    pulled.folder.mkdir(parents=True, exist_ok=True)
    if entry.bag:
        _atomic(pulled.folder / f"{entry.name}.yaml", entry.bag)
    record = {"name": entry.name, "repo": entry.repo or entry.base_url, "revision": revision, "commit": pulled.commit,
              "source": str(pulled.source),
              "files": [{"name": f.file.name, "size": f.size, "sha256": f.sha256} for f in pulled.files]}
    _atomic(pulled.folder / RECORD, json.dumps(record, indent=2) + "\n")
    if entry.backend is None:
        return
    lines = [f"# written by `dawgen pull {entry.name}`: {entry.repo or entry.base_url} at {pulled.commit or revision}",
             f"# licence: {entry.licence} ({entry.licence_url})", f"[models.{_key(entry.name)}]",
             f"backend = {_str(entry.backend)}", f"path = {_str(str(pulled.source))}"]
    lines += [f"{key} = {_value(value)}" for key, value in {**entry.options, **deps}.items()]
    _atomic(pulled.folder / MODEL_FILE, "\n".join(lines) + "\n")


def _key(name: str) -> str:
    return name if all(c.isalnum() or c in "-_" for c in name) else _str(name)


def _str(text: str) -> str:
    return json.dumps(text)  # a JSON string is a TOML basic string


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return _str(str(value))


def _atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def installed(catalog: Catalog, models_dir: Path) -> dict[str, dict[str, Any]]:
    """Catalog name -> its pulled.json, for the entries pulled into `models_dir`."""
    found = {}
    for name in catalog.names():
        try:
            found[name] = json.loads((models_dir / name / RECORD).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
    return found


def describe(catalog: Catalog, models_dir: Path) -> list[dict[str, Any]]:
    """Every catalog entry with whether it is pulled into `models_dir` (`dawgen pull --list`, `/dawgen/catalog`)."""
    have = installed(catalog, models_dir)
    return [_row(catalog.entries[name], name in have) for name in catalog.names()]


def _row(entry: Entry, installed_: bool) -> dict[str, Any]:
    return {"name": entry.name, "backend": entry.backend, "installed": installed_,
            "repo": entry.repo or entry.base_url, "revision": entry.revision, "description": entry.description,
            "download_gb": entry.download_gb, "memory_gb": entry.memory_gb, "bytes": entry.known_bytes,
            "needs": list(entry.needs), "licence": entry.licence, "licence_url": entry.licence_url,
            "gated": entry.gated, "page": entry.page}
