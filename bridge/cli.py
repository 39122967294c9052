"""`dawgen` command line: argument parsing only; the work lives in serve.py, client.py and server/
(the daemon's client commands, send and regen, in cli_client.py; the listings in cli_lists.py)."""
from __future__ import annotations

import argparse
import json
import logging
import math
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from server import __version__
from server.config import Config, ConfigError, load
from server.errors import DawgenError

from . import cli_client, cli_lists
from .cli_client import parse_value as parse_value  # re-exported: bridge.cli.parse_value stays
from .exits import EXIT_ERROR, EXIT_OK, EXIT_UNREACHABLE, EXIT_USAGE


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return EXIT_USAGE
    level = getattr(args, "log_level_flag", None) or getattr(args, "log_level", "info")
    logging.basicConfig(level=level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args))
    except ConfigError as exc:
        print(f"dawgen: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except DawgenError as exc:
        print(f"dawgen: {exc.message}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="dawgen", description="Local AI generation daemon for your DAW.")
    p.add_argument("--version", action="version", version=f"dawgen {__version__}")
    sub = p.add_subparsers(dest="command")

    s = sub.add_parser("serve", help="run the daemon")
    _config_flags(s)
    s.add_argument("--log-level", dest="log_level_flag", default=None, choices=["debug", "info", "warning", "error"],
                   help="default: server.log_level from the config, else info")
    s.add_argument("--web-port", dest="web_port", type=int, default=None,
                   help="the studio page and HTTP API (default [web] port, 9957; 0: a free one)")
    s.set_defaults(func=_cmd_serve, log_level="info")

    s = sub.add_parser("send", help="send one request to a running daemon")
    s.add_argument("verb", help="ping, generate, cancel, status, queue, models, ...")
    s.add_argument("params", nargs="*", metavar="key=value", help='e.g. prompt="punchy kick" seconds=1.5')
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=9950)
    s.add_argument("--tcp", action="store_true", help="use OSC over TCP (SLIP) instead of UDP")
    s.add_argument("--wait", action="store_true", help="wait for the job; print its output paths")
    s.add_argument("--timeout", type=float, default=120.0, help="seconds to wait (default 120)")
    s.add_argument("--id", dest="req_id", default=None, help="request id (default: random)")
    s.add_argument("--token", default=os.environ.get("DAWGEN_TOKEN"),
                   help="this machine's client token (dawgen token add on the daemon's machine); default $DAWGEN_TOKEN")
    s.add_argument("--fetch", metavar="DIR", default=None,
                   help="a daemon on another machine: upload input=FILE, wait, download the results into DIR (TCP)")
    s.set_defaults(func=cli_client.send, log_level="warning")

    s = sub.add_parser("token", help="clients on the LAN: dawgen token add NAME writes [clients.NAME] with a new token")
    token = s.add_subparsers(dest="token_command", required=True)
    s = token.add_parser("add", help="add a client with a new random token to the config file; prints the token once")
    s.add_argument("name", help="the client's name, e.g. the producer's laptop: alex-laptop")
    s.add_argument("--config", required=False, default=None, help="the daemon's TOML config file (made if missing)")
    s.set_defaults(func=_cmd_token_add, log_level="warning")

    s = sub.add_parser("discover", help="list the dawgen daemons announced on the LAN (zeroconf/mDNS)")
    s.add_argument("--seconds", type=float, default=3.0, help="how long to listen (default 3)")
    s.add_argument("--json", action="store_true", help="machine-readable output")
    s.set_defaults(func=_cmd_discover, log_level="warning")

    s = sub.add_parser("regen", help="make a dawgen file again from its provenance (same seed and settings)")
    s.add_argument("file", help="a WAV or FLAC file written by dawgen")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=9950)
    s.add_argument("--dir", default=None, help="subfolder of the output root for the new file")
    s.add_argument("--timeout", type=float, default=300.0)
    s.add_argument("--force", action="store_true",
                   help="regenerate even though a LoRA adapter it used changed (the file will differ)")
    s.set_defaults(func=cli_client.regen, log_level="warning")

    s = sub.add_parser("devices", help="list audio and MIDI devices, and which ones the config picks")
    _config_flags(s)
    s.add_argument("--json", action="store_true", help="machine-readable output")
    s.set_defaults(func=_cmd_devices, log_level="warning")

    s = sub.add_parser("midi", help="MIDI controller tools")
    midi = s.add_subparsers(dest="midi_command", required=True)
    s = midi.add_parser("learn", help="bind the next note, CC or program change to NAME in the [midi] mapping file")
    s.add_argument("name", help="binding name; a new pad generates NAME as a prompt, a new knob sets the param NAME")
    s.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for a message (default 30)")
    _config_flags(s)
    s.set_defaults(func=_cmd_midi_learn, log_level="warning")

    s = sub.add_parser("dataset", help="training data tools")
    dataset = s.add_subparsers(dest="dataset_command", required=True)
    s = dataset.add_parser("check", help="scan a folder as training data; print the clips, rejected files and why")
    s.add_argument("folder", help="the folder of sounds (searched recursively)")
    s.add_argument("params", nargs="*", metavar="key=value",
                   help="kind= (dance-diffusion, stable-audio, musicgen, or one with -lora; default dance-diffusion), chop=, bpm=, "
                        "trigger=, seconds= (training window), sample_rate= (44100), channels= (2), min_seconds=")
    s.add_argument("--json", action="store_true", help="print the whole report (as dataset-report.json holds it)")
    s.add_argument("--files", action="store_true", help="list every file used, with its clips and prompt")
    s.set_defaults(func=_cmd_dataset_check, log_level="warning")

    # The trainer's module (numpy, the midi package: ~0.15 s) is imported only when train-midi runs:
    # this subparser treats nothing as an option (prefix_chars) and hands every argument, --help
    # included, to the trainer's own parser (_cmd_train_midi).
    s = sub.add_parser("train-midi", help="train the midi backend's models (melody, drums, VAEs) into a weights folder, "
                                          "or your MIDI as model=NAME on the daemon (--name)",
                       add_help=False, prefix_chars="\0")
    s.add_argument("train_args", nargs="*")
    s.set_defaults(func=_cmd_train_midi, log_level="info")

    s = sub.add_parser("pull", help="download a model from the catalog (verified), ready as model=NAME")
    s.add_argument("name", nargs="?", help="a catalog model, e.g. stable-audio-open-small (see --list)")
    s.add_argument("--list", action="store_true", help="show the catalog: installed, sizes, licences")
    s.add_argument("--to", default=None, help="models folder to register it in (default: [training] models_dir)")
    s.add_argument("--revision", default=None, help="a branch, tag or commit of the model's repo")
    s.add_argument("--cache-dir", default=None, help="huggingface_hub cache (default: its own, HF_HUB_CACHE)")
    s.add_argument("--catalog", default=None, help=argparse.SUPPRESS)  # tests: another catalog file
    s.add_argument("--json", action="store_true", help="with --list: machine-readable output")
    _config_flags(s)
    s.set_defaults(func=_cmd_pull, log_level="warning")

    from .pack import add_parser as add_pack

    add_pack(sub, _config_flags)
    sub.choices["pack"].set_defaults(func=_cmd_pack)

    from .cluster_cmd import add_parser as add_cluster

    add_cluster(sub, _config_flags)
    sub.choices["cluster"].set_defaults(func=_cmd_cluster, log_level="warning")

    s = sub.add_parser("login", help="save a Hugging Face token for gated models (huggingface_hub's token file)")
    s.set_defaults(func=_cmd_login, log_level="warning")

    for name, func, help_text in (("models", _with_config(cli_lists.models), "list configured models and their parameters"),
                                  ("jobs", _with_config(cli_lists.jobs), "list recent jobs from the journal"),
                                  ("doctor", _cmd_doctor, "check the installation and configuration"),
                                  ("plugins", _with_config(cli_lists.plugins),
                                   "list the VST3 / AU plugins `chain` may load, with their parameters")):
        s = sub.add_parser(name, help=help_text)
        _config_flags(s)
        s.add_argument("--json", action="store_true", help="machine-readable output")
        if name == "jobs":
            s.add_argument("--limit", type=int, default=20)
        if name == "models":
            s.add_argument("--daemon", action="store_true",
                           help="ask the running daemon (at --host/--port) instead: also shows which models are warm")
        s.set_defaults(func=func, log_level="warning")
    return p


