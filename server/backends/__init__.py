"""Backends by name. Each is imported lazily, so a missing optional extra only affects its models."""
from __future__ import annotations

import importlib

from ..errors import DawgenError, ErrorCode

# backend name -> "module:Class". Add a family here; its module is imported on first use only.
BACKENDS: dict[str, str] = {
    "synth": "server.backends.synth:SynthBackend",
    "musicgen": "server.backends.musicgen:MusicgenBackend",
    "bark": "server.backends.bark:BarkBackend",
    "demucs": "server.backends.demucs:DemucsBackend",
    "midi": "server.backends.midi:MidiBackend",
    "stable-audio": "server.backends.stable_audio:StableAudioBackend",
    "audiocraft": "server.backends.audiocraft:AudiocraftBackend",
    "transcribe": "server.backends.transcribe:TranscribeBackend",
    "roformer": "server.backends.roformer:RoformerBackend",
    "process": "server.backends.process:ProcessBackend",
    "deepfilternet": "server.backends.deepfilternet:DeepFilterNetBackend",
    "diffusers": "server.backends.diffusers:DiffusersBackend",
    "train": "server.training.job:TrainBackend",  # training lives beside the backends, not in them
}


def backend_class(name: str) -> type:
    target = BACKENDS.get(name)
    if target is None:
        known = ", ".join(sorted(BACKENDS))
        raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, f"backend {name!r} is not part of this dawgen (available: {known})")
    module_name, _, attr = target.partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, attr)
