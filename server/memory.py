"""Memory budgets per compute device: how many bytes of warm models a device may hold.

`[server.memory_budget]` names a budget per device (`cuda = 10`, `"cuda:1" = "20GB"`, `cpu = "8GB"`;
a bare number is GB). A device without one gets a default from its total memory: 90 % of a GPU's
memory (the rest is activations and the CUDA context of a small model; the registry refuses a model
larger than its budget rather than letting the driver fail mid-job), half of the system's RAM for
`cpu` and `mps` (unified memory shared with the DAW and its plug-ins). torch is consulted only for a
GPU, and only in the model process, where a GPU model is about to load anyway.
"""
from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from typing import Any

GB = 1024 ** 3
GPU_SHARE = 0.9
RAM_SHARE = 0.5
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]i?b?|b)?\s*$", re.IGNORECASE)
_UNITS = {"b": 1, "k": 1024, "m": 1024 ** 2, "g": GB, "t": 1024 ** 4}
_DEVICE = re.compile(r"^(cpu|mps|cuda(:\d+)?)$")


class BudgetError(ValueError):
    """A `[server.memory_budget]` entry is wrong; the message names it."""


def parse_size(value: Any, where: str = "memory_budget") -> int:
    """Bytes from a number of GB (`10`, `7.5`) or a string with a unit (`"512MB"`, `"12 GiB"`,
    `"1500000B"`); units are binary (1 GB = 1024³ bytes, as GPU tools report memory)."""
    if isinstance(value, bool):
        raise BudgetError(f"{where}: expected a size such as 8 (GB) or \"512MB\", got {value!r}")
    if isinstance(value, (int, float)):
        size = float(value) * GB
    elif isinstance(value, str) and (match := _SIZE.match(value)):
        unit = (match.group(2) or "g")[0].lower()
        size = float(match.group(1)) * _UNITS[unit]
    else:
        raise BudgetError(f"{where}: expected a size such as 8 (GB) or \"512MB\", got {value!r}")
    if size <= 0:
        raise BudgetError(f"{where}: must be more than 0, got {value!r}")
    return int(size)


def check_budgets(raw: Mapping[str, Any]) -> list[str]:
    """Config errors of a `[server.memory_budget]` table (empty when it is fine)."""
    errors = []
    for device, value in raw.items():
        where = f"server.memory_budget.{device}"
        if not _DEVICE.match(str(device)):
            errors.append(f"{where}: not a device (cpu, mps, cuda, cuda:N)")
            continue
        try:
            parse_size(value, where)
        except BudgetError as exc:
            errors.append(str(exc))
    return errors


def system_ram_bytes() -> int:
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):  # not POSIX (Windows): psutil-free fallback
        return 16 * GB


def device_total_bytes(device: str) -> int:
    """The memory a device has: a GPU's own memory, the system's RAM for cpu and mps."""
    if device.startswith("cuda"):
        torch = sys.modules.get("torch")
        if torch is None:
            import torch  # a GPU model is about to load in this process: torch is needed anyway
        index = int(device.split(":", 1)[1]) if ":" in device else torch.cuda.current_device()
        return int(torch.cuda.get_device_properties(index).total_memory)
    return system_ram_bytes()


class Budgets:
    """Budget per device: configured, else a share of the device's total memory."""

    def __init__(self, configured: Mapping[str, Any] | None = None) -> None:
        self._configured = {str(k): parse_size(v, f"server.memory_budget.{k}") for k, v in (configured or {}).items()}
        self._defaults: dict[str, int] = {}

    def for_device(self, device: str) -> int:
        if device in self._configured:
            return self._configured[device]
        family = device.split(":", 1)[0]
        if family in self._configured and family != device:  # `cuda = 10` covers cuda:0, cuda:1...
            return self._configured[family]
        if device not in self._defaults:
            share = GPU_SHARE if family == "cuda" else RAM_SHARE
            self._defaults[device] = int(device_total_bytes(device) * share)
        return self._defaults[device]

    def source(self, device: str) -> str:
        """Where the budget comes from, for error messages."""
        family = device.split(":", 1)[0]
        if device in self._configured or family in self._configured:
            return f"server.memory_budget.{device if device in self._configured else family}"
        share = "90 % of the GPU's memory" if family == "cuda" else "half the system's memory"
        return f"the default, {share}; set server.memory_budget.{family} to change it"


def gb(size: int) -> str:
    return f"{size / GB:.2f} GB" if size < 10 * GB else f"{size / GB:.1f} GB"
