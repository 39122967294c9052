"""Importing stable-audio-tools 0.0.20 beside a torch it was not built for, without touching its files.

Three things stand between `import stable_audio_tools` and a daemon that works (field notes):
- `stable_audio_tools.models.transformer` prints flash_attn notices with print() at import. The
  daemon's stdout carries its ready line (and the model process shares it), so stdout goes to
  stderr while the library imports.
- `stable_audio_tools.models.autoencoders`, `.pretransforms` and `.inference.utils` import
  torchaudio at module level (they use `torchaudio.transforms.Resample` and build
  `MelSpectrogram` in some pretransforms). No torchaudio build matches every torch: PyPI's
  torchaudio 2.11 is a CUDA build whose compiled extension (`lib/_torchaudio.abi3.so`) fails to
  load beside CPU torch 2.13 (`libc10_cuda.so: cannot open shared object file`), and a torchaudio
  in site-packages that fails to import also breaks transformers, which imports it whenever it is
  installed (MusicGen would stop working). So `make install-stable-audio` puts it in its own
  folder, `<venv>/dawgen-torchaudio`, which only this backend adds to sys.path. torchaudio's
  transforms and functional code are pure Python and are exactly what runs when its extension is
  absent, so when the real import fails with that OSError, `torchaudio._extension` is replaced by
  a stand-in that reports "no extension" (the values torchaudio itself sets when `lib/*.so` are
  missing) and torchaudio is imported again: its real Resample, Spectrogram, MelScale run. Only
  what needs the compiled code (alignment, CTC decoders) is unavailable; the Stable Audio
  inference path uses none of it. Where torchaudio imports normally (a matched torch +
  torchaudio, e.g. a user's CUDA machine) nothing is replaced.
- pytorch_lightning is imported when a DiT is built but is not a declared dependency: listed in
  REQUIRED, which the backend checks before loading (Backend.check_requirements), so the error
  names it.
"""
from __future__ import annotations

import contextlib
import importlib
import importlib.util
import logging
import sys
import threading
import types
from pathlib import Path
from typing import Any, ClassVar

from ...errors import DawgenError, ErrorCode

log = logging.getLogger("dawgen.stable_audio")

EXTRA = "stable-audio"
INSTALL_HINT = ("make install-stable-audio (pip install 'dawgen[stable-audio]', then stable-audio-tools 0.0.20 "
                "with --no-deps: it declares Python <3.11 and pins torch 2.7.1; see docs/MODELS.md, 'Stable Audio')")
# what the inference path imports: the backend's `requires`
REQUIRED = ("torch", "stable_audio_tools", "torchaudio", "transformers", "einops", "alias_free_torch",
            "safetensors", "torchsde", "pytorch_lightning")

_lock = threading.Lock()
torchaudio_stand_in = False  # True when torchaudio runs without its compiled extension (for `doctor`/logs)


def torchaudio_folder() -> Path:
    """Where `make install-stable-audio` puts a torchaudio that must stay off everyone else's path."""
    return Path(sys.prefix) / "dawgen-torchaudio"


def torchaudio_aside() -> bool:
    """True when `make install-stable-audio` put torchaudio in its own folder (off sys.path)."""
    return (torchaudio_folder() / "torchaudio" / "__init__.py").is_file()


class NeedsStableAudioTools:
    """What a backend built on stable-audio-tools requires (the stable-audio backend, training):
    mixed in before Backend, whose requirement check it feeds."""

    requires: ClassVar[tuple[str, ...]] = REQUIRED
    extra: ClassVar[str] = EXTRA
    install_hint: ClassVar[str] = INSTALL_HINT

    def _installed(self, module: str) -> bool:  # torchaudio may sit aside, off sys.path
        return super()._installed(module) or (module == "torchaudio" and torchaudio_aside())  # type: ignore[misc]


def _extension_stand_in() -> types.ModuleType:
    """`torchaudio._extension` as torchaudio sets it up when its compiled libraries are absent."""
    module = types.ModuleType("torchaudio._extension")

    def unavailable(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("this torchaudio feature needs torchaudio's compiled extension, which does not "
                           "match the installed torch (dawgen imports torchaudio's pure-Python parts only)")

    def fail_if_no_align(func: Any) -> Any:
        return lambda *a, **k: unavailable()

    module.__dict__.update(_IS_TORCHAUDIO_EXT_AVAILABLE=False, _IS_ALIGN_AVAILABLE=False,
                           fail_if_no_align=fail_if_no_align, _load_lib=lambda _name: False,
                           _check_cuda_version=lambda: None, __all__=[])
    return module


def import_torchaudio() -> Any:
    global torchaudio_stand_in
    if importlib.util.find_spec("torchaudio") is None and torchaudio_folder().is_dir():
        sys.path.append(str(torchaudio_folder()))
    try:
        return importlib.import_module("torchaudio")
    except OSError as exc:  # the compiled extension was built against another torch (CUDA libs)
        reason = str(exc)
    for name in [n for n in sys.modules if n == "torchaudio" or n.startswith("torchaudio.")]:
        del sys.modules[name]  # the half-imported package from the failed attempt
    sys.modules["torchaudio._extension"] = _extension_stand_in()
    try:
        module = importlib.import_module("torchaudio")
    except (ImportError, OSError) as exc:
        sys.modules.pop("torchaudio._extension", None)
        raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, f"torchaudio cannot be imported beside this torch ({exc}; "
                                                       f"first attempt: {reason})") from None
    torchaudio_stand_in = True
    log.info("torchaudio's compiled extension does not load here (%s); using its pure-Python transforms", reason)
    return module


def import_library() -> types.ModuleType:
    """stable_audio_tools with the modules the backend uses imported, stdout kept clean. The
    backend checked REQUIRED first (Backend.load), so a missing library is named, not an ImportError."""
    with _lock:
        with contextlib.redirect_stdout(sys.stderr):
            import_torchaudio()
            sat = importlib.import_module("stable_audio_tools")
            for name in ("models.factory", "models.utils", "models.diffusion", "models.transformer",
                         "inference.sampling", "inference.utils", "inference.k_diffusion.sampling"):
                importlib.import_module(f"stable_audio_tools.{name}")
        return sat


def library_version() -> str:
    from importlib import metadata

    try:
        return metadata.version("stable-audio-tools")
    except metadata.PackageNotFoundError:
        return "not installed"
