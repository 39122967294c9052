"""`rvc`: voice conversion with RVC voices (retrieval-based voice conversion) on rvc-next's model classes.

```toml
[models.rvc]
backend = "rvc"
path = "~/models/rvc"                      # RVC's assets: hubert_base/ and rmvpe.pt (`dawgen pull rvc-base`)
hubert = "~/models/contentvec"             # or name them one by one: ContentVec / HuBERT, a transformers
rmvpe = "~/models/rmvpe.pt"                #   folder or its HF cache folder; RMVPE (f0_method=rmvpe)
voices_dir = "~/models/rvc/voices"         # every NAME.pth in it (and its subfolders), index beside it
separator = "stems"                        # optional: the `separate` model vocals_only uses

[models.rvc.voices]                        # optional: voices named one by one (they win over voices_dir)
alice = "~/Downloads/alice/alice.pth"
bob = { pth = "~/rvc/bob.pth", index = "~/rvc/logs/bob/added_IVF256_Flat_nprobe_1_bob_v2.index" }
```

Verb `convert` (spec.py): `input` in `voice`, transposed by `pitch`, with `index_rate`, `protect`
and `f0_method`; the result is as long as the input, at its rate and channel count, untouched by
loudness or trimming (`post: none`). `vocals_only=true` separates the vocals with a `separate` model
(demucs, roformer) in this process, converts them, and adds back the input minus the vocals, so with
a voice that changed nothing the file would be the input itself, sample for sample.

The content encoder and RMVPE load once (`_load`); each voice loads on first use and stays warm
(MAX_VOICES). Every file is read weights-only (a `.pth` that pickles code is refused). rvc-next is
GPL-3.0, so it is an extra, as Rubber Band is (`make install-rvc`).
"""
from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ...errors import DawgenError, ErrorCode, JobCancelled
from ...output.naming import slugify
from ...params import ParamSpec
from .. import safe_load
from ..base import Audio, Backend, Output, RunContext, module_installed
from ..inputs import input_file, input_stem
from .spec import CONVERT_PARAMS, MAX_INPUT_SECONDS
from .voices import Voice, find_voices, pick

log = logging.getLogger("dawgen.rvc")

EXTRA = "rvc"
RVC_NEXT = "rvc-next==0.2.16"
MAX_VOICES = 4  # voices kept loaded (a 40k v2 voice is ~110 MB in float32)
# A prior for queue ETAs before progress is seen: real-size HuBERT + RMVPE + a 40k v2 voice took 3.8 s per
# audio-second on a 2-core CPU (bench/rvc.py; 2.7 s with f0_method=pm; 12 s when other work shared the
# cores); a GPU is far faster.
SECONDS_PER_AUDIO_SECOND = 4.0


