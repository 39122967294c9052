"""Running a third-party plugin where it cannot take the model process down with it.

A plugin is someone else's native code: it may crash (a segfault ends the process that loaded it)
or hang. Each plugin step runs in a fresh child process (multiprocessing, spawn) that loads the
plugin, processes the audio and sends it back; the parent waits in short slices, so a cancel or
the `[plugins] timeout` kills the child, and a child that dies without an answer fails only the
job it was running, with the plugin named in the error.
"""
from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from ...errors import DawgenError, ErrorCode

POLL_SECONDS = 0.05


def run_isolated(target: Callable[..., Any], args: tuple[Any, ...], *, what: str, timeout: float,
                 check: Callable[[], None] | None = None) -> Any:
    """`target(*args)` in a child process; its return value, or DawgenError(backend_failed) when
    it crashes, hangs past `timeout` seconds or raises. `check()` runs between waits (it raises to
    cancel: the child is killed first). `target` must be importable (a module-level function)."""
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(child, target, args), daemon=True, name=f"dawgen-plugin-{what}")
    proc.start()
    child.close()
    deadline = time.monotonic() + timeout
    try:
        while not parent.poll(POLL_SECONDS):
            if check is not None:
                check()
            if not proc.is_alive() and not parent.poll(0):
                proc.join(1.0)
                raise DawgenError(ErrorCode.BACKEND_FAILED, f"{what} crashed ({_exit(proc.exitcode)}); "
                                                            "the job failed, the daemon is fine")
            if time.monotonic() > deadline:
                raise DawgenError(ErrorCode.BACKEND_FAILED, f"{what} did not finish in {timeout:g} s (hung?) and "
                                                            "was stopped; raise [plugins] timeout if it is just slow")
        try:
            status, value = parent.recv()
        except (EOFError, OSError):
            proc.join(1.0)
            raise DawgenError(ErrorCode.BACKEND_FAILED, f"{what} crashed ({_exit(proc.exitcode)})") from None
    finally:
        if proc.is_alive():
            proc.kill()
        proc.join(5.0)
        parent.close()
    if status == "ok":
        return value
    code, message = value
    raise DawgenError(code, f"{what}: {message}")


def _exit(code: int | None) -> str:
    if code is None:
        return "no exit status"
    return f"killed by signal {-code}" if code < 0 else f"exit code {code}"


def _child(conn: Any, target: Callable[..., Any], args: tuple[Any, ...]) -> None:
    try:
        result: tuple[str, Any] = ("ok", target(*args))
    except DawgenError as exc:
        result = ("error", (exc.code, exc.message))
    except Exception as exc:  # noqa: BLE001 - the plugin's own error: reported to the parent, not lost with the child
        result = ("error", (ErrorCode.BACKEND_FAILED.value, f"{type(exc).__name__}: {exc}"))
    conn.send(result)
    conn.close()


def process_with_plugin(path: str, params: dict[str, Any], preset: str, samples: np.ndarray,
                        rate: int) -> np.ndarray:
    """In the child: load the plugin, set its preset and parameters, process (frames, channels)."""
    import pedalboard

    plugin = pedalboard.load_plugin(path)
    if preset:
        plugin.load_preset(preset)
    for name, value in params.items():
        if name not in plugin.parameters:
            valid = ", ".join(sorted(plugin.parameters)) or "none"
            raise DawgenError(ErrorCode.BAD_REQUEST, f"no parameter {name!r} (its parameters: {valid})")
        try:
            setattr(plugin, name, value)
        except (ValueError, TypeError) as exc:
            raise DawgenError(ErrorCode.BAD_REQUEST, f"{name} = {value!r}: {exc}") from None
    out = plugin(np.ascontiguousarray(samples.T), float(rate), reset=True)
    return np.ascontiguousarray(np.asarray(out, dtype=np.float32).T)


def describe_plugin(path: str) -> dict[str, Any]:
    """In the child: plugins.describe (loading a plugin to list its parameters runs its code too)."""
    from pathlib import Path

    from .plugins import describe

    return describe(Path(path))
