"""`dawgen train-midi`: the offline trainer's arguments (server/backends/midi/train.py) plus the
front of the daemon's train job. With `--out`, it trains offline into a weights folder (remaking
the shipped weights from the corpora, or your own MIDI with `--data`); with `--name`, it submits
`train kind=midi-drums|midi-melody data=FOLDER name=NAME` to the running daemon and shows the
job's progress as `dawgen send --wait` does: the model is then `model=NAME`, with checkpoints,
cancel, resume and crash recovery like any train job (docs/TRAINING.md#midi-models)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

# offline options with no meaning for a daemon run (it counts optimizer steps, not epochs)
OFFLINE_ONLY = ("epochs", "max_minutes", "workers", "max_files", "threads")
DAEMON_PARTS = ("drums", "melody")


def add_daemon_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("through the daemon (your MIDI as a model=NAME; needs `dawgen serve` running)")
    g.add_argument("--name", default=None,
                   help="submit `train kind=midi-PART` to the daemon instead of writing --out: the model's name")
    g.add_argument("--steps", type=int, default=None, help="optimizer steps (daemon default 1000)")
    g.add_argument("--base", default=None,
                   help="the midi model to start from (default the built-in `midi`; `none`: fresh weights)")
    g.add_argument("--batch-size", type=int, default=None, help="examples per step (daemon default 4)")
    g.add_argument("--learning-rate", type=float, default=None, help="default 0.001")
    g.add_argument("--save-every", type=int, default=None, help="steps between checkpoints (default 250)")
    g.add_argument("--resume", action="store_true", help="continue the stopped run NAME")
    g.add_argument("--overwrite", action="store_true", help="start over: delete the run NAME first")
    g.add_argument("--host", default="127.0.0.1")
    g.add_argument("--port", type=int, default=9950)
    g.add_argument("--timeout", type=float, default=24 * 3600.0, help="seconds to wait for the run (default a day)")


def parse(argv: list[str]) -> tuple[argparse.ArgumentParser, argparse.Namespace]:
    from server.backends.midi.train import parser  # numpy + the midi package; torch only when training

    p = parser()
    add_daemon_arguments(p)
    args = p.parse_args(argv)
    if args.name is None and not args.out:
        p.error("one of --out (a weights folder to write) or --name (train on the daemon as model=NAME) is required")
    if args.name is not None:
        _check_daemon_args(p, args)
    return p, args


def _check_daemon_args(p: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.out:
        p.error("--out and --name: pick one (--out trains offline into a folder, --name on the daemon)")
    if args.part not in DAEMON_PARTS:
        p.error(f"--name trains one model on the daemon: drums or melody, not {args.part}")
    if not args.data:
        p.error("--name needs --data FOLDER_OF_MIDI_FILES")
    given = [f"--{k.replace('_', '-')}" for k in OFFLINE_ONLY if getattr(args, k) != p.get_default(k)]
    if given:
        p.error(f"{', '.join(given)}: offline options; with --name use --steps")


def daemon_params(args: argparse.Namespace) -> dict[str, Any]:
    """The `train` request of a --name run."""
    params: dict[str, Any] = {"kind": f"midi-{args.part}", "data": str(Path(args.data).expanduser().resolve()),
                              "name": args.name, "seed": args.seed}
    optional = {"steps": args.steps, "base": args.base, "batch_size": args.batch_size,
                "learning_rate": args.learning_rate, "save_every": args.save_every}
    params.update({k: v for k, v in optional.items() if v is not None})
    params.update({k: True for k in ("resume", "overwrite") if getattr(args, k)})
    return params


def submit(args: argparse.Namespace) -> int:
    """Send the run to the daemon and follow it; exit codes as `dawgen send`'s."""
    from .client import Client, ClientError
    from .exits import EXIT_OK, client_failed
    from .progress_view import follow_job

    try:
        with Client(args.host, args.port) as client:
            reply = client.call("train", daemon_params(args), timeout=10.0)
            for path in follow_job(client, reply, args.timeout, sys.stderr):
                print(path)
    except (ClientError, OSError) as exc:
        return client_failed("train-midi", exc)
    return EXIT_OK