def _config_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", default=None, help="TOML config file")
    p.add_argument("--host", default=None, help="interface to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=None, help="UDP+TCP port (default 9950)")
    p.add_argument("--project", default=None, help="output root: your project folder")
    p.add_argument("--state-dir", default=None, help="where the job journal lives")


def _with_config(command: Callable[[argparse.Namespace, Config], int]) -> Callable[[argparse.Namespace], int]:
    return lambda args: command(args, _load_config(args))


def _load_config(args: argparse.Namespace) -> Config:
    return load(args.config, {
        "server.host": args.host, "server.port": args.port,
        "output.root": args.project, "server.state_dir": args.state_dir,
        "server.log_level": getattr(args, "log_level_flag", None),
        "web.port": getattr(args, "web_port", None),
    })


def _cmd_serve(args: argparse.Namespace) -> int:
    from .serve import run

    config = _load_config(args)
    logging.getLogger().setLevel(config.server.log_level.upper())
    try:
        return run(config)
    except OSError as exc:
        print(f"dawgen: cannot listen on {config.server.host}:{config.server.port}: {exc}", file=sys.stderr)
        return EXIT_UNREACHABLE


def _cmd_discover(args: argparse.Namespace) -> int:
    from .discovery import run_discover

    return run_discover(max(0.1, args.seconds), args.json, sys.stdout, sys.stderr)


def _cmd_token_add(args: argparse.Namespace) -> int:
    from .tokens import run_token_add

    return run_token_add(args.config, args.name)


def _cmd_devices(args: argparse.Namespace) -> int:
    from .devices import run_devices

    return run_devices(_load_config(args), as_json=args.json)


def _cmd_midi_learn(args: argparse.Namespace) -> int:
    from .midi.learn import run_learn

    return run_learn(_load_config(args), args.name, args.timeout)


_DATASET_KEYS = {"kind": str, "chop": str, "bpm": float, "trigger": str, "seconds": float,
                 "sample_rate": int, "channels": int, "min_seconds": float}


def _dataset_params(items: Sequence[str]) -> dict[str, Any]:
    """key=value words -> typed values; ValueError naming the word that is wrong."""
    params: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or key not in _DATASET_KEYS:
            raise ValueError(f"expected key=value with key one of {', '.join(_DATASET_KEYS)}, got {item!r}")
        try:
            params[key] = _DATASET_KEYS[key](value)
            if isinstance(params[key], float) and not math.isfinite(params[key]):
                raise ValueError(value)
        except ValueError:
            raise ValueError(f"{key} must be a finite {_DATASET_KEYS[key].__name__}, got {value!r}") from None
    return params


def _cmd_dataset_check(args: argparse.Namespace) -> int:
    # numpy + soundfile (mido for the midi kinds), no torch; a bad kind, chop or folder is a
    # DawgenError: main() prints it, exit 2
    from .dataset_check import prepare_dataset

    try:
        params = _dataset_params(args.params)
    except ValueError as exc:
        print(f"dawgen dataset check: {exc}", file=sys.stderr)
        return EXIT_USAGE
    dataset = prepare_dataset(args.folder, params)
    if args.json:
        print(json.dumps(dataset.report(), indent=2, ensure_ascii=False))
        return EXIT_OK
    print(dataset.summary())
    for used in dataset.files if args.files else ():
        prompt = f"  prompt: {used.prompt}" if getattr(used, "prompt", "") else ""
        shape = f"{used.seconds:.2f} s, chop {used.chop}" if hasattr(used, "seconds") else used.detail
        print(f"  used      {used.file}: {used.clips} clip(s), {shape}{prompt}")
    for rejected in dataset.rejected:
        print(f"  rejected  {rejected.file}: {rejected.reason} ({rejected.detail})")
    for note in getattr(dataset, "notes", ()):
        print(f"  note: {note}")
    return EXIT_OK


def _cmd_train_midi(args: argparse.Namespace) -> int:
    from server.backends.midi.train import run as train_midi  # imports torch when it runs

    from .train_midi import parse, submit

    _, args = parse(args.train_args)
    if args.name is not None:  # the producer's own MIDI as model=NAME, through the daemon's train job
        return submit(args)
    try:
        train_midi(args, log=lambda line: print(line, file=sys.stderr, flush=True))
    except ImportError as exc:
        print(f"dawgen: train-midi needs torch, mido and music21: pip install 'dawgen[midigen,midi-train]' ({exc})",
              file=sys.stderr)
        return EXIT_USAGE
    return 0


def _cmd_pull(args: argparse.Namespace) -> int:
    from .pull import run_list, run_pull

    config = _load_config(args)
    if args.list:
        return run_list(config, to=args.to, catalog_path=args.catalog, as_json=args.json)
    if not args.name:
        print("dawgen pull: name a model (dawgen pull --list shows them)", file=sys.stderr)
        return EXIT_USAGE
    return run_pull(config, args.name, to=args.to, revision=args.revision, catalog_path=args.catalog,
                    cache_dir=args.cache_dir)


def _cmd_pack(args: argparse.Namespace) -> int:
    from .pack import run

    return run(_load_config(args), args)


def _cmd_login(args: argparse.Namespace) -> int:
    from .pull import run_login

    return run_login()


def _cmd_cluster(args: argparse.Namespace) -> int:
    from .cluster_cmd import run_status

    code, text = run_status(_load_config(args), args.json)
    print(text, file=sys.stderr if code == EXIT_UNREACHABLE else sys.stdout)
    return code


def _cmd_doctor(args: argparse.Namespace) -> int:
    from .doctor import run_checks

    try:
        config = _load_config(args)
    except ConfigError as exc:
        print(f"✗ config: {exc}")
        return EXIT_ERROR
    results = run_checks(config)
    if args.json:
        print(json.dumps([{"check": n, "ok": ok, "detail": d} for n, ok, d in results], indent=2))
    else:
        for name, ok, detail in results:
            print(f"{'✓' if ok else '✗'} {name}: {detail}")
    return EXIT_OK if all(ok for _, ok, _ in results) else EXIT_ERROR


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
