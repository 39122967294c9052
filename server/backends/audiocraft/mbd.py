"""MultiBand Diffusion (`decoder = "mbd"`): MusicGen's tokens decoded by audiocraft's diffusion decoder.

`[models.NAME] mbd_path = FOLDER`: a folder holding `mbd_musicgen_32khz.th`, the file the hub
repository facebook/multiband-diffusion holds and `MultiBandDiffusion.get_mbd_musicgen` reads (a
Hugging Face cache entry `models--facebook--multiband-diffusion` resolves to its snapshot), or that
file itself. The file is `{"sample_rate", "n_bands", i: {"cfg", "model_state", "processor_state"}}`:
per frequency band a diffusion U-Net, its sample processor and the omegaconf config they are built
from. torch's weights-only unpickler cannot rebuild omegaconf objects, so it is read by a restricted
unpickler that names only torch's tensor globals and omegaconf's config classes
(safe_load.load_torch_restricted). The codec is the MusicGen checkpoint's own EnCodec, as
get_mbd_musicgen uses MusicGen-small's.

Each row is decoded alone with torch's generator seeded `seed + row`: the diffusion noise and the
EQ matching (statistics over the whole batch in audiocraft) then do not depend on `count`, and
`dawgen regen` makes the same file. Only `find` runs without torch.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from ...errors import DawgenError, ErrorCode
from .files import resolve

MBD_FILE = "mbd_musicgen_32khz.th"
# what a real MBD file's configs pickle: omegaconf's containers, nodes and metadata, and the builtins
# and typing.Any its metadata names as types
CONFIG_GLOBALS = ("omegaconf.dictconfig.DictConfig", "omegaconf.listconfig.ListConfig",
                  "omegaconf.base.ContainerMetadata", "omegaconf.base.Metadata", "omegaconf.nodes.AnyNode",
                  "omegaconf.nodes.StringNode", "omegaconf.nodes.IntegerNode", "omegaconf.nodes.FloatNode",
                  "omegaconf.nodes.BooleanNode", "typing.Any", "collections.defaultdict", "builtins.int",
                  "builtins.float", "builtins.str", "builtins.bool", "builtins.list", "builtins.dict",
                  "builtins.tuple")


def find(model_name: str, mbd_path: str) -> Path:
    """The MBD file `mbd_path` names; model_unavailable naming what is missing."""
    if not mbd_path:
        raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, f"models.{model_name}: decoder = \"mbd\" needs `mbd_path`: a "
                                                       f"folder holding {MBD_FILE} (from facebook/multiband-diffusion)")
    given = Path(mbd_path).expanduser()
    file = given if given.is_file() else resolve(str(given)) / MBD_FILE
    if not file.is_file():
        raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, f"{file}: missing; decoder = \"mbd\" needs MultiBand "
                                                       f"Diffusion's {MBD_FILE} (facebook/multiband-diffusion) "
                                                       "there, or leave decoder out for EnCodec")
    return file


def load(file: Path, codec: Any, device: str, trusted: bool = False, model_name: str = "") -> Any:
    """audiocraft's MultiBandDiffusion from `file`, decoding through `codec` (the MusicGen's EnCodec)."""
    from audiocraft.models import builders
    from audiocraft.models.multibanddiffusion import DiffusionProcess, MultiBandDiffusion
    from audiocraft.modules.diffusion_schedule import NoiseSchedule

    from ..safe_load import load_torch_restricted

    package = load_torch_restricted(file, CONFIG_GLOBALS, trusted=trusted, model=model_name)
    try:
        rate, bands = int(package["sample_rate"]), int(package["n_bands"])
        if rate != int(codec.sample_rate):
            raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, f"{file}: decodes {rate} Hz audio, but this model's "
                                                           f"EnCodec makes {codec.sample_rate} Hz")
        processes = []
        for band in range(bands):
            cfg = package[band]["cfg"]
            unet = builders.get_diffusion_model(cfg)
            unet.load_state_dict(package[band]["model_state"])
            processor = builders.get_processor(cfg=cfg.processor, sample_rate=rate)
            processor.load_state_dict(package[band]["processor_state"])
            schedule = NoiseSchedule(**cfg.schedule, sample_processor=processor.to(device), device=device)
            processes.append(DiffusionProcess(model=unet.to(device).eval(), noise_schedule=schedule))
    except (KeyError, TypeError, ValueError, AttributeError, RuntimeError) as exc:
        raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, f"{file}: not a MultiBand Diffusion checkpoint "
                                                       f"({type(exc).__name__}: {exc})") from None
    return MultiBandDiffusion(DPs=processes, codec_model=codec)


def decode(mbd: Any, tokens: Any, seed: int, on_row: Any = None) -> Any:
    """(batch, n_q, frames) tokens → (batch, channels, samples) audio, row i from seed + i."""
    import torch

    rows = []
    for i in range(tokens.shape[0]):
        torch.manual_seed(seed + i)
        with torch.no_grad():
            rows.append(mbd.tokens_to_wav(tokens[i:i + 1]))
        if on_row is not None:
            on_row(i + 1, tokens.shape[0])
    return torch.cat(rows)


def module_bytes(mbd: Any) -> int:
    from ..torch_util import module_bytes as size

    return sum(size(process.model) for process in mbd.DPs)