class RvcBackend(Backend):
    name: ClassVar[str] = "rvc"
    version: ClassVar[str] = "1"
    requires: ClassVar[tuple[str, ...]] = ("torch", "transformers", "librosa", "rvc_next")
    extra: ClassVar[str] = EXTRA
    install_hint: ClassVar[str] = (f"make install-rvc (pip install 'dawgen[rvc]', then pip install --no-deps "
                                   f"{RVC_NEXT})")
    verbs: ClassVar[Mapping[str, Sequence[ParamSpec]]] = {"convert": CONVERT_PARAMS}
    config_keys: ClassVar[Mapping[str, type]] = {"path": str, "hubert": str, "rmvpe": str, "voices_dir": str,
                                                 "voices": dict, "separator": str, **safe_load.CONFIG_KEYS}

    def __init__(self, model_name: str, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(model_name, options)
        self.device = str(self.options.get("device") or "auto")
        self._runtime: Any = None
        self._voices: OrderedDict[str, tuple[tuple[str, int], Any, Any]] = OrderedDict()

    # -- availability ----------------------------------------------------------------------------------
    @property
    def hubert_path(self) -> str:
        """`hubert`, else `path`/hubert_base (RVC's asset layout, as `dawgen pull rvc-base` fetches it)."""
        if self.options.get("hubert"):
            return str(self.options["hubert"])
        return str(Path(str(self.options["path"])).expanduser() / "hubert_base") if self.options.get("path") else ""

    @property
    def rmvpe_path(self) -> str:
        """`rmvpe`, else `path`/rmvpe.pt (RVC WebUI) or `path`/rmvpe/rmvpe.pt (rvc-next's assets)."""
        if self.options.get("rmvpe") is not None:
            return str(self.options["rmvpe"])
        if not self.options.get("path"):
            return ""
        root = Path(str(self.options["path"])).expanduser()
        return next((str(p) for p in (root / "rmvpe.pt", root / "rmvpe" / "rmvpe.pt") if p.is_file()), "")

    def voices(self) -> dict[str, Voice]:
        return find_voices(self.options, self.model_name)

    def _check_available(self) -> None:
        if not self.hubert_path:
            raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, f"models.{self.model_name}: needs `hubert` (the "
                                                           "ContentVec / HuBERT folder RVC voices read) or `path` "
                                                           "(a folder holding hubert_base/ and rmvpe.pt)")
        self.voices()

    def describe(self) -> dict[str, Any]:
        out = super().describe()
        try:
            out["voices"] = sorted(self.voices())
        except DawgenError:
            out["voices"] = []
        return out

    def fingerprint(self) -> dict[str, Any]:
        from ...output.provenance import installed_versions

        out: dict[str, Any] = {"hubert": self.hubert_path, "rmvpe": self.rmvpe_path}
        for version in installed_versions("rvc-next").values():
            out["rvc_next"] = version  # the key its files have always carried
        return out

    # -- submit time ---------------------------------------------------------------------------------
    def _check_params(self, verb: str, params: Mapping[str, Any]) -> None:
        from ..audio_in import checked_section

        checked_section(input_file(params, "input", "the audio to convert"), params, MAX_INPUT_SECONDS, "converts")
        if not params.get("voice"):
            raise ValueError(f"voice: required (voices of model {self.model_name}: {', '.join(sorted(self.voices())) or 'none'})")
        pick(self.voices(), str(params["voice"]), self.model_name)
        if params.get("f0_method", "rmvpe") == "rmvpe" and not self.rmvpe_path:
            raise ValueError(f"f0_method=rmvpe: model {self.model_name} has no `rmvpe` file configured (or use f0_method=pm)")
        if params.get("vocals_only"):
            self._separator_name()

    def estimate_seconds(self, verb: str, params: Mapping[str, Any]) -> float:
        from ..audio_in import section_seconds

        return (section_seconds(params) or 10.0) * SECONDS_PER_AUDIO_SECOND * (2 if params.get("vocals_only") else 1)

    # -- load ------------------------------------------------------------------------------------------
    def _load(self) -> None:
        from ..torch_util import offline, pick_device
        from .convert import Runtime
        from .models import load_hubert, load_rmvpe

        offline()
        device = pick_device(self.device)
        trusted = safe_load.allow_pickle(self.options)
        providers: dict[str, Any] = {}
        if self.rmvpe_path:
            providers["rmvpe"] = load_rmvpe(self.rmvpe_path, device, self.model_name, trusted)
        from rvc_next.engine.f0.pm import PmProvider

        providers["pm"] = PmProvider()
        self._runtime = Runtime(device, load_hubert(self.hubert_path, device), providers)
        self.device = device
        log.info("rvc %s loaded on %s", self.model_name, device)

    def _unload(self) -> None:
        self._runtime = None
        self._voices.clear()

    def _memory_estimate(self) -> int:
        from ..torch_util import files_bytes, module_bytes

        if self._runtime is not None:
            mods = [self._runtime.hubert_model, *(v[1].net_g for v in self._voices.values())]
            rmvpe = self._runtime.providers.get("rmvpe")
            return module_bytes(*mods, *([rmvpe.model.model] if rmvpe is not None else []))
        try:
            from .models import hubert_folder

            folder = hubert_folder(self.hubert_path)
        except DawgenError:
            return 0
        weights = [p for p in folder.iterdir() if p.suffix in (".bin", ".safetensors")]
        return files_bytes(*weights, *([self.rmvpe_path] if self.rmvpe_path else []))

    def _voice(self, voice: Voice, index_rate: float) -> tuple[Any, Any]:
        """(LoadedVoice, LoadedIndex or None), loaded once per file and modification time."""
        from .models import load_index, load_voice

        key = (str(voice.pth), voice.pth.stat().st_mtime_ns)
        held = self._voices.get(voice.name)
        if held is None or held[0] != key:
            loaded = load_voice(voice.pth, self.device, self.model_name, safe_load.allow_pickle(self.options))
            held = (key, loaded, None)
        if index_rate > 0 and voice.index is not None and held[2] is None:
            held = (held[0], held[1], load_index(voice.index))
        self._voices[voice.name] = held
        self._voices.move_to_end(voice.name)
        while len(self._voices) > MAX_VOICES:
            self._voices.popitem(last=False)
        return held[1], (held[2] if index_rate > 0 else None)

    # -- run -------------------------------------------------------------------------------------------
    def _run(self, verb: str, ctx: RunContext) -> list[Output]:
        from ...output.provenance import file_sha256
        from .convert import convert

        p = ctx.params
        voice = pick(self.voices(), str(p.get("voice") or ""), self.model_name)
        if p.get("f0_method", "rmvpe") not in self._runtime.providers:
            raise DawgenError(ErrorCode.BAD_REQUEST, f"f0_method=rmvpe: model {self.model_name} has no `rmvpe` file")
        if p.get("f0_method") == "pm" and not module_installed("parselmouth"):
            raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, f"f0_method=pm needs praat-parselmouth (not installed): "
                                                           f"{self.install_command()}")
        path = input_file(p, "input", "the audio to convert")
        samples, rate = _read(path, p, ctx)
        vocals_only = bool(p.get("vocals_only"))
        share = (0.05, 0.45) if vocals_only else (0.05, 0.05)
        source = self._vocals(path, samples, rate, ctx, share) if vocals_only else samples
        ctx.progress(share[0] + share[1], "loading voice")
        net, index = self._voice(voice, float(p.get("index_rate", 0.75)))
        lo = share[0] + share[1]
        mono = source.mean(axis=1) if source.shape[1] > 1 else source[:, 0]
        converted = convert(mono, rate, self._runtime, net, p, index,
                            lambda f: ctx.progress(lo + (0.98 - lo) * f, "converting"))
        out = converted[:, None] + (samples - source)  # vocals_only: the accompaniment, exactly as it was
        if not vocals_only:
            out = np.repeat(converted[:, None], samples.shape[1], axis=1)
        stem = slugify(input_stem(path), fallback="input")
        meta = {"name": f"{stem}_{slugify(voice.name, fallback='voice')}", "post": "none", "voice": voice.name,
                "title": f"{input_stem(path)} as {voice.name}", "voice_sha256": file_sha256(str(voice.pth)),
                "index": voice.index.name if index is not None else None}
        return [Audio(out.astype(np.float32), rate, meta=meta)]

    def _separator_name(self) -> str:
        """The model vocals_only separates with: `separator`, else the first that does `separate`."""
        if self.registry is None:
            raise ValueError("vocals_only: this model has no registry to find a `separate` model in")
        name = self.options.get("separator")
        if name:
            entry = self.registry.get(str(name))
            if entry is None or entry.backend is None or "separate" not in entry.backend.verbs:
                raise ValueError(f"vocals_only: separator {name!r} is not a model that does `separate`")
            return str(name)
        try:
            found = self.registry.model_for("separate")
        except DawgenError as exc:
            raise ValueError(f"vocals_only: {exc.message}") from None
        entry = self.registry.get(found)
        if entry is None or entry.backend is None or "separate" not in entry.backend.verbs:
            raise ValueError("vocals_only: no configured model does `separate` (add a demucs or roformer model)")
        return found

    def _vocals(self, path: str, samples: np.ndarray, rate: int, ctx: RunContext,
                share: tuple[float, float]) -> np.ndarray:
        """The vocals of the input, (frames, channels) like `samples`, from the separator model."""
        name = self._separator_name()
        backend = self.registry.backend(name)
        sub = RunContext({"input": path, "mode": "only:vocals"}, lambda f, stage: ctx.progress(share[0] + share[1] * f, "separating"))
        try:
            outputs = backend.run("separate", sub)
        except JobCancelled:
            raise
        except DawgenError as exc:  # e.g. a separator without a `vocals` stem: say which step failed
            raise DawgenError(exc.code, f"vocals_only: separating with {name}: {exc.message}") from None
        vocals = next((o for o in outputs if isinstance(o, Audio)), None)
        if vocals is None or vocals.sample_rate != rate:
            raise DawgenError(ErrorCode.BACKEND_FAILED, f"vocals_only: {name} returned no vocals at the input's rate")
        v = vocals.samples
        if v.shape[1] != samples.shape[1]:
            v = np.repeat(v.mean(axis=1, keepdims=True), samples.shape[1], axis=1)
        if v.shape[0] != samples.shape[0]:
            raise DawgenError(ErrorCode.BACKEND_FAILED, f"vocals_only: {name}'s vocals are {v.shape[0]} frames, "
                                                        f"the input {samples.shape[0]}")
        return v.astype(np.float32, copy=False)


def _read(path: str, params: Mapping[str, Any], ctx: RunContext) -> tuple[np.ndarray, int]:
    from ..audio_in import read_selected

    ctx.progress(0.0, "reading")
    return read_selected(path, params, ctx.check_cancel, "dawgen-rvc-")
