"""Tiny audiocraft models (MusicGen, AudioGen, MAGNeT) with random weights, in audiocraft's own
checkpoint layout: a folder with `state_dict.bin` and `compression_state_dict.bin`, each
`{"xp.cfg": <yaml>, "best_state": <state dict>}`, as audiocraft's trainer exports them and as
`MusicGen.get_pretrained(folder)` reads them.

The configurations are audiocraft's own solver configs composed with hydra (`musicgen/debug`,
`audiogen/debug`, `compression/debug`; MAGNeT: `magnet/magnet_32khz` at the `xsmall` scale), read
from the `config/` folder of audiocraft's source release, which `make install-audiocraft` puts in
`<venv>/dawgen-audiocraft/config` (the wheel does not carry it). Changed from the debug settings: 4
codebooks of 400 codes (`rvq.n_q=4 rvq.bins=400`), a `lut` text conditioner with the `noop`
tokenizer (T5 wants a hub name), CPU, and a short `dataset.segment_duration` (the model's window: above
audiocraft's default `extend_stride` of 18 s, which MusicGen asserts on load).
Used by the tests and by bench/audiocraft.py.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

SOLVERS = {"musicgen": "musicgen/debug", "audiogen": "audiogen/debug", "magnet": "magnet/magnet_32khz"}
RATES = {"musicgen": 32000, "audiogen": 16000, "magnet": 32000}
SCALE = 3.0  # LM weights times this: random init samples near uniformly, ignoring the prompt


def config_folder() -> Path:
    return Path(sys.prefix) / "dawgen-audiocraft" / "config"


def _compose(solver: str, overrides: list[str]) -> Any:
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(config_folder()), version_base="1.1"):
        cfg = compose(config_name="config", overrides=[f"solver={solver}", "device=cpu", *overrides])
    GlobalHydra.instance().clear()
    return cfg


def _lm_overrides(family: str, window_s: int, scale: str, melody: bool = False) -> list[str]:
    out = ["conditioner=chroma2music"] if melody else []
    out += ["transformer_lm.n_q=4", "transformer_lm.card=400", f"dataset.segment_duration={window_s}",
           "conditioners.description.model=lut", "+conditioners.description.lut.n_bins=64",
           "+conditioners.description.lut.dim=16", "+conditioners.description.lut.tokenizer=noop",
           "autocast=false", "efficient_attention_backend=torch"]
    out.append(f"model/lm/model_scale={scale}")
    if family == "magnet":
        out += ["compression_model_checkpoint=null",
                "transformer_lm.compression_model_framerate=50", "masking.span_len=3", "transformer_lm.memory_efficient=true"]
    return out


def _compression(family: str) -> Any:
    import torch
    from audiocraft.models import builders

    rate = RATES[family]
    cfg = _compose("compression/debug", ["rvq.n_q=4", "rvq.bins=400", f"sample_rate={rate}",
                                         f"encodec.sample_rate={rate}"])
    torch.manual_seed(0)
    model = builders.get_compression_model(cfg)
    model.train()  # a fresh RVQ initialises its codebooks on its first forward pass in train mode
    with torch.no_grad():
        model(torch.randn(2, 1, rate // 2))
    model.eval()
    return cfg, model


def build(folder: Path, family: str = "musicgen", window_s: int | None = None, seed: int = 0,
          scale: str = "xsmall", melody: bool = False) -> Path:
    """Write a tiny model of `family` ("musicgen", "audiogen", "magnet") into `folder`. MAGNeT always
    makes its whole window (1 s by default); MusicGen and AudioGen need one above 18 s (20 s).
    `scale`: audiocraft's LM sizes (xsmall, small = MusicGen-small's 300M, medium, large). `melody`:
    MusicGen-melody's conditioners (`conditioner=chroma2music`: a chroma_stem conditioner on the
    vocals + other stems of demucs' htdemucs, prepended with the text), loaded with `stem_repo`."""
    window_s = window_s or (1 if family == "magnet" else 20)
    from server.backends.audiocraft.imports import import_library

    import_library()  # torchaudio and spacy as the backend provides them
    import torch
    from audiocraft.models import builders
    from omegaconf import OmegaConf

    folder.mkdir(parents=True, exist_ok=True)
    ccfg, compression = _compression(family)
    cfg = _compose(SOLVERS[family], _lm_overrides(family, window_s, scale, melody))
    frame_rate = int(compression.frame_rate)
    if family == "magnet":
        cfg.transformer_lm.compression_model_framerate = frame_rate
        cfg.transformer_lm.segment_duration = cfg.dataset.segment_duration
        cfg.transformer_lm.span_len = cfg.masking.span_len
    from server.backends.audiocraft.model import stems_from

    stems = None
    if melody:  # the conditioner is built with a stem model; only its chroma settings are saved
        from tests.server.backends import demucs_tiny

        stems = demucs_tiny.build(demucs_tiny.SOURCES4)
    torch.manual_seed(seed)
    with stems_from(stems):
        lm = builders.get_lm_model(cfg)
    with torch.no_grad():
        for p in lm.parameters():
            p.mul_(SCALE)
    for name, c, state in (("state_dict.bin", cfg, lm.state_dict()),
                           ("compression_state_dict.bin", ccfg, compression.state_dict())):
        torch.save({"xp.cfg": OmegaConf.to_yaml(c), "best_state": state}, folder / name)
    return folder


