"""Offline packs: a model folder and every file it reads, in one tar with their sha256, for a studio
without the network (`dawgen pack export NAME FILE`, `dawgen pack import FILE`).

A pack holds `dawgen-pack.json` (first), then `NAME/dawgen-model.toml` with every path relative to
the folder, then the files: those inside the model folder where they are, and those it points at
elsewhere (a pulled model's huggingface_hub snapshot, Stable Audio's T5) under `NAME/<option>/`,
e.g. `NAME/path/model.safetensors`, `NAME/t5_path/config.json`. The manifest lists every file with
its size and sha256. Import refuses a pack before writing anything when a member is absolute, has
`..`, is a link, a device or not listed; it unpacks into a hidden staging folder of the models dir,
checking each file's sha256 as it streams, writes the entry with absolute paths of where the files
now are, and renames the folder into place: the registry's next scan serves `model=NAME`.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tarfile
import time
import uuid
from pathlib import Path
from typing import IO, Any

from ..errors import DawgenError, ErrorCode
from ..model_folders import MODEL_FILE, PATH_KEYS, read
from . import NAME
from .install import RECORD, _atomic, _key, _str

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

MANIFEST = "dawgen-pack.json"
FORMAT = "dawgen-pack/1"
CHUNK = 1 << 20
SKIP = (".part", ".tmp", ".incomplete")  # half-written files are never packed


def _bad(message: str) -> DawgenError:
    return DawgenError(ErrorCode.BAD_REQUEST, message)


# -- export ---------------------------------------------------------------------------------------
def export(models_dir: Path, name: str, file: Path) -> dict[str, Any]:
    """Write the pack of model folder `models_dir/name` to `file`; returns its manifest."""
    folder = models_dir / name
    if not (folder / MODEL_FILE).is_file():
        raise DawgenError(ErrorCode.UNKNOWN_MODEL, f"{folder} holds no {MODEL_FILE}: `dawgen pull --list` and "
                                                   "`dawgen models` show what is installed")
    model = read(folder)
    options, members = dict(model.config.options), _own_files(folder)
    for key in PATH_KEYS:
        if isinstance(options.get(key), str) and options[key]:
            options[key], outside = _place(folder, key, Path(options[key]), models_dir)
            members += outside
    toml = _entry_text(model.config.name, model.config.backend, options, f"packed by `dawgen pack export {name}`")
    files = [{"path": rel, **_digest(src)} for rel, src in members]
    toml_bytes = toml.encode()
    files.insert(0, {"path": MODEL_FILE, "size": len(toml_bytes), "sha256": hashlib.sha256(toml_bytes).hexdigest()})
    manifest = {"format": FORMAT, "name": model.config.name, "backend": model.config.backend,
                "made": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "files": files, "pulled": _record(folder, options)}
    _write_tar(file, model.config.name, manifest, toml_bytes, members)
    return manifest


def _own_files(folder: Path) -> list[tuple[str, Path]]:
    """(path in the pack below NAME/, file) of every finished file in the model folder but its entry."""
    out = []
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if path.is_file() and rel not in (MODEL_FILE, RECORD) and not path.name.endswith(SKIP) \
                and not path.name.startswith("."):
            out.append((rel, path))
    return out


def _place(folder: Path, key: str, target: Path, models_dir: Path) -> tuple[str, list[tuple[str, Path]]]:
    """Where option `key`'s target goes in the pack (relative to NAME/) and the files it adds."""
    target = target.expanduser()
    inside = os.path.abspath(target)
    if os.path.commonpath([inside, os.path.abspath(folder)]) == os.path.abspath(folder):
        return Path(os.path.relpath(inside, folder)).as_posix(), []  # already packed with the folder
    if target.is_file():
        return f"{key}/{target.name}", [(f"{key}/{target.name}", target)]
    if not target.is_dir():
        raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, f"{key} = {str(target)!r} does not exist: nothing to pack")
    listed = _pulled_files(models_dir, target)
    files = [target / n for n in listed] if listed else [p for p in sorted(target.rglob("*")) if p.is_file()]
    return key, [(f"{key}/{p.relative_to(target).as_posix()}", p) for p in files]


