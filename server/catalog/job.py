"""The `pull` verb: `dawgen pull NAME` as a daemon job (the built-in model named `pull`), so a DAW
device can offer "get this model" when a model is missing.

The download is server/catalog's (install.pull: huggingface_hub's cache, sha256 checks, the
dependencies, the model folder); this module adds what a job needs: checks at submit (a catalog
name, a gated model without a token, a folder `pull` did not make), progress per file (stage
`MODEL/FILE`, the fraction by bytes within a file), cancel between and within chunks, and a
rescan of the registry once the model folder is written, so `model=NAME` works in the next request.
A cancelled pull registers nothing: the model's `dawgen-model.toml` is written only after every
file is verified, and no half-fetched file is in sight (huggingface_hub deletes its temporary file;
demucs' own files stay as `FILE.part`, where the next pull resumes). Finished files stay in the
cache: the next pull fetches only what is missing.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from ..backends.base import Artifact, Backend, Output, RunContext, module_installed
from ..errors import DawgenError, ErrorCode
from ..params import ParamSpec
from . import Catalog, Entry, load
from .install import Options, check_target, describe, gated_message, has_token, pull

PULL_PARAMS = (
    ParamSpec("name", "str", None, max_length=64,
              doc="the catalog model to fetch (`dawgen pull --list`, `/dawgen/catalog`); what it needs comes too"),
    ParamSpec("revision", "str", None, max_length=128,
              doc="a branch, tag or commit of the model's repo; default: the catalog's (dependencies keep theirs)"),
)
# the common output params mean nothing to a download: only `model` and `priority` are taken
UNUSED_COMMON = ("sample_rate", "bit_depth", "format", "dir", "bpm", "bars", "time_signature", "key", "loop",
                 "loudness", "true_peak", "preview", "position", "chain")
BYTES_PER_SECOND = 20e6  # for the queue's ETA before any progress is seen


class PullBackend(Backend):
    name: ClassVar[str] = "pull"
    version: ClassVar[str] = "1"
    verbs: Mapping[str, Sequence[Any]] = {"pull": PULL_PARAMS}
    # `[models.pull]` may name another catalog file (an offline mirror's) and huggingface_hub cache
    config_keys: ClassVar[Mapping[str, type]] = {"catalog": str, "cache_dir": str}
    unused_common: ClassVar[tuple[str, ...]] = UNUSED_COMMON

    @property
    def models_dir(self) -> Path:
        if self.registry is None:
            raise DawgenError(ErrorCode.INTERNAL, "the pull model is not attached to a registry")
        return Path(self.registry.config.models_dir)

    def catalog(self) -> Catalog:
        return load(self.options.get("catalog") or None)

    def listing(self) -> list[dict[str, Any]]:
        """The catalog with what is installed in the models folder (`/dawgen/catalog`)."""
        return describe(self.catalog(), self.models_dir)

    # -- submit time: cheap checks, nothing fetched --------------------------------------------
    def _check_params(self, verb: str, params: Mapping[str, Any]) -> None:
        if not params.get("name"):
            raise DawgenError(ErrorCode.BAD_REQUEST, "name: the catalog model to pull is required "
                                                     "(`dawgen pull --list` or /dawgen/catalog lists them)")
        catalog = self.catalog()
        name = str(params["name"])
        order = catalog.order(name)  # unknown_model, naming the catalog's models
        check_target(catalog, name, self.models_dir)
        if any(e.source == "hf" for e in order) and not module_installed("huggingface_hub"):
            raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, f"pulling {name} needs huggingface_hub (not installed): "
                                                           "pip install huggingface_hub (the musicgen and "
                                                           "stable-audio extras install it)")
        gated = [e for e in order if e.gated]
        if gated and not has_token():
            raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, gated_message(gated[0]))

    def estimate_seconds(self, verb: str, params: Mapping[str, Any]) -> float:
        try:
            order = self.catalog().order(str(params.get("name") or ""))
        except DawgenError:
            return 60.0
        return 5.0 + sum(e.download_gb for e in order) * 1e9 / BYTES_PER_SECOND

    # -- the run --------------------------------------------------------------------------------
    def _run(self, verb: str, ctx: RunContext) -> list[Output]:
        catalog = self.catalog()
        name = str(ctx.params["name"])
        tracker = Tracker(ctx, catalog.order(name))
        cache = self.options.get("cache_dir")
        options = Options(models_dir=self.models_dir, cache_dir=Path(str(cache)).expanduser() if cache else None,
                          revision=str(ctx.params.get("revision") or "") or None,
                          on_file=tracker.file, on_bytes=tracker.received, on_size=tracker.size)
        pulled = pull(catalog, name, options)
        if self.registry is not None:
            self.registry.scan_folders()  # model=NAME works in the next request
        last = pulled[-1]
        return [Artifact(str(last.folder), meta={"name": name, "commit": last.commit,
                                                 "files": [f.file.name for f in last.files]})]


class Tracker:
    """One pull's progress: stage = `MODEL/FILE`, fraction = (files done + this file's bytes
    received / its size) / the files of the model and its dependencies. Every report is a cancel
    point, so a cancel stops a download between two chunks."""

    def __init__(self, ctx: RunContext, order: Sequence[Entry]) -> None:
        self.ctx = ctx
        self.count = max(1, sum(len(e.files) for e in order))
        self.done = -1  # files finished before the current one
        self.stage = "starting"
        self.total: int | None = None
        self.got = 0

    def file(self, entry: Entry, file: str, index: int, count: int) -> None:
        self.done += 1
        self.stage, self.total, self.got = f"{entry.name}/{file}", None, 0
        self._report()

    def size(self, total: int | None, initial: int) -> None:
        self.total, self.got = total, initial
        self._report()

    def received(self, n: int) -> None:
        self.got = max(0, self.got + n)
        self._report()

    @property
    def fraction(self) -> float:
        within = min(1.0, self.got / self.total) if self.total else 0.0
        return (max(0, self.done) + within) / self.count

    def _report(self) -> None:
        self.ctx.progress(self.fraction, self.stage)  # raises JobCancelled once a cancel is asked


def catalog_listing(registry: Any) -> list[dict[str, Any]]:
    """`/dawgen/catalog`: the catalog of the registry's `pull` model (its `catalog` option), each
    entry with `installed`; without a pull model, the package catalog against `models_dir`."""
    for entry in registry.entries():
        if isinstance(entry.backend, PullBackend):
            return entry.backend.listing()
    return describe(load(), Path(registry.config.models_dir))
