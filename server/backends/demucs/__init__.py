"""`demucs`: stems with Meta's Demucs 4 (HTDemucs, htdemucs_ft, htdemucs_6s, mdx_extra and other bags).

`[models.NAME] backend = "demucs"`, `path = FOLDER` (demucs' own repo layout: see repo.py),
`name = MODEL` (default htdemucs); loaded offline, never from a hub, and weights-only (weights.py;
`allow_pickle = true` trusts the folder's files with a full pickle load). Verb `separate` writes one file
per stem, `<input-name>_<stem>`, in a folder named after the input, each exactly as long as the input
and sample-aligned with it, untouched by loudness or trimming (`post: none`), so the stems sum to
what the model heard and line up at the item's start in a DAW. Long files are separated segment by
segment in bounded memory (stream.py); progress and cancel are per model segment. torch and demucs
are imported in `_load`/`_run` only; the `demucs` extra installs them.
"""
from __future__ import annotations

import logging
import pickle
import random
import tempfile
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from ...errors import DawgenError, ErrorCode
from ...output.naming import slugify
from ...params import ParamSpec
from .. import safe_load, stem_midi
from ..base import Audio, Backend, Output, RunContext
from ..inputs import input_stem
from .repo import RepoModel, find_model
from .spec import MAX_INPUT_SECONDS, SEPARATE_PARAMS, input_path, selection

log = logging.getLogger("dawgen.demucs")

EXTRA = "demucs"
DEFAULT_NAME = "htdemucs"
SHIFT_SEED = 0  # shifts' random delays come from a fixed seed: the same request gives the same stems
# A prior for queue ETAs before progress is seen: the default-size HTDemucs on a 2-core CPU runs at
# about 1.5x the length of the audio per pass (field notes).
SECONDS_PER_AUDIO_SECOND = 1.5


