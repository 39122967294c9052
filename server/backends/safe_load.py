"""No model file may run code (issue #15): every torch pickle is read weights-only.

A torch pickle (demucs `.th`, stable-audio `.ckpt`, `pytorch_model.bin`, the midi backend's `.pt`)
can call any Python function while it is read, and model files come from downloads, shared drives
and training runs. `torch.load(weights_only=True)` reads tensors, plain containers and only the
classes allowed for that one load, and refuses everything else before it runs.

- `load_torch(path, allowed=...)`: the loads dawgen makes itself, each with the classes its real
  files hold (demucs: its model classes and `fractions.Fraction`; the others: none).
- `guard(...)`: Backend.load runs every torch backend's `_load` inside it, so the torch.load calls
  that libraries make themselves (transformers' `pytorch_model.bin`, stable-audio-tools' CLAP
  conditioner, which asks for `weights_only=False`) are weights-only too, whatever they ask for.
- `load_torch_restricted(path, names)`: for files holding objects torch's weights-only unpickler
  cannot rebuild (audiocraft's MultiBand Diffusion file pickles omegaconf configs): an unpickler that
  may name only torch's weights-only globals and the listed classes.

A refused file is a model_unavailable error naming the file and the global it asked for.
`[models.NAME] allow_pickle = true` opts one trusted model into full pickle loads: off by default,
logged as a warning every time it is used. Nothing here imports torch until a load.
"""
from __future__ import annotations

import contextlib
import io
import logging
import os
import pickle
import pickletools
import re
import threading
import types
import zipfile
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from typing import Any

from ..errors import DawgenError, ErrorCode

log = logging.getLogger("dawgen.safe_load")

# merged into the config_keys of every backend that reads torch pickles
CONFIG_KEYS: dict[str, type] = {"allow_pickle": bool}
# torch's own words for the global it refused: "unsupported GLOBAL posix.system whose module ..."
_GLOBAL_IN_MESSAGE = re.compile(r"GLOBAL ([\w.]+)")
_SCAN_LIMIT = 16 * 2**20  # bytes of a non-zip file scanned for the globals it names (its pickles come first)
_patch_lock = threading.RLock()  # torch.load is swapped process-wide while a guard is open
_real: list[Callable[..., Any]] = []  # torch.load as torch defines it, saved before any guard


def allow_pickle(options: Mapping[str, Any]) -> bool:
    """The model entry's `allow_pickle` option (declared as a bool, so only `true` turns it on)."""
    return options.get("allow_pickle") is True


def load_torch(path: str | os.PathLike[str], *, allowed: Sequence[Any] = (), trusted: bool = False,
               model: str = "") -> Any:
    """torch.load(path) on the CPU, weights-only with the classes in `allowed`; a full pickle load
    only when `trusted` (the model's allow_pickle). Raises model_unavailable naming the file."""
    load = _torch_load()
    if trusted:
        warn_full_pickle(model, path)
        return load(path, map_location="cpu", weights_only=False)
    return _weights_only(load, path, allowed, model, map_location="cpu")


def load_torch_restricted(path: str | os.PathLike[str], names: Collection[str], *, trusted: bool = False,
                          model: str = "") -> Any:
    """torch.load(path) on the CPU through an unpickler that may name only torch's weights-only
    globals (tensors, storages, OrderedDict) and the `module.name` globals in `names`: for files whose
    objects torch's weights-only unpickler cannot rebuild (omegaconf configs, whose state holds a
    defaultdict). `names` must be classes whose construction and __setstate__ run nothing from the
    file. A full pickle load only when `trusted`; raises model_unavailable naming the file."""
    load = _torch_load()
    if trusted:
        warn_full_pickle(model, path)
        return load(path, map_location="cpu", weights_only=False)
    try:
        return load(path, map_location="cpu", weights_only=False, pickle_module=_restricted(names))
    except pickle.UnpicklingError as exc:
        raise refused(path, exc, model) from None


def _restricted(names: Collection[str]) -> Any:
    from torch._weights_only_unpickler import _get_allowed_globals

    allowed = set(_get_allowed_globals()) | set(names)

    class Unpickler(pickle.Unpickler):
        def find_class(self, module: str, name: str) -> Any:
            import _compat_pickle  # Python 2 names (`__builtin__ long`), as pickle maps them

            module, name = _compat_pickle.NAME_MAPPING.get((module, name), (module, name))
            full = f"{_compat_pickle.IMPORT_MAPPING.get(module, module)}.{name}"
            if full not in allowed:
                raise pickle.UnpicklingError(f"unsupported GLOBAL {full}")
            return super().find_class(module, name)

    def load(f: Any, **kwargs: Any) -> Any:
        return Unpickler(f, **kwargs).load()

    return types.SimpleNamespace(__name__="dawgen_restricted_pickle", Unpickler=Unpickler, load=load)


def warn_full_pickle(model: str, path: Any) -> None:
    log.warning("model %s: allow_pickle = true: loading %s as a full pickle, which can run code; keep it "
                "only for files you trust", model or "?", path)


