"""The Backend contract every model family implements.

Public methods validate and do the bookkeeping; subclasses override small private hooks
(`_load`, `_run`), as mido's ports do. torch and model libraries are imported inside `_load`,
never at module import, so the daemon starts fast and front doors stay torch-free. A backend
declares the optional libraries it needs (`requires`, `extra`); `check_available()` and `load()`
check them here, one way, so a missing extra reads the same for every model.
"""
from __future__ import annotations

import contextlib
import importlib.util
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

import numpy as np

from ..errors import DawgenError, ErrorCode, JobCancelled
from ..params import ParamSpec


@dataclass
class Audio:
    """Float audio, shape (frames, channels), values nominally in [-1, 1].

    Meta keys the writer and post-processing read (all optional): `bpm`, `bars` (the audio's own
    tempo/length when the backend knows them), `seamless` (a loop already click-free), `note`
    (root for smpl/acid), `name` (file stem instead of `<prompt>_<seed>`), `folder` (a subfolder,
    e.g. one per input), `post` = "none" (keep the audio as it is: no grid, trim or loudness).
    """

    samples: np.ndarray
    sample_rate: int
    seed: int | None = None
    # Words for the file name and sidecar ("kick", "loop"); free-form, backend-specific.
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.samples.ndim == 1:
            self.samples = self.samples[:, None]
        if self.samples.ndim != 2:
            raise ValueError("audio must be (frames, channels)")

    @property
    def frames(self) -> int:
        return int(self.samples.shape[0])

    @property
    def channels(self) -> int:
        return int(self.samples.shape[1])


@dataclass
class Midi:
    """A standard MIDI file's bytes."""

    data: bytes
    seed: int | None = None
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class Artifact:
    """A file or folder the backend made itself (a trained model's folder, a loss plot): listed
    among the job's outputs as it is; the writer neither renders nor moves it."""

    path: str
    seed: int | None = None
    meta: dict[str, Any] = field(default_factory=dict)


Output = Audio | Midi | Artifact
ProgressFn = Callable[[float, str], None]
ReportFn = Callable[[str, dict[str, Any]], None]


class LiveWork(Protocol):
    """Jobs waiting to run on the device a long job (training) holds: it serves them at a step boundary."""

    def pending(self) -> bool: ...

    def serve(self) -> int: ...


class RunContext:
    """What a backend sees of its job: params, a progress callback and the cancel flag.

    `progress()` is the cooperative cancel point: it raises JobCancelled once cancel is requested,
    so a backend that reports progress at every step is cancellable at every step. A long job
    (training) also sends named reports to clients (`report`) and lets live work run on its device
    between two steps (`live_work_pending`, `serve_live_work`).
    """

    def __init__(
        self,
        params: Mapping[str, Any],
        on_progress: ProgressFn | None = None,
        cancel: threading.Event | None = None,
        device: str = "cpu",
        *,
        job_id: str = "",
        on_report: ReportFn | None = None,
        live_work: LiveWork | None = None,
    ) -> None:
        self.params = dict(params)
        self.device = device
        self.job_id = job_id
        self._on_progress = on_progress
        self._on_report = on_report
        self._live_work = live_work
        self._cancel = cancel or threading.Event()

    def report(self, kind: str, data: Mapping[str, Any]) -> None:
        """A named report for clients beside progress (e.g. "training", "checkpoint"); never throttled here."""
        if self._on_report is not None:
            self._on_report(kind, dict(data))

    def live_work_pending(self) -> bool:
        """True when another job waits for this device (only ever while a long job yields)."""
        return self._live_work is not None and self._live_work.pending()

    def serve_live_work(self) -> int:
        """Run the jobs waiting for this device now, in this thread; returns how many ran."""
        return self._live_work.serve() if self._live_work is not None else 0

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def check_cancel(self) -> None:
        if self._cancel.is_set():
            raise JobCancelled()

    def progress(self, fraction: float, stage: str = "generating", cancel_point: bool = True) -> None:
        """Report progress; a cancel point unless `cancel_point` is False (a loop that stops at its
        own step boundaries and saves first, such as training, checks `cancelled` itself)."""
        if cancel_point:
            self.check_cancel()
        if self._on_progress is not None:
            self._on_progress(min(1.0, max(0.0, float(fraction))), stage)


