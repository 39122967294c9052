"""`dawgen pack export NAME FILE` and `dawgen pack import FILE`: offline packs of a model (the work is
server/catalog/pack.py; this module parses and prints)."""
from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from server.config import Config
from server.errors import DawgenError, ErrorCode

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


def add_parser(sub: argparse._SubParsersAction, config_flags: Callable[[argparse.ArgumentParser], None]) -> None:
    s = sub.add_parser("pack", help="offline packs: a model and its files in one verified tar")
    pack = s.add_subparsers(dest="pack_command", required=True)
    e = pack.add_parser("export", help="write model NAME (its files, their sha256, its entry) to FILE")
    e.add_argument("name", help="a model folder of [training] models_dir (pulled, trained or imported)")
    e.add_argument("file", help="the pack to write, e.g. NAME.dawgen.tar")
    i = pack.add_parser("import", help="verify FILE and register its model in the models folder")
    i.add_argument("file", help="a pack made by `dawgen pack export`")
    for p in (e, i):
        p.add_argument("--to", default=None, help="models folder (default: [training] models_dir)")
        config_flags(p)
        p.set_defaults(log_level="warning")


def run(config: Config, args: argparse.Namespace, err: TextIO | None = None) -> int:
    from server.catalog.pack import export, import_pack

    err = err or sys.stderr
    models_dir = Path(args.to).expanduser() if args.to else config.models_dir
    try:
        if args.pack_command == "export":
            manifest = export(models_dir, args.name, Path(args.file).expanduser())
            size = sum(f["size"] for f in manifest["files"])
            print(f"{manifest['name']}: {len(manifest['files'])} file(s), {size / 1e6:.1f} MB, with their sha256",
                  file=err)
            print(Path(args.file).expanduser().resolve())
            return EXIT_OK
        folder = import_pack(Path(args.file).expanduser(), models_dir)
    except DawgenError as exc:
        print(f"dawgen pack {args.pack_command}: {exc.code}: {exc.message}", file=err)
        return EXIT_USAGE if exc.code in (ErrorCode.UNKNOWN_MODEL,) else EXIT_ERROR
    print(f"{folder.name}: every file's sha256 verified; model={folder.name} is ready", file=err)
    print(folder)
    return EXIT_OK