def _pulled_files(models_dir: Path, source: Path) -> list[str]:
    """The files `pull` fetched into `source` (a snapshot may hold more of the repo, from other tools)."""
    for record_file in sorted(models_dir.glob(f"*/{RECORD}")):
        try:
            record = json.loads(record_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if record.get("source") == str(source):
            return [f["name"] for f in record.get("files", [])]
    return []


def _record(folder: Path, options: dict[str, Any]) -> dict[str, Any] | None:
    """pulled.json of a pulled model, its `source` relative to the folder (as `path` is)."""
    try:
        record = json.loads((folder / RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return {**record, "source": options.get("path", ".")}


def _digest(path: Path) -> dict[str, Any]:
    sha, size = hashlib.sha256(), 0
    with open(path, "rb") as f:
        while block := f.read(CHUNK):
            sha.update(block)
            size += len(block)
    return {"size": size, "sha256": sha.hexdigest()}


def _write_tar(file: Path, name: str, manifest: dict[str, Any], toml: bytes, members: list[tuple[str, Path]]) -> None:
    tmp = file.with_name(f".{file.name}.tmp")
    with tarfile.open(tmp, "w") as tar:
        _add_bytes(tar, MANIFEST, json.dumps(manifest, indent=2).encode())
        _add_bytes(tar, f"{name}/{MODEL_FILE}", toml)
        for rel, src in members:
            info = tarfile.TarInfo(f"{name}/{rel}")
            info.size, info.mtime, info.mode = src.stat().st_size, int(src.stat().st_mtime), 0o644
            with open(src, "rb") as f:  # the content, through a snapshot's link: never the link
                tar.addfile(info, f)
    os.replace(tmp, file)


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    import io

    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), int(time.time()), 0o644
    tar.addfile(info, io.BytesIO(data))


def _entry_text(name: str, backend: str, options: dict[str, Any], comment: str) -> str:
    lines = [f"# {comment}", f"[models.{_key(name)}]", f"backend = {_str(backend)}"]
    lines += [f"{key} = {_toml_value(value)}" for key, value in options.items()]
    return "\n".join(lines) + "\n"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, list)):
        return json.dumps(value)  # numbers and arrays of strings / numbers are the same in TOML
    return _str(str(value))


# -- import ---------------------------------------------------------------------------------------
def import_pack(file: Path, models_dir: Path) -> Path:
    """Verify and unpack `file` into `models_dir/NAME`; returns the model folder."""
    try:
        with tarfile.open(file, "r:*") as tar:
            manifest = _manifest(tar)
            name = manifest["name"]
            expected = _expected(manifest)
            members = _checked_members(tar, name, expected)
            target = models_dir / name
            if target.exists():
                raise _bad(f"{target} exists: remove it (or import into another models folder) first")
            models_dir.mkdir(parents=True, exist_ok=True)
            staging = models_dir / f".{name}.import-{uuid.uuid4().hex[:8]}"
            try:
                for member in members:
                    _unpack(tar, member, staging / member.name[len(name) + 1:], expected[member.name[len(name) + 1:]])
                _finish(staging, target, manifest, file)
                os.rename(staging, target)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
    except (tarfile.TarError, OSError) as exc:
        raise _bad(f"{file}: not a readable pack ({exc})") from None
    return target


