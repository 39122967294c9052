"""The stable-audio family of `train` kinds: Dance Diffusion and Stable Audio, full or LoRA.

Job-side hooks (families.Family). The model itself is models.py (Trainee), its loss and demo
renders objective.py, the checkpoint files it writes sa_checkpoint.py.
"""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..backends.stable_audio.imports import INSTALL_HINT, REQUIRED
from ..errors import DawgenError, ErrorCode
from .audio_family import AudioFamily
from .families import Source
from .settings import TRAIN_PARAMS, Settings


def _bad(message: str) -> DawgenError:
    return DawgenError(ErrorCode.BAD_REQUEST, message)


class StableAudioFamily(AudioFamily):
    name = "stable-audio"
    kinds = ("dance-diffusion", "dance-diffusion-lora", "stable-audio", "stable-audio-lora")
    requires = REQUIRED
    install_hint = INSTALL_HINT

    def source(self, backend: Any, params: Mapping[str, Any]) -> Source:
        """A configured stable-audio model (base=) or, for dance-diffusion, a model_config.json."""
        settings = Settings.from_params({"kind": params.get("kind") or TRAIN_PARAMS[0].default})
        base = params.get("base")
        if base:
            entry = backend.registry.resolve(str(base))  # unknown_model / model_unavailable as for any request
            if entry.config.backend != "stable-audio" or entry.config.options.get("adapter"):
                raise _bad(f"base: {base!r} is not a stable-audio model with its own weights")
            options = entry.config.options
            return Source(str(options.get("path") or ""), str(base), {"t5_path": str(options.get("t5_path") or ""),
                                                                      "trigger": str(params.get("trigger") or "")})
        if settings.family == "stable-audio":
            raise _bad(f"base: kind {settings.kind} fine-tunes a configured stable-audio model; name it with base=")
        config = Path(str(params.get("config") or "")).expanduser()
        if not params.get("config") or not config.is_file() or config.suffix != ".json":
            raise _bad("dance-diffusion needs base= (a configured model) or config= (a model_config.json to "
                       "build a fresh model from)")
        if settings.lora:
            raise _bad("config: a LoRA adapts trained weights; name a base model instead")
        return Source(str(config), config.parent.name, {"t5_path": ""})

    @staticmethod
    def files(source: Source) -> Any:
        from .models import source_files

        return source_files(source.path, str(source.options.get("t5_path") or ""))

    def dataset(self, run: Any, settings: Settings, source: Source) -> Any:
        from .dataset import default_window_frames

        files = self.files(source)
        window = int(round(settings.seconds * files.sample_rate)) if settings.seconds else \
            min(files.window, default_window_frames(settings.kind, files.sample_rate))
        return self.prepare_audio(run, settings, files.sample_rate, files.channels, window)

    def base_sha256(self, source: Source) -> str | None:
        from ..output.provenance import file_sha256

        weights = self.files(source).weights
        return file_sha256(str(weights)) if weights is not None and weights.is_file() else None

    def preflight(self, run: Any, settings: Settings, source: Source) -> None:
        from . import preflight

        files = self.files(source)
        if files.weights is None or files.weights.suffix != ".safetensors" or not files.weights.is_file():
            return  # a .ckpt or a fresh model: counted once loaded is not worth a second load here
        device = run.device
        shape = preflight.shape_of_files(files.config, files.weights, files.t5_folder)
        budget = run.backend.registry.budgets.for_device(device)
        preflight.check(preflight.estimate(shape, settings, device), budget, shape, settings, device)

    def load(self, settings: Settings, source: Source, device: str) -> Any:
        from . import models

        trainee = models.load(settings, source.path, str(source.options.get("t5_path") or ""), device, source.base_name)
        trainee.trigger = str(source.options.get("trigger") or "")
        return trainee


FAMILY = StableAudioFamily()
