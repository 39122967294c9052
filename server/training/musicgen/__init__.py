"""The musicgen family of `train` kinds: MusicGen and MusicGen-Melody, full decoder or LoRA.

    musicgen        the whole decoder (and the projections into it) fine-tuned; T5 and EnCodec frozen
    musicgen-lora   a peft LoRA on the decoder layers' attention and MLP linears

`base=` names a configured `musicgen` model with its own weights (a transformers folder). The data
is read like the stable-audio kinds' (dataset.prepare: prompts from sidecars, metadata or file
names, `trigger`), at EnCodec's rate and the model's channels, in windows of up to 30 s (the
model's generation window; `seconds` overrides). Checkpoints (trainee.py):
    step-N/adapter_model.safetensors + adapter_config.json + adapter.json    LoRA (peft's own files)
    step-N/config.json + model.safetensors + tokenizer files ...             full: a transformers folder
This module is torch-free (imported at submit); trainee.py and objective.py import torch.
"""
from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ...backends.musicgen import EXTRA
from ...backends.musicgen.files import ModelFiles, check_folder, weight_file
from ...errors import DawgenError, ErrorCode
from ..audio_family import AudioFamily
from ..families import Source
from ..settings import Settings

MAX_SECONDS = 30.0  # MusicGen was trained on 30 s windows; longer clips are cut into windows
TEXT_TOKENS = 256  # the backend's prompt length (model.py): a melody model's decoder positions hold them
DEFAULT_MAX_LENGTH = 1500  # generation_config.max_length of the published models


def _bad(message: str) -> DawgenError:
    return DawgenError(ErrorCode.BAD_REQUEST, message)


class MusicgenFamily(AudioFamily):
    name = "musicgen"
    kinds = ("musicgen", "musicgen-lora")
    requires = ("torch", "transformers")
    install_hint = f"pip install 'dawgen[{EXTRA}]' (the musicgen extra: torch, transformers, peft)"

    def check_requirements(self, installed: Any, kind: str) -> None:
        """The LoRA kind needs peft beside what every MusicGen model needs."""
        missing = [m for m in (*self.requires, *(("peft",) if kind.endswith("-lora") else ())) if not installed(m)]
        if missing:
            raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, f"train kind={kind} needs {', '.join(missing)} "
                                                           f"(not installed): {self.install_hint}")

    def source(self, backend: Any, params: Mapping[str, Any]) -> Source:
        """The configured musicgen model named by base= (its folder, checked without torch)."""
        kind = str(params.get("kind") or "musicgen")
        base = params.get("base")
        if not base:
            raise _bad(f"base: kind {kind} fine-tunes a configured musicgen model; name it with base=")
        entry = backend.registry.resolve(str(base))  # unknown_model / model_unavailable as for any request
        options = entry.config.options
        if entry.config.backend != "musicgen" or options.get("adapter"):
            raise _bad(f"base: {base!r} is not a musicgen model with its own weights")
        files = check_folder(str(options.get("path") or ""))
        return Source(str(files.folder), str(base), {"trigger": str(params.get("trigger") or "")})

    def dataset(self, run: Any, settings: Settings, source: Source) -> Any:
        files = check_folder(source.path)
        codec = Codec.of(files)
        return self.prepare_audio(run, settings, codec.rate, codec.channels, codec.window_samples(settings.seconds))

    def base_sha256(self, source: Source) -> str | None:
        from ...output.provenance import file_sha256

        weights = weight_file(Path(source.path))
        return file_sha256(str(weights)) if weights is not None else None

    def load(self, settings: Settings, source: Source, device: str) -> Any:
        from . import trainee

        return trainee.load(settings, source, device)


class Codec:
    """EnCodec's rate, hop and channels and the model's generation window, from its config files."""

    def __init__(self, rate: int, hop: int, channels: int, window_frames: int) -> None:
        self.rate, self.hop, self.channels, self.window_frames = rate, hop, channels, window_frames

    @classmethod
    def of(cls, files: ModelFiles) -> Codec:
        codec, decoder = files.config.get("audio_encoder") or {}, files.config.get("decoder") or {}
        rate = int(codec.get("sampling_rate", 32000))
        hop = int(math.prod(int(r) for r in codec.get("upsampling_ratios", [8, 5, 4, 4])))
        return cls(rate, hop, int(decoder.get("audio_channels", 1)), generation_frames(files))

    def window_samples(self, seconds: float | None) -> int:
        """Samples per training example, a whole number of codec frames: `seconds` if given, else
        30 s; never past the model's generation window."""
        wanted = seconds if seconds else MAX_SECONDS
        frames = max(1, min(self.window_frames, int(round(wanted * self.rate / self.hop))))
        return frames * self.hop


def generation_frames(files: ModelFiles) -> int:
    """Codec frames one generate() call holds (the backend's model.py window), read from the files:
    generation_config.max_length less the delay pattern's num_codebooks positions (a melody model's
    decoder positions also hold its chroma and the prompt's tokens)."""
    try:
        generation = json.loads((files.folder / "generation_config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        generation = {}
    decoder = files.config.get("decoder") or {}
    limit = int(generation.get("max_length") or DEFAULT_MAX_LENGTH)
    if files.melody:
        positions = int(decoder.get("max_position_embeddings", 2048)) - int(files.config.get("chroma_length", 235))
        limit = min(limit, positions - TEXT_TOKENS)
    frames = limit - int(decoder.get("num_codebooks", 4))
    if frames < 1:
        raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, f"{files.folder}: generation max_length {limit} leaves "
                                                       "no room to train on")
    return frames


FAMILY = MusicgenFamily()
