"""`dawgen pull NAME`, `dawgen pull --list` and `dawgen login`: the terminal side of server/catalog.

The work (huggingface_hub downloads, sha256 checks, the model folder) lives in server/catalog; this
module prints: a bar per file on a terminal, the catalog table, and errors a producer can act on.
A token is never printed (and `dawgen login` reads it without echo).
"""
from __future__ import annotations

import getpass
import sys
from pathlib import Path
from typing import TextIO

from server.catalog import Entry, load
from server.catalog.install import Options, describe, pull
from server.config import Config
from server.errors import DawgenError, ErrorCode

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


def run_pull(config: Config, name: str, *, to: str | None = None, revision: str | None = None,
             catalog_path: str | None = None, cache_dir: str | None = None, err: TextIO | None = None) -> int:
    err = err or sys.stderr
    catalog = load(catalog_path)
    models_dir = Path(to).expanduser() if to else config.models_dir
    entry = catalog.get(name)  # unknown_model: main() prints it (exit 2)
    show = err.isatty()

    def on_file(e: Entry, file: str, index: int, count: int) -> None:
        if not show:  # pipes and logs get one line per file; a terminal gets huggingface_hub's bars
            print(f"{e.name}: {file} ({index + 1}/{count})", file=err, flush=True)

    options = Options(models_dir=models_dir, cache_dir=Path(cache_dir).expanduser() if cache_dir else None,
                      revision=revision, show_bars=show, on_file=on_file)
    try:
        pulled = pull(catalog, name, options)
    except DawgenError as exc:
        print(f"dawgen pull: {exc.code}: {exc.message}", file=err)
        return EXIT_USAGE if exc.code in (ErrorCode.UNKNOWN_MODEL, ErrorCode.BAD_REQUEST) else EXIT_ERROR
    for item in pulled:
        size = sum(f.size for f in item.files)
        print(f"{item.entry.name}: {len(item.files)} file(s), {_size(size)}, sha256 verified, in {item.source}", file=err)
    print(f"model={entry.name} is ready ({entry.licence}: {entry.licence_url})", file=err)
    if models_dir.resolve() != config.models_dir.resolve():
        print(f"note: {models_dir} is not [training] models_dir ({config.models_dir}); the daemon reads "
              f"{models_dir / entry.name / 'dawgen-model.toml'} only if models_dir points there", file=err)
    print(models_dir / entry.name)
    return EXIT_OK


def run_list(config: Config, *, to: str | None = None, catalog_path: str | None = None, as_json: bool = False,
             out: TextIO | None = None) -> int:
    out = out or sys.stdout
    catalog = load(catalog_path)
    models_dir = Path(to).expanduser() if to else config.models_dir
    rows = describe(catalog, models_dir)
    if as_json:
        import json

        print(json.dumps(rows, indent=2), file=out)
        return EXIT_OK
    for row in rows:
        mark = "installed" if row["installed"] else "-"
        gated = ", gated" if row["gated"] else ""
        needs = f", needs {', '.join(row['needs'])}" if row["needs"] else ""
        print(f"{row['name']:24} {mark:9} {row['backend'] or '(dependency)':12} ~{row['download_gb']:g} GB, "
              f"~{row['memory_gb']:g} GB memory{needs}  {row['licence']}{gated}", file=out)
    print(f"\nmodels folder: {models_dir}   get one: dawgen pull NAME", file=out)
    return EXIT_OK


def run_login(err: TextIO | None = None) -> int:
    """huggingface_hub's login with a token read without echo (HF_TOKEN, if set, wins over it)."""
    err = err or sys.stderr
    from huggingface_hub import constants, login

    print("Paste a Hugging Face token (https://huggingface.co/settings/tokens, read access); it is not shown.",
          file=err)
    token = getpass.getpass("token: ").strip()
    if not token:
        print("dawgen login: no token given", file=err)
        return EXIT_USAGE
    from huggingface_hub.errors import HfHubHTTPError

    try:
        login(token=token, add_to_git_credential=False)
    except (HfHubHTTPError, OSError, ValueError) as exc:  # an invalid token, no network: names no token
        print(f"dawgen login: {type(exc).__name__}: the token was not saved", file=err)
        return EXIT_ERROR
    print(f"saved in {constants.HF_TOKEN_PATH}", file=err)
    return EXIT_OK


def _size(n: int) -> str:
    return f"{n / 1e9:.2f} GB" if n >= 1e8 else f"{n / 1e6:.1f} MB"