@contextlib.contextmanager
def guard(model: str = "", trusted: bool = False) -> Iterator[None]:
    """While open, every `torch.load(...)` in the process is weights-only with torch's default
    allowlist (a library's weights_only=False or pickle_module is overruled) and a refused file
    raises model_unavailable. `trusted` (allow_pickle) leaves torch.load as it is."""
    try:
        import torch
    except ImportError:  # the backend's own check names the extra to install
        yield
        return
    real = _torch_load()
    if trusted:
        log.warning("model %s: allow_pickle = true: its files are loaded without dawgen's weights-only "
                    "check; keep it only for files you trust", model or "?")
        with _patch_lock:  # not while another thread's guard has swapped torch.load
            yield
        return

    def weights_only_load(f: Any, map_location: Any = None, pickle_module: Any = None, *,
                          weights_only: Any = None, mmap: Any = None, **kwargs: Any) -> Any:
        return _weights_only(real, f, (), model, map_location=map_location, mmap=mmap, **kwargs)

    # why a swap: these libraries call torch.load themselves, some with weights_only=False. The lock
    # keeps two threads' guards (thread isolation) from restoring each other's function; a nested
    # guard puts back what it found.
    with _patch_lock:
        previous = torch.load
        torch.load = weights_only_load
        try:
            yield
        finally:
            torch.load = previous


def refused(path: Any, exc: BaseException, model: str = "", allowed: Sequence[Any] = ()) -> DawgenError:
    """The one-line error for a file torch's weights-only unpickler refused, naming the globals it
    asked for (read from the file: torch's message shortens builtins.exec to exec)."""
    names = _globals_in_file(path) or _globals_named(str(exc))
    ok = {f"{g.__module__}.{g.__qualname__}" for g in allowed}
    names = [n for n in names if n not in ok] or names
    owner = f"model {model}: " if model else ""
    trust = "if you trust this file, set allow_pickle = true in its [models.NAME] entry"
    if not names:  # damaged, or a pickle torch cannot read weights-only (a protocol it does not support)
        return DawgenError(ErrorCode.MODEL_UNAVAILABLE, f"{owner}{_name(path)} cannot be read as weights only "
                                                        f"({_last_line(str(exc))}): it may be damaged; {trust}")
    return DawgenError(ErrorCode.MODEL_UNAVAILABLE,
                       f"{owner}{_name(path)} was refused: it asks for {', '.join(names)}, and a model file may "
                       f"hold only weights (a pickle can run code); {trust}")


# -- internals --------------------------------------------------------------------------------------
def _torch_load() -> Callable[..., Any]:
    """torch.load as torch defines it, even while a guard has swapped it."""
    if _real:
        return _real[0]
    with _patch_lock:
        if not _real:
            import torch

            _real.append(torch.load)
        return _real[0]


def _weights_only(load: Callable[..., Any], f: Any, allowed: Sequence[Any], model: str, **kwargs: Any) -> Any:
    with _allowlist(allowed, f):
        try:
            return load(f, weights_only=True, **kwargs)
        except pickle.UnpicklingError as exc:
            raise refused(f, exc, model, allowed) from None


def _allowlist(allowed: Sequence[Any], f: Any) -> Any:
    if not allowed:
        return contextlib.nullcontext()
    import torch

    safe_globals = getattr(torch.serialization, "safe_globals", None)
    if safe_globals is None:  # torch < 2.5
        raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, f"{_name(f)}: loading this file safely needs torch >= 2.5 "
                                                       f"(installed: {torch.__version__})")
    return safe_globals(list(allowed))


def _name(f: Any) -> str:
    if isinstance(f, (str, os.PathLike)):
        return str(f)
    return str(getattr(f, "name", "") or "a model file")


def _globals_named(message: str) -> list[str]:
    names = dict.fromkeys(_GLOBAL_IN_MESSAGE.findall(message))
    return [n if "." in n else f"builtins.{n}" for n in names]  # torch writes builtins without their module


def _globals_in_file(f: Any) -> list[str]:
    """The module.name globals a file's pickles name, read without running them: for refusals whose
    message names none (a plain pickle.dump of protocol 4 fails on its first FRAME opcode)."""
    if not isinstance(f, (str, os.PathLike)):
        return []
    try:
        if zipfile.is_zipfile(f):
            import torch

            return list(torch.serialization.get_unsafe_globals_in_checkpoint(f))
        with open(f, "rb") as fh:
            data = fh.read(_SCAN_LIMIT)
    except (OSError, ValueError, RuntimeError, AttributeError, pickle.UnpicklingError):  # AttributeError: torch < 2.5
        return []
    return _unexpected(_scan(data))


def _scan(data: bytes) -> list[str]:
    """GLOBAL / STACK_GLOBAL names of the pickles at the start of `data` (torch's legacy format is a
    few pickles followed by raw storage bytes: the scan stops at the first thing that is not a pickle)."""
    names: list[str] = []
    strings: list[str] = []
    stream = io.BytesIO(data)
    while stream.tell() < len(data):
        try:
            for op, arg, _ in pickletools.genops(stream):
                if op.name == "GLOBAL":  # protocol 2 writes Python 2's name of builtins
                    names.append(str(arg).replace("__builtin__ ", "builtins ").replace(" ", "."))
                elif op.name == "STACK_GLOBAL" and len(strings) >= 2:
                    names.append(f"{strings[-2]}.{strings[-1]}")
                elif isinstance(arg, str):
                    strings.append(arg)
        except (ValueError, EOFError, pickle.UnpicklingError, UnicodeDecodeError):
            break
    return list(dict.fromkeys(names))


def _unexpected(names: list[str]) -> list[str]:
    """`names` less those torch's weights-only unpickler allows anyway (tensors' rebuild functions,
    OrderedDict): what is left is what it refused."""
    try:
        from torch._weights_only_unpickler import _get_allowed_globals  # private: best effort only

        allowed = set(_get_allowed_globals())
    except (ImportError, AttributeError):
        return names
    return [n for n in names if n not in allowed] or names


def _last_line(message: str) -> str:
    lines = [line.strip() for line in message.splitlines() if line.strip() and "documentation" not in line]
    return lines[-1][:200] if lines else "unreadable"