class DemucsBackend(Backend):
    name: ClassVar[str] = "demucs"
    version: ClassVar[str] = "1"
    requires: ClassVar[tuple[str, ...]] = ("torch", "demucs")
    extra: ClassVar[str] = EXTRA
    verbs: ClassVar[Mapping[str, Sequence[ParamSpec]]] = {"separate": SEPARATE_PARAMS}
    config_keys: ClassVar[Mapping[str, type]] = {"path": str, "name": str, **safe_load.CONFIG_KEYS}

    def __init__(self, model_name: str, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(model_name, options)
        self.device = str(self.options.get("device") or "auto")
        self._repo: RepoModel | None = None
        self._model: Any = None

    @property
    def model(self) -> Any:
        """The loaded demucs model (one model or a BagOfModels); None until load()."""
        return self._model

    def use_model(self, model: Any, device: str = "cpu") -> None:
        """Separate with `model` (a demucs model or BagOfModels, already on `device`) instead of
        loading one from `path`: for a program that embeds dawgen with its own model, and for
        tests that need a separator whose output is known."""
        with self._load_lock:
            self._model, self.device, self._loaded = model, device, True

    @property
    def _path(self) -> str:
        return str(self.options.get("path") or "")

    @property
    def _name(self) -> str:
        return str(self.options.get("name") or DEFAULT_NAME)

    # -- availability and provenance --------------------------------------------------------------
    def _check_available(self) -> None:
        self._repo = find_model(self._path, self._name)

    def fingerprint(self) -> dict[str, Any]:
        from ...output.provenance import file_sha256, installed_versions

        out: dict[str, Any] = {"path": self._path, "name": self._name}
        if self._repo is not None:
            out["weights_sha256"] = {f.name: file_sha256(str(f)) for f in self._repo.files}
        out.update(installed_versions("demucs"))
        return out

    # -- submit time --------------------------------------------------------------------------------
    def _check_params(self, verb: str, params: Mapping[str, Any]) -> None:
        from ..audio_in import checked_section

        selection(params)
        checked_section(input_path(params), params, MAX_INPUT_SECONDS, "separates")
        if stem_midi.wanted(params):
            stem_midi.check_available(self.registry)

    def estimate_seconds(self, verb: str, params: Mapping[str, Any]) -> float:
        from ..audio_in import section_seconds

        seconds = section_seconds(params)
        if seconds is None:
            return 1.0
        return seconds * SECONDS_PER_AUDIO_SECOND * max(1, int(params.get("shifts", 1)))

    # -- load ---------------------------------------------------------------------------------------
    def _load(self) -> None:
        from ..torch_util import offline, pick_device

        offline()
        repo = find_model(self._path, self._name)
        device = pick_device(self.device)
        model = _get_model(repo, self.model_name, safe_load.allow_pickle(self.options))
        model.to(device)
        model.eval()
        self._repo, self._model, self.device = repo, model, device
        _warm_up(model, device)
        log.info("demucs %s (%s) loaded on %s: stems %s", self.model_name, repo.name, device, ", ".join(model.sources))

    def _unload(self) -> None:
        self._model = None

    def _memory_estimate(self) -> int:
        from ..torch_util import files_bytes, module_bytes

        if self._model is not None:
            return module_bytes(self._model)
        try:
            repo = find_model(self._path, self._name)
        except DawgenError:
            return 0
        # demucs stores .th weights in half precision and runs them in float32
        return files_bytes(*repo.files) * (1 if repo.safetensors else 2)

    # -- run ------------------------------------------------------------------------------------------
    def _run(self, verb: str, ctx: RunContext) -> list[Output]:
        from ..audio_in import mix_stats, open_section
        from .stream import MixFeed, Settings, Sink, separate

        p, model = ctx.params, self._model
        try:
            outputs = selection(p).outputs(list(model.sources))
            path = input_path(p)
        except ValueError as exc:
            raise DawgenError(ErrorCode.BAD_REQUEST, str(exc)) from None
        settings = Settings(int(p.get("shifts", 1)), float(p.get("overlap", 0.25)), p.get("segment"), self.device)
        _check_segment(model, settings.segment)
        rate, channels = int(model.samplerate), int(model.audio_channels)
        share = stem_midi.separating_share(p)
        ctx.progress(0.0, "reading")
        with tempfile.TemporaryDirectory(prefix="dawgen-demucs-") as tmp:
            source = open_section(path, p, tmp, ctx.check_cancel)
            try:
                mean, std = mix_stats(source, channels)
                std += 1e-8  # as demucs: silence must not divide by zero
                frames = source.frames if source.sample_rate == rate else round(source.frames * rate / source.sample_rate)
                feed = MixFeed(source.blocks(), frames, channels, source.sample_rate, rate, mean, std)
                out_channels = 1 if source.channels == 1 else channels
                sinks = [Sink(source.frames, out_channels, channels, rate, source.sample_rate) for _ in outputs]
                samples = separate(model, feed, sinks, [sources for _, sources in outputs], settings, mean, std,
                                   random.Random(SHIFT_SEED), lambda f: ctx.progress(0.02 + share * f, "separating"))
            finally:
                source.close()
            input_rate = source.sample_rate
        # the folder and every file name start with the same word: `my-song/my-song_vocals.wav`
        stem = slugify(input_stem(path), fallback="input")
        stems = [Audio(s, input_rate, meta={"name": f"{stem}_{word}", "folder": stem, "post": "none", "stem": word,
                                            "title": f"{input_stem(path)} {word}", "sources": list(model.sources)})
                 for (word, _), s in zip(outputs, samples)]
        return stem_midi.finish(stems, ctx, self.registry, share)


def _get_model(repo: RepoModel, model: str, trusted: bool) -> Any:
    """The model's files loaded as weights only (weights.py), with their failures as model_unavailable."""
    from demucs.repo import ModelLoadingError
    from safetensors import SafetensorError

    from .weights import get_model

    where = f"demucs model {repo.name!r} in {repo.folder}"
    try:
        return get_model(repo, model, trusted)
    except SystemExit:  # demucs.utils.fatal() exits the process on some errors: keep the model process
        raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, f"{where} cannot be loaded (demucs gave up; see the log)") from None
    except ModelLoadingError as exc:
        raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, f"{where}: {exc}") from None
    except ImportError as exc:  # quantized models (mdx_q, mdx_extra_q) need diffq
        raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, f"{where} needs a library that is not installed: {exc}") from None
    except (OSError, EOFError, pickle.UnpicklingError, SafetensorError, KeyError, RuntimeError, ValueError,
            TypeError, AttributeError) as exc:
        raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, f"{where}: its files are not a demucs model "
                                                       f"({type(exc).__name__}: {exc})") from None


load_model = _get_model  # public: the audiocraft backend loads a melody model's htdemucs with it


def _members(model: Any) -> list[Any]:
    return list(getattr(model, "models", None) or [model])


def _check_segment(model: Any, segment: float | None) -> None:
    from demucs.htdemucs import HTDemucs

    if segment is None:
        return
    for member in _members(model):
        if isinstance(member, HTDemucs) and segment > float(member.segment):
            raise DawgenError(ErrorCode.BAD_REQUEST, f"segment: this model takes segments of at most "
                                                     f"{float(member.segment):g} s (its transformer's length)")


def _warm_up(model: Any, device: str) -> None:
    """One segment of silence through each member: the first forward pass in a process pays for
    oneDNN's kernel setup (several times a later one), which would otherwise land on the first job."""
    import torch
    from demucs.apply import apply_model

    with torch.inference_mode():
        for member in _members(model):
            frames = int(member.samplerate * member.segment)
            apply_model(member, torch.zeros(1, member.audio_channels, frames), shifts=0, split=False, device=device)