def stem_repo(folder: Path) -> Path:
    """A demucs repo folder whose `htdemucs` (the name audiocraft's chroma_stem conditioner asks
    demucs for) is a tiny 4-stem HTDemucs in demucs' own format (demucs_tiny.py)."""
    from tests.server.backends import demucs_tiny

    signature = "0a1b2c3d"
    demucs_tiny.save(demucs_tiny.build(demucs_tiny.SOURCES4, seed=7), folder, signature)
    demucs_tiny.write_bag(folder, "htdemucs", [signature])
    return folder


MBD_FILE = "mbd_musicgen_32khz.th"  # as the hub repo facebook/multiband-diffusion names it


def build_mbd(folder: Path, model_folder: Path, bands: int = 2, seed: int = 0) -> Path:
    """A tiny MultiBand Diffusion decoder for the MusicGen in `model_folder` (its EnCodec's latent
    size), written as audiocraft's `load_diffusion_models` reads `mbd_musicgen_32khz.th`: `{"sample_rate",
    "n_bands", i: {"cfg", "model_state", "processor_state"}}`, one U-Net per band. Each band is
    audiocraft's `diffusion/debug` solver config (`model/score/basic` U-Net, 2 levels of 8 channels)
    with its multi-band sample processor on and fitted to noise, as training leaves it."""
    from server.backends.audiocraft.imports import import_library

    import_library()
    import torch
    from audiocraft.models import builders, loaders

    compression = loaders.load_compression_model(str(model_folder))
    rate, codec_dim = int(compression.sample_rate), int(compression.quantizer.dimension)
    folder.mkdir(parents=True, exist_ok=True)
    package: dict[Any, Any] = {"sample_rate": rate, "n_bands": bands}
    for band in range(bands):
        cfg = _compose("diffusion/debug", [f"sample_rate={rate}", "channels=1", "device=cpu",
                                           f"diffusion_unet.codec_dim={codec_dim}", "diffusion_unet.hidden=8",
                                           "diffusion_unet.depth=2", "processor.use=true", "processor.n_bands=4",
                                           "filter.use=true", f"filter.n_bands={bands}", f"filter.idx_band={band}"])
        torch.manual_seed(seed + band)
        unet = builders.get_diffusion_model(cfg)
        processor = builders.get_processor(cfg.processor, sample_rate=rate)
        processor.project_sample(0.1 * torch.randn(4, 1, rate // 2))  # fitted statistics, not zeros
        package[band] = {"cfg": cfg, "model_state": unet.state_dict(), "processor_state": processor.state_dict()}
    torch.save(package, folder / MBD_FILE)
    return folder
