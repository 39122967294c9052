"""`roformer`: stems with the UVR / MSST RoFormer models (BS-RoFormer, Mel-Band RoFormer) from local files.

`[models.NAME] backend = "roformer"`, `path = FILE.ckpt` (the published checkpoint), `config =
FILE.yaml` (default: the .yaml of the same name beside it), `model_type = "bs_roformer" |
"mel_band_roformer"` (default: read from the yaml). The classes are audio-separator 0.47.1's copies
of the MSST code, loaded by path (library.py explains why); the `.ckpt` is read weights-only. Verb
`separate` takes the demucs backend's parameters and keeps its guarantees: one file per stem,
`<input-name>_<stem>` in a folder named after the input, exactly as long as the input and
sample-aligned with it (`post: none`); `only:` / `without:`; `start`/`end`; `transcribe=`. The stems
are the yaml's `training.instruments` (plus the residual, mix − target, of a one-target model).
Chunks of the config's `audio.chunk_size` overlap as its `inference.num_overlap` says; memory does
not grow with the song (stream.py); progress and cancel per chunk. torch is imported in `_load`/`_run`.
"""
from __future__ import annotations

import logging
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from ...errors import DawgenError, ErrorCode
from ...output.naming import slugify
from ...params import ParamSpec
from .. import safe_load, stem_midi
from ..base import Audio, Backend, Output, RunContext
from ..inputs import input_stem
from . import config as cfg
from .library import INSTALL
from .spec import MAX_INPUT_SECONDS, ROFORMER_PARAMS, input_path, selection

log = logging.getLogger("dawgen.roformer")

EXTRA = "roformer"
# A prior for queue ETAs before progress is seen (a real-size BS-RoFormer on a 2-core CPU; bench/stems.py).
SECONDS_PER_AUDIO_SECOND = 3.0


