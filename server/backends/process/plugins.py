"""Where plugins may load from, finding one by name or path, and what `dawgen plugins` lists.

A plugin is code: it loads only from the folders `[plugins] paths` names (searched recursively),
and from the OS's standard VST3 / Audio Unit folders when `[plugins] system = true`. A path outside
them is `out_of_root`, whatever it points at (symlinks are resolved first). pedalboard loads VST3
(`.vst3`, a folder or a file) and, on macOS, Audio Units (`.component`); nothing else.
"""
from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ...config import PluginsConfig
from ...errors import DawgenError, ErrorCode

SUFFIXES = (".vst3", ".component")


def system_folders() -> list[Path]:
    """The OS's standard plugin folders (those that exist or not; the caller skips missing ones)."""
    home = Path.home()
    if sys.platform == "darwin":
        return [Path("/Library/Audio/Plug-Ins/VST3"), Path("/Library/Audio/Plug-Ins/Components"),
                home / "Library/Audio/Plug-Ins/VST3", home / "Library/Audio/Plug-Ins/Components"]
    if sys.platform == "win32":
        common = os.environ.get("COMMONPROGRAMFILES", r"C:\Program Files\Common Files")
        local = os.environ.get("LOCALAPPDATA", str(home / "AppData/Local"))
        return [Path(common) / "VST3", Path(local) / "Programs/Common/VST3"]
    return [home / ".vst3", Path("/usr/lib/vst3"), Path("/usr/local/lib/vst3")]


def roots(config: PluginsConfig) -> list[Path]:
    """The folders plugins load from, resolved, in search order."""
    folders = [Path(p).expanduser() for p in config.paths]
    if config.system:
        folders += system_folders()
    out: list[Path] = []
    for folder in folders:
        real = Path(os.path.realpath(folder))
        if real not in out:
            out.append(real)
    return out


def scan(config: PluginsConfig) -> list[Path]:
    """Every plugin under the allowed folders (a `.vst3` bundle is one plugin, not searched inside)."""
    found: list[Path] = []
    for root in roots(config):
        if root.is_dir():
            found.extend(_walk(root))
    return found


def _walk(folder: Path) -> Iterable[Path]:
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        for name in list(dirnames):
            if name.lower().endswith(SUFFIXES):
                dirnames.remove(name)  # a bundle: listed, never descended into
                yield Path(dirpath) / name
        yield from (Path(dirpath) / n for n in filenames if n.lower().endswith(SUFFIXES))


def _inside(path: Path, folders: list[Path]) -> bool:
    return any(path == root or root in path.parents for root in folders)


def find(config: PluginsConfig, plugin: str) -> Path:
    """The plugin a step names: a path (which must lie in an allowed folder: else out_of_root) or a
    name (`Dragonfly Room Reverb`, with or without its suffix, any case) found under them."""
    allowed = roots(config)
    expanded = os.path.expanduser(plugin)
    if os.path.isabs(expanded) or os.sep in plugin or "/" in plugin:
        real = Path(os.path.realpath(expanded))
        if not _inside(real, allowed):
            where = ", ".join(str(r) for r in allowed) or "none: set [plugins] paths"
            raise DawgenError(ErrorCode.OUT_OF_ROOT, f"plugin {plugin}: not in an allowed plugin folder "
                                                     f"([plugins] paths; allowed: {where})")
        if not real.exists():
            raise DawgenError(ErrorCode.BAD_REQUEST, f"plugin {plugin}: no such file or folder")
        return real
    wanted = plugin.lower()
    found = scan(config)
    for path in found:
        if wanted in (path.name.lower(), path.stem.lower()):
            return path
    names = ", ".join(sorted({p.stem for p in found})) or "none (set [plugins] paths)"
    raise DawgenError(ErrorCode.BAD_REQUEST, f"plugin {plugin!r} is not in the allowed plugin folders; found: {names}")


def check_steps(steps: Iterable[Any], config: PluginsConfig) -> None:
    """Submit-time: every plugin step names a plugin that may load (out_of_root / bad_request)."""
    for step in steps:
        if step.plugin:
            find(config, step.plugin)
            if step.preset and not os.path.isfile(step.preset):
                raise DawgenError(ErrorCode.BAD_REQUEST, f"preset {step.preset}: no such file")


def describe(path: Path) -> dict[str, Any]:
    """A plugin's name and parameters (name, range, default, unit), read by loading it with
    pedalboard: run in a child process (host.py) by `dawgen plugins`, since loading runs its code."""
    import pedalboard

    plugin = pedalboard.load_plugin(str(path))
    params = []
    for name, param in plugin.parameters.items():
        entry: dict[str, Any] = {"name": name, "type": getattr(param.type, "__name__", str(param.type))}
        for attr, key in (("min_value", "min"), ("max_value", "max"), ("default_raw_value", "default_raw"),
                          ("label", "unit")):
            value = getattr(param, attr, None)
            if isinstance(value, (int, float, str)) and value != "":
                entry[key] = value
        valid = getattr(param, "valid_values", None)
        if valid and param.type is str:
            entry["choices"] = list(valid)[:64]
        params.append(entry)
    return {"name": getattr(plugin, "name", path.stem), "path": str(path), "parameters": params}
