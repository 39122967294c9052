"""The commands of the `dawgen` CLI that talk to a running daemon as its OSC client: `send` (one
request, followed to its files with --wait / --fetch) and `regen` (a file made again from its
provenance). bridge/cli.py parses their arguments and hands them here, as it hands the listing
commands to cli_lists.py; bridge/client.py is imported only when one of them runs.
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from .exits import EXIT_ERROR, EXIT_OK, EXIT_USAGE, client_failed


def parse_value(text: str) -> Any:
    """CLI values: ints and floats become numbers; the engine coerces by declared type."""
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def send(args: argparse.Namespace) -> int:
    from server.config import is_loopback

    from .client import Client, ClientError, upload_params
    from .progress_view import follow_job

    params: dict[str, Any] = {}
    for item in args.params:
        key, sep, value = item.partition("=")
        if not sep or not key:
            print(f"dawgen send: expected key=value, got {item!r}", file=sys.stderr)
            return EXIT_USAGE
        params[key] = parse_value(value)
    if args.fetch or not is_loopback(args.host):  # the daemon cannot read this machine's files
        params = upload_params(params)
    try:
        with Client(args.host, args.port, tcp=args.tcp or args.fetch is not None or "input_blob" in params,
                    token=args.token) as client:
            reply = client.call(args.verb, params, timeout=min(args.timeout, 10.0), req_id=args.req_id)
            if reply.address == "/dawgen/ack" and (args.wait or args.fetch is not None):
                # a bar on a terminal, plain lines for pipes (scripts parse them)
                for path in follow_job(client, reply, args.timeout, sys.stderr):
                    print(client.fetch(path, args.fetch) if args.fetch is not None else path)
                return EXIT_OK
            _print_reply(reply)
    except (ClientError, OSError) as exc:
        return client_failed("send", exc)
    return EXIT_OK


def regen(args: argparse.Namespace) -> int:
    from .client import Client, ClientError
    from .regen import RegenError, changed_adapters, load_provenance, request_from

    try:
        provenance = load_provenance(args.file)
        verb, params = request_from(provenance)
    except RegenError as exc:
        print(f"dawgen regen: {exc}", file=sys.stderr)
        return EXIT_ERROR
    for problem in changed_adapters(provenance):
        print(f"dawgen regen: {'warning: ' if args.force else ''}{problem}", file=sys.stderr)
    if changed_adapters(provenance) and not args.force:
        print("dawgen regen: the new file would differ; --force makes it anyway", file=sys.stderr)
        return EXIT_ERROR
    if args.dir is not None:
        params["dir"] = args.dir
    try:
        with Client(args.host, args.port) as client:
            for path in client.generate(params, verb=verb, timeout=args.timeout):
                print(path)
    except ClientError as exc:
        return client_failed("regen", exc)
    return EXIT_OK


def _print_reply(reply: Any) -> None:
    if reply.address in ("/dawgen/models", "/dawgen/queue"):
        print(json.dumps(json.loads(reply.args[1]), indent=2))
    else:
        print(reply.address, *reply.args)