def module_installed(name: str) -> bool:
    """Whether the top-level module `name` can be imported, found without importing it: the daemon
    process checks torch's presence but never imports torch (only a model process does)."""
    try:
        return importlib.util.find_spec(name) is not None
    except ValueError:  # already imported, without a __spec__ (e.g. set up by hand): it is there
        return True
    except ImportError:  # its parent package fails to import
        return False


class Backend:
    """Base class. Subclasses set `name`, `verbs` and implement `_run` (and `_load` if needed)."""

    name: ClassVar[str] = ""
    version: ClassVar[str] = "0"
    # verb -> parameters that verb accepts (beyond the engine's common ones)
    verbs: ClassVar[Mapping[str, Sequence[ParamSpec]]] = {}
    # keys a `[models.NAME]` entry may carry for this backend, besides `backend`, `device`, `preload`
    config_keys: ClassVar[Mapping[str, type]] = {}
    # Optional libraries the backend imports (top-level module names) and the extra in
    # pyproject.toml that installs them; checked by check_requirements(), before any import.
    requires: ClassVar[tuple[str, ...]] = ()
    extra: ClassVar[str] = ""
    # How to install them where `pip install 'dawgen[EXTRA]'` is not the whole story (a library
    # installed with --no-deps, a make target); empty: that pip command.
    install_hint: ClassVar[str] = ""
    # "audio" or "midi": a MIDI backend's verbs take only the common params that mean something
    # for a MIDI file (server/common_params.py MIDI_COMMON), not loudness, dither or audio formats
    output_kind: ClassVar[str] = "audio"
    # common params that mean nothing to this backend's verbs: not accepted, not documented
    unused_common: ClassVar[tuple[str, ...]] = ()
    # a long job (training) that serves live work on its device between two of its steps
    # (RunContext.serve_live_work); its worker then takes the lane's other jobs meanwhile
    yields: ClassVar[bool] = False

    def __init__(self, model_name: str, options: Mapping[str, Any] | None = None) -> None:
        self.model_name = model_name
        self.options = dict(options or {})
        self.device = str(self.options.get("device", "cpu"))
        self._loaded = False
        self._load_lock = threading.Lock()
        self.load_seconds = 0.0
        self.loads = 0  # times the weights were loaded (switching LoRA adapters never counts here)
        self.registry: Any = None

    # -- public API: validates and keeps the books ---------------------------------------------
    def attach(self, registry: Any) -> None:
        """The registry this model lives in: a backend that works with other models (training
        from a base model) looks them up there."""
        self.registry = registry

    @property
    def loaded(self) -> bool:
        return self._loaded

    @property
    def uses_torch(self) -> bool:
        """A torch model: its `auto` device is resolved by torch (planned_device)."""
        return "torch" in self.requires

    def install_command(self) -> str:
        """What installs this backend's `requires`."""
        return self.install_hint or f"pip install 'dawgen[{self.extra}]'"

    def missing_requirements(self) -> list[str]:
        """The modules of `requires` that are not installed, in declared order."""
        return [module for module in self.requires if not self._installed(module)]

    def check_requirements(self) -> None:
        """Raise DawgenError(model_unavailable) naming the missing libraries and what installs them."""
        missing = self.missing_requirements()
        if missing:
            raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, f"model {self.model_name!r} needs {', '.join(missing)} "
                                                           f"(not installed): {self.install_command()}")

    def check_available(self) -> None:
        """Raise DawgenError(model_unavailable) when files or extras are missing. Cheap; no loading."""
        self.check_requirements()
        self._check_available()

    def load(self) -> None:
        with self._load_lock:
            if self._loaded:
                return
            self.check_requirements()  # a clear error, not an ImportError from deep inside `_load`
            started = time.monotonic()
            # every torch.load during a load is weights-only, the libraries' own included (safe_load)
            with self._file_guard():
                self._load()
            self.load_seconds = time.monotonic() - started
            self.loads += 1
            self._loaded = True

    def _file_guard(self) -> Any:
        if not self.uses_torch:
            return contextlib.nullcontext()
        from . import safe_load

        return safe_load.guard(self.model_name, safe_load.allow_pickle(self.options))

    def unload(self) -> None:
        with self._load_lock:
            if self._loaded:
                self._unload()
                self._loaded = False

    def run(self, verb: str, ctx: RunContext) -> list[Output]:
        if verb not in self.verbs:
            raise DawgenError(ErrorCode.UNKNOWN_VERB, f"model {self.model_name} does not do {verb!r}")
        self.load()
        ctx.check_cancel()
        outputs = self._run(verb, ctx)
        if not outputs:
            raise DawgenError(ErrorCode.BACKEND_FAILED, f"{self.name} returned no output")
        return outputs

    def describe(self) -> dict[str, Any]:
        return {
            "backend": self.name,
            "version": self.version,
            "output_kind": self.output_kind,
            "verbs": {verb: [p.describe() for p in specs] for verb, specs in self.verbs.items()},
        }

    def check_params(self, verb: str, params: Mapping[str, Any]) -> None:
        """Checks across parameters (e.g. a length limit from bars and bpm), run at submit time so
        the client hears about it before the job is queued. Raises DawgenError(bad_request); a
        `lora` naming an unknown adapter or one made for another model is refused here too."""
        if params.get("lora"):
            self.lora_selection(params)
        if params.get("chain") and self.registry is not None:  # its plugins may load (out_of_root otherwise)
            from .process.chain import parse_chain
            from .process.plugins import check_steps

            check_steps(parse_chain(str(params["chain"])), self.registry.config.plugins)
        try:
            self._check_params(verb, params)
        except ValueError as exc:
            raise DawgenError(ErrorCode.BAD_REQUEST, str(exc)) from None

    def lora_selection(self, params: Mapping[str, Any]) -> list[Any]:
        """The adapters (server/adapters.py Applied) a request's `lora` names on this model."""
        if not params.get("lora"):
            return []
        if self.registry is None:
            raise DawgenError(ErrorCode.BAD_REQUEST, f"lora: model {self.model_name} has no adapter registry")
        return list(self.registry.adapters.select(self.model_name, str(params["lora"])))

    def adapters_for(self, params: Mapping[str, Any]) -> list[Any]:
        """Every adapter a job runs with: the model's own (a trained run loaded by its name) and the request's."""
        return [*self._own_adapters(), *self.lora_selection(params)]

    def lora_provenance(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """`loras` (name, sha256, strength of each) and the `prompt_used` when a trigger word was added."""
        selection = self.adapters_for(params)
        if not selection:
            return {}
        from ..adapters import prompt_with_triggers, record

        out: dict[str, Any] = {"loras": record(selection)}
        prompt = str(params.get("prompt") or "")
        if "prompt" in params and prompt_with_triggers(prompt, selection) != prompt:
            out["prompt_used"] = prompt_with_triggers(prompt, selection)
        return out

    def fingerprint(self) -> dict[str, Any]:
        """What identifies this model's weights in provenance, e.g. {"weights_sha256": ...}.
        Backends with weight files return their hash (server.output.provenance.file_sha256)."""
        return {}

    def estimate_seconds(self, verb: str, params: Mapping[str, Any]) -> float:
        """Rough run time, for queue ETAs before any progress is seen."""
        return 1.0

    def planned_device(self) -> str:
        """The device this model runs on once loaded ('auto' resolved: cuda, then mps, then cpu)."""
        if self.loaded or not self.uses_torch:
            return self.device if self.device not in ("", "auto") else "cpu"
        self.check_requirements()  # without torch, say which extra installs it
        from .torch_util import pick_device

        return pick_device(self.device or "auto")

    def memory_bytes(self) -> int:
        """Bytes this model holds on its device once loaded; before loading, an estimate (from its
        weight files). The registry's memory budget evicts least recently used models by it."""
        try:
            return max(0, int(self._memory_estimate()))
        except (OSError, ValueError, TypeError):
            return 0

    # -- hooks ------------------------------------------------------------------------------------
    def _installed(self, module: str) -> bool:
        """Override where a library may live off sys.path (stable-audio's own torchaudio folder)."""
        return module_installed(module)

    def _check_available(self) -> None:
        return None

    def _check_params(self, verb: str, params: Mapping[str, Any]) -> None:
        return None

    def _own_adapters(self) -> list[Any]:
        """Override: adapters applied to every job of this model (server/adapters.py Applied)."""
        return []

    def _memory_estimate(self) -> int:
        """Override: torch_util.module_bytes(model) when loaded, torch_util.files_bytes(weights)
        before. 0 = negligible (the DSP synth)."""
        return 0

    def _load(self) -> None:
        return None

    def _unload(self) -> None:
        return None

    def _run(self, verb: str, ctx: RunContext) -> list[Output]:
        raise NotImplementedError
