"""Where a diffusers audio pipeline's files are and what its model_index.json says, without torch.

`path` is a folder in diffusers' layout (what `save_pretrained` writes and what the hub holds for
cvssp/audioldm2, cvssp/audioldm2-music, ucsd-reach/musicldm and stabilityai/stable-audio-open-1.0):
`model_index.json` naming the pipeline class and one subfolder per component; or a Hugging Face
cache snapshot of one, or the `models--...` folder itself (the snapshot `refs/main` names).

The pipeline class comes from model_index.json's `_class_name`; it decides the verbs (only
StableAudioPipeline takes audio in, so only it offers `vary`), the defaults and the length limits.
Every component folder the index names must be there with its config and weights: a download cut
short is named here, at start, not as a library traceback at the first request.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...errors import DawgenError
from ..hf_cache import model_folder, read_json
from ..hf_cache import unavailable as _unavailable

INDEX = "model_index.json"
# weight files a component folder may hold: safetensors first (read without pickle); a torch
# pickle (.bin) loads weights-only (Backend.load's guard), so a file that would run code is refused
WEIGHTS = ("model.safetensors", "diffusion_pytorch_model.safetensors", "model.safetensors.index.json",
           "diffusion_pytorch_model.safetensors.index.json", "pytorch_model.bin", "diffusion_pytorch_model.bin",
           "pytorch_model.bin.index.json", "diffusion_pytorch_model.bin.index.json")
# components that hold no weights: their own files only (tokenizer files, a scheduler or feature
# extractor config)
CONFIG_ONLY = ("tokenizer", "scheduler", "feature_extractor")


@dataclass(frozen=True)
class Family:
    """What differs between the pipelines: defaults (the diffusers pipelines' own), limits, verbs."""

    pipeline: str
    name: str
    steps: int
    guidance: float
    default_seconds: float
    takes_audio: bool  # the pipeline accepts audio in (initial_audio_waveforms): `vary` is offered


FAMILIES = {
    "AudioLDM2Pipeline": Family("AudioLDM2Pipeline", "audioldm2", 200, 3.5, 10.0, False),
    "MusicLDMPipeline": Family("MusicLDMPipeline", "musicldm", 200, 2.0, 10.0, False),
    "StableAudioPipeline": Family("StableAudioPipeline", "stable-audio-open", 100, 7.0, 10.0, True),
}
MAX_LDM_SECONDS = 60.0  # AudioLDM2 / MusicLDM: any length their UNet accepts; trained on ~10 s clips


@dataclass(frozen=True)
class PipelineFiles:
    folder: Path
    index: dict[str, Any]
    family: Family
    components: dict[str, Path]  # component name -> its folder (model components only)
    sample_rate: int
    window_seconds: float  # the longest output: SAO's window; a generous cap for the LDMs
    min_seconds: float

    @property
    def weights(self) -> list[Path]:
        """Every weight file of every component (shards included): the memory estimate's sizes."""
        out: list[Path] = []
        for folder in self.components.values():
            out += sorted(folder.glob("*.safetensors")) or sorted(folder.glob("*.bin"))
        return out

    @property
    def denoiser(self) -> Path | None:
        """The UNet's or DiT's weight file: its hash identifies the model in provenance."""
        for name in ("unet", "transformer"):
            if name in self.components:
                return weight_file(self.components[name])
        return None


def resolve_folder(path: str) -> Path:
    """The folder holding model_index.json: `path` itself, or the snapshot a cache folder points at."""
    return model_folder(path, INDEX,
                        "no `path` given: set path = \"/folder/of/the/pipeline\" in its [models.NAME] entry")


def weight_file(folder: Path) -> Path | None:
    for name in WEIGHTS:
        if (folder / name).exists():
            return folder / name
    return None


def _check_component(folder: Path, name: str) -> Path | None:
    """The component's folder when it is a model (config + weights); None for tokenizers, schedulers
    and feature extractors, which need only their files. A missing folder or file is named."""
    sub = folder / name
    if not sub.is_dir():
        raise _unavailable(f"missing folder {sub} (model_index.json lists the component {name!r})")
    if name.startswith(CONFIG_ONLY):
        if not any(p.exists() for p in sub.iterdir()):
            raise _unavailable(f"missing files in {sub}: the component {name!r} is empty")
        return None
    if not (sub / "config.json").exists():
        raise _unavailable(f"missing file {sub / 'config.json'} (the component {name!r})")
    if weight_file(sub) is None:
        dangling = [p for p in sub.iterdir() if p.is_symlink() and not p.exists()]
        what = f" ({dangling[0].name} links to a blob that is not there)" if dangling else ""
        raise _unavailable(f"missing weights in {sub}: no model.safetensors or diffusion_pytorch_model.safetensors"
                           f"{what}")
    return sub


def _rates(folder: Path, family: Family) -> tuple[int, float, float]:
    """(sample rate, longest output s, shortest output s) from the component configs."""
    if family.takes_audio:
        vae = read_json(folder / "vae" / "config.json")
        dit = read_json(folder / "transformer" / "config.json")
        rate = int(vae.get("sampling_rate", 44100))
        hop = 1
        for ratio in vae.get("downsampling_ratios", [2, 4, 4, 8, 8]):
            hop *= int(ratio)
        return rate, int(dit.get("sample_size", 1024)) * hop / rate, hop / rate
    vocoder = read_json(folder / "vocoder" / "config.json")
    vae = read_json(folder / "vae" / "config.json")
    rate = int(vocoder.get("sampling_rate", 16000))
    hop = 1
    for ratio in vocoder.get("upsample_rates", [5, 4, 2, 2, 2]):
        hop *= int(ratio)
    scale = 2 ** (len(vae.get("block_out_channels", [1, 1, 1, 1])) - 1)
    return rate, MAX_LDM_SECONDS, hop * scale / rate


def check_folder(path: str) -> PipelineFiles:
    """Every file the pipeline needs, or a model_unavailable error naming the first one missing."""
    folder = resolve_folder(path)
    index = read_json(folder / INDEX)
    pipeline = str(index.get("_class_name", ""))
    family = FAMILIES.get(pipeline)
    if family is None:
        known = ", ".join(FAMILIES)
        raise _unavailable(f"{folder / INDEX} names the pipeline {pipeline or '(none)'!r}; the diffusers backend "
                           f"runs {known}")
    components: dict[str, Path] = {}
    for name, spec in index.items():
        if name.startswith("_") or not isinstance(spec, list) or len(spec) != 2 or spec[0] is None:
            continue
        sub = _check_component(folder, name)
        if sub is not None:
            components[name] = sub
    rate, window, shortest = _rates(folder, family)
    return PipelineFiles(folder, index, family, components, rate, window, shortest)


def peek(path: str) -> Family | None:
    """The pipeline family of `path` when model_index.json is readable; None otherwise (cheap:
    the verbs a model offers are chosen from it before any file check)."""
    try:
        index = read_json(resolve_folder(path) / INDEX)
    except DawgenError:
        return None
    return FAMILIES.get(str(index.get("_class_name", "")))
