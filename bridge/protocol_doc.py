"""Render the parameter tables of docs/PROTOCOL.md from the declared specs.

`python -m bridge.protocol_doc` prints them; tests/bridge/test_protocol_doc.py checks that the
document holds exactly these rows for every address, so the document cannot drift from the code.
"""
from __future__ import annotations

from collections.abc import Sequence

from server.config import load
from server.engine import Engine
from server.journal import Journal
from server.params import ParamSpec

from . import protocol as proto

HEADER = "| name | type | default | range | meaning |\n|---|---|---|---|---|"


def _fmt(value: object) -> str:
    if value is None:
        return "-"
    if value == "":
        return '""'
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def param_row(spec: ParamSpec) -> str:
    if spec.choices is not None:
        rng = " \\| ".join(str(c) for c in spec.choices)
    elif spec.min is not None or spec.max is not None:
        rng = f"{_fmt(spec.min)} .. {_fmt(spec.max)}"
    else:
        rng = "-"
    return f"| `{spec.name}` | {spec.type} | {_fmt(spec.default)} | {rng} | {spec.doc} |"


def address_tables() -> dict[str, list[str]]:
    """Request address -> its parameter rows (with the front door's own `reply_port`, `token`, uploads)."""
    tables: dict[str, list[str]] = {}
    for verb, specs in proto.CONTROL_VERBS.items():
        tables[f"/dawgen/{verb}"] = [param_row(s) for s in (*specs, *proto.DOOR_PARAMS)]
    engine = Engine(load(None, {"output.root": "."}), journal=Journal(":memory:"))
    for verb, specs in engine.job_verbs().items():
        upload = proto.UPLOAD_PARAMS if any(s.name == "input" for s in specs) else ()
        tables[f"/dawgen/{verb}"] = [param_row(s) for s in (*specs, *upload, *proto.DOOR_PARAMS)]
    return tables


def render(tables: dict[str, Sequence[str]]) -> str:
    return "\n\n".join(f"### {addr}\n{HEADER}\n" + "\n".join(rows) for addr, rows in tables.items())


def update(path: str) -> list[str]:
    """Rewrite the parameter tables of an existing PROTOCOL.md in place (prose is kept).
    Returns the addresses the code has but the document does not: those need a written section."""
    tables = address_tables()
    lines, out, current = open(path, encoding="utf-8").read().splitlines(), [], None
    for line in lines:
        if line.startswith("### /dawgen/"):
            current = line[4:].strip()
        elif line.startswith("#"):
            current = None
        if current in tables and line.startswith("| `"):
            if tables[current] is not None:
                out.extend(tables[current])
                tables[current] = None  # type: ignore[assignment]
            continue
        out.append(line)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("\n".join(out) + "\n")
    documented = {line[4:].strip() for line in lines if line.startswith("### /dawgen/")}
    return sorted(set(address_tables()) - documented)


if __name__ == "__main__":  # pragma: no cover
    import sys

    if len(sys.argv) == 3 and sys.argv[1] == "--update":
        missing = update(sys.argv[2])
        if missing:
            print("not documented yet (write a section for each):", ", ".join(missing))
    else:
        print(render(address_tables()))