def _manifest(tar: tarfile.TarFile) -> dict[str, Any]:
    first = tar.next()
    if first is None or first.name != MANIFEST or not first.isfile() or first.size > 64 << 20:
        raise _bad(f"not a dawgen pack: its first member must be {MANIFEST}")
    stream = tar.extractfile(first)
    try:
        manifest = json.loads(stream.read() if stream is not None else b"")
    except ValueError as exc:
        raise _bad(f"{MANIFEST} does not parse: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise _bad(f"{MANIFEST}: not a {FORMAT} manifest")
    if not isinstance(manifest.get("name"), str) or not NAME.match(manifest["name"]) or len(manifest["name"]) > 64:
        raise _bad(f"{MANIFEST}: bad model name {manifest.get('name')!r}")
    return manifest


def _expected(manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for item in manifest.get("files") or []:
        if not isinstance(item, dict) or not _safe(str(item.get("path", ""))) \
                or not isinstance(item.get("size"), int) or not isinstance(item.get("sha256"), str):
            raise _bad(f"{MANIFEST}: bad file entry {item!r}")
        out[item["path"]] = item
    if MODEL_FILE not in out:
        raise _bad(f"{MANIFEST}: the pack has no {MODEL_FILE}")
    return out


def _safe(rel: str) -> bool:
    """A relative path that stays where it is put: not absolute, no drive, backslash, `..` or `.`."""
    if not rel or "\\" in rel or rel.startswith("/"):
        return False
    parts = rel.split("/")
    return ":" not in parts[0] and all(part not in ("", ".", "..") for part in parts)


def _checked_members(tar: tarfile.TarFile, name: str, expected: dict[str, dict[str, Any]]) -> list[tarfile.TarInfo]:
    """Every member after the manifest, refused (before anything is written) unless it is a plain
    file listed in the manifest, or a folder, below NAME/."""
    files, seen = [], set()
    for member in tar.getmembers()[1:]:  # the manifest is the first
        rel = member.name[len(name) + 1:] if member.name.startswith(f"{name}/") else ""
        if not _safe(member.name) or not rel or not _safe(rel):
            raise _bad(f"member {member.name!r} would land outside the model folder {name}/: refused")
        if member.isdir():
            continue
        if not member.isfile():
            raise _bad(f"member {member.name!r} is a link or a special file: refused")
        if rel not in expected or rel in seen:
            raise _bad(f"member {member.name!r} is not listed in {MANIFEST} (or comes twice): refused")
        seen.add(rel)
        files.append(member)
    missing = sorted(set(expected) - seen)
    if missing:
        raise _bad(f"the pack lacks {', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''}")
    return files


def _unpack(tar: tarfile.TarFile, member: tarfile.TarInfo, dest: Path, want: dict[str, Any]) -> None:
    stream: IO[bytes] | None = tar.extractfile(member)
    if stream is None:
        raise _bad(f"member {member.name!r} cannot be read")
    dest.parent.mkdir(parents=True, exist_ok=True)
    sha, size = hashlib.sha256(), 0
    with open(dest, "xb") as out:
        while block := stream.read(CHUNK):
            sha.update(block)
            size += len(block)
            out.write(block)
    if size != want["size"] or sha.hexdigest() != want["sha256"]:
        raise DawgenError(ErrorCode.DOWNLOAD_FAILED, f"{member.name}: sha256 {sha.hexdigest()} ({size} bytes) is not "
                                                     f"the manifest's {want['sha256']} ({want['size']} bytes): the pack "
                                                     "was changed or damaged; nothing was imported")


def _finish(staging: Path, target: Path, manifest: dict[str, Any], file: Path) -> None:
    """The entry with absolute paths of where the files will be, pulled.json, and a check that it reads."""
    text = (staging / MODEL_FILE).read_text(encoding="utf-8")
    try:
        ((name, entry),) = tomllib.loads(text)["models"].items()
        options = {k: v for k, v in entry.items() if k != "backend"}
        backend = str(entry["backend"])
    except (tomllib.TOMLDecodeError, KeyError, ValueError, AttributeError) as exc:
        raise _bad(f"{MODEL_FILE} in the pack does not read as one [models.NAME] entry ({exc})") from None
    if name != manifest["name"]:
        raise _bad(f"{MODEL_FILE} names {name!r}, the manifest {manifest['name']!r}")
    for key in PATH_KEYS:
        if isinstance(options.get(key), str) and options[key]:
            if not _safe(options[key]) and options[key] != ".":
                raise _bad(f"{MODEL_FILE}: {key} = {options[key]!r} must be a path inside the pack")
            options[key] = str(target / options[key]) if options[key] != "." else str(target)
    _atomic(staging / MODEL_FILE, _entry_text(name, backend, options, f"imported by `dawgen pack import` from {file.name}"))
    if isinstance(manifest.get("pulled"), dict):
        source = str(manifest["pulled"].get("source") or ".")
        record = {**manifest["pulled"], "source": str(target / source) if _safe(source) else str(target),
                  "imported_from": file.name}
        _atomic(staging / RECORD, json.dumps(record, indent=2) + "\n")
    read(staging)  # a model folder the registry can read
