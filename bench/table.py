"""One table of benchmark figures: each figure, what it was measured beside, its target, pass/fail.

Every bench module's `rows(result)` turns what its `main` returned into `Row`s; `bench/run_all.py`
prints them as one table and `--json` writes the same rows for tools.
"""
from __future__ import annotations

import os
import platform
from dataclasses import asdict, dataclass


@dataclass
class Row:
    group: str                  # spine or backend: "writer", "stable-audio", ...
    figure: str                 # what was measured
    value: float
    unit: str                   # "ms", "s", "x", "MB"
    target: str = ""            # e.g. "<= 25 ms"; empty: reported, no target
    ok: bool | None = None      # None: no target
    beside: str = ""            # the figure measured side by side in the same run

    def cells(self) -> list[str]:
        verdict = "" if self.ok is None else ("pass" if self.ok else "FAIL")
        return [self.group, self.figure, f"{self.value:.3g} {self.unit}", self.beside, self.target, verdict]


def at_most(group: str, figure: str, value: float, unit: str, limit: float, beside: str = "") -> Row:
    return Row(group, figure, value, unit, f"<= {limit:g} {unit}", value <= limit, beside)


def at_least(group: str, figure: str, value: float, unit: str, limit: float, beside: str = "") -> Row:
    return Row(group, figure, value, unit, f">= {limit:g} {unit}", value >= limit, beside)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            names = [line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"


def markdown(rows: list[Row]) -> str:
    head = ["group", "figure", "measured", "beside (same run)", "target", ""]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(row.cells()) + " |" for row in rows]
    return "\n".join(lines)


def as_json(rows: list[Row]) -> dict:
    return {"machine": machine(), "rows": [asdict(r) for r in rows],
            "passed": all(r.ok is not False for r in rows)}