class RoformerBackend(Backend):
    name: ClassVar[str] = "roformer"
    version: ClassVar[str] = "1"
    requires: ClassVar[tuple[str, ...]] = ("torch", "audio_separator", "beartype", "einops", "rotary_embedding_torch",
                                           "librosa", "yaml")
    extra: ClassVar[str] = EXTRA
    install_hint: ClassVar[str] = INSTALL
    verbs: ClassVar[Mapping[str, Sequence[ParamSpec]]] = {"separate": ROFORMER_PARAMS}
    config_keys: ClassVar[Mapping[str, type]] = {"path": str, "config": str, "model_type": str, **safe_load.CONFIG_KEYS}

    def __init__(self, model_name: str, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(model_name, options)
        self.device = str(self.options.get("device") or "auto")
        self._model: Any = None
        self.config: cfg.RoformerConfig | None = None

    @property
    def model(self) -> Any:
        return self._model

    @property
    def _ckpt(self) -> Path:
        return Path(str(self.options.get("path") or "")).expanduser()

    def _read_config(self) -> cfg.RoformerConfig:
        ckpt = self._ckpt
        if not str(self.options.get("path") or "") or not ckpt.is_file():
            raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, f"model {self.model_name}: path {ckpt} is not a file "
                                                           f"(a RoFormer .ckpt)")
        path = cfg.config_path(ckpt, str(self.options.get("config") or ""))
        return cfg.read(path, str(self.options.get("model_type") or ""), f"model {self.model_name}")

    # -- availability and provenance --------------------------------------------------------------
    def _check_available(self) -> None:
        self.config = self._read_config()

    def fingerprint(self) -> dict[str, Any]:
        from ...output.provenance import file_sha256, installed_versions

        out: dict[str, Any] = {"path": str(self._ckpt)}
        if self._ckpt.is_file():
            out["weights_sha256"] = file_sha256(str(self._ckpt))
        if self.config is not None:
            out["model_type"], out["stems"] = self.config.model_type, self.config.stems
        out.update(installed_versions("audio-separator"))
        return out

    # -- submit time --------------------------------------------------------------------------------
    def _check_params(self, verb: str, params: Mapping[str, Any]) -> None:
        from ..audio_in import checked_section

        chosen = selection(params)
        if self.config is not None:  # the stems are known from the yaml: a wrong name is refused now
            chosen.outputs(self.config.stems)
        checked_section(input_path(params), params, MAX_INPUT_SECONDS, "separates")
        if stem_midi.wanted(params):
            stem_midi.check_available(self.registry)

    def estimate_seconds(self, verb: str, params: Mapping[str, Any]) -> float:
        from ..audio_in import section_seconds

        seconds = section_seconds(params)
        return 1.0 if seconds is None else seconds * SECONDS_PER_AUDIO_SECOND

    # -- load ---------------------------------------------------------------------------------------
    def _load(self) -> None:
        from ..torch_util import offline, pick_device
        from .library import build, load_weights

        offline()
        config = self._read_config()
        device = pick_device(self.device)
        model = build(config.model_type, config.model, f"model {self.model_name}")
        load_weights(model, self._ckpt, safe_load.allow_pickle(self.options), self.model_name)
        self._model, self.config, self.device = model.to(device).eval(), config, device
        log.info("roformer %s (%s) loaded on %s: stems %s", self.model_name, config.model_type, device,
                 ", ".join(config.stems))

    def _unload(self) -> None:
        self._model = None

    def _memory_estimate(self) -> int:
        from ..torch_util import files_bytes, module_bytes

        if self._model is not None:
            return module_bytes(self._model)
        return files_bytes(self._ckpt) if self._ckpt.is_file() else 0

    # -- run ------------------------------------------------------------------------------------------
    def _run(self, verb: str, ctx: RunContext) -> list[Output]:
        from ..audio_in import mix_stats, open_section
        from ..chunks import MixFeed, Sink
        from .stream import plan, separate

        p, config = ctx.params, self.config
        assert config is not None
        try:
            outputs = selection(p).outputs(config.stems)
            path = input_path(p)
        except ValueError as exc:
            raise DawgenError(ErrorCode.BAD_REQUEST, str(exc)) from None
        rate, channels = config.sample_rate, config.channels
        share = stem_midi.separating_share(p)
        ctx.progress(0.0, "reading")
        with tempfile.TemporaryDirectory(prefix="dawgen-roformer-") as tmp:
            source = open_section(path, p, tmp, ctx.check_cancel)
            try:
                mean, std = mix_stats(source, channels) if config.normalize else (0.0, 1.0)
                std += 1e-8 if config.normalize else 0.0  # silence must not divide by zero
                frames = source.frames if source.sample_rate == rate else round(source.frames * rate / source.sample_rate)
                feed = MixFeed(source.blocks(), frames, channels, source.sample_rate, rate, mean, std)
                out_channels = 1 if source.channels == 1 else channels
                sinks = [Sink(source.frames, out_channels, channels, rate, source.sample_rate) for _ in outputs]
                layout = plan(frames, _chunk_frames(config, p.get("segment")), config.num_overlap, p.get("overlap"))
                samples = separate(self._model, feed, sinks, [s for _, s in outputs], layout, config.residual is not None,
                                   mean, std, self.device,
                                   lambda f: ctx.progress(0.02 + share * f, "separating"))
            finally:
                source.close()
            input_rate = source.sample_rate
        stem = slugify(input_stem(path), fallback="input")
        stems = [Audio(s, input_rate, meta={"name": f"{stem}_{word}", "folder": stem, "post": "none", "stem": word,
                                            "title": f"{input_stem(path)} {word}", "sources": config.stems})
                 for (word, _), s in zip(outputs, samples)]
        return stem_midi.finish(stems, ctx, self.registry, share)


def _chunk_frames(config: cfg.RoformerConfig, segment: Any) -> int:
    """The request's `segment` (s) or the config's chunk, a multiple of the STFT hop (the model gives
    back whole hops only)."""
    if segment is None:
        return config.chunk
    return max(config.hop, int(float(segment) * config.sample_rate) // config.hop * config.hop)
