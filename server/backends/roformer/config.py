"""A RoFormer checkpoint's `.yaml`, read as the Music Source Separation Training (MSST) project writes
them (and UVR / audio-separator ship them beside the `.ckpt`): no torch here.

- `model:`: the class's constructor arguments; `model_type` (bs_roformer | mel_band_roformer) from the
  `[models.NAME]` entry, else a top-level `model_type:` key, else the keys (`freqs_per_bands`: BS,
  `num_bands`: Mel-Band), as audio-separator tells them apart.
- `audio:`: `sample_rate` (44100), `num_channels`, `chunk_size` (frames per chunk).
- `inference:`: `num_overlap` (chunks start every chunk_size / num_overlap frames), `normalize`.
- `training:`: `instruments` names the model's outputs in order; with `target_instrument` the model
  has that one output, and the rest of the mix (mix − target) is written as the residual stem, as UVR
  does: named by the other instrument of a two-name list, else `instrumental` (target vocals) or `other`.

MSST configs tag tuples `!!python/tuple`; the loader here is yaml's safe loader plus that one tag.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...errors import DawgenError, ErrorCode

MODEL_TYPES = ("bs_roformer", "mel_band_roformer")
DEFAULT_RATE = 44100
DEFAULT_CHUNK = 352800  # 8 s at 44.1 kHz, the MSST configs' common chunk_size
DEFAULT_OVERLAP = 4  # MSST's num_overlap default
TUPLE_TAG = "tag:yaml.org,2002:python/tuple"


@dataclass(frozen=True)
class RoformerConfig:
    model_type: str
    model: dict[str, Any]  # constructor arguments
    sample_rate: int
    channels: int
    chunk: int  # frames at sample_rate, a multiple of the STFT hop
    num_overlap: int
    normalize: bool
    targets: tuple[str, ...]  # what the network outputs, in order
    residual: str | None  # the stem computed as mix − target (one-target models only)

    @property
    def stems(self) -> list[str]:
        return [*self.targets, *([self.residual] if self.residual else [])]

    @property
    def hop(self) -> int:
        return int(self.model.get("stft_hop_length", 512))


def config_path(ckpt: Path, configured: str) -> Path:
    """The yaml: `config` when given, else the checkpoint's name with .yaml beside it."""
    return Path(configured).expanduser() if configured else ckpt.with_suffix(".yaml")


def read(path: Path, model_type: str = "", where: str = "") -> RoformerConfig:
    """The config at `path`; model_unavailable naming the file and the key for anything missing."""
    where = where or str(path)
    if not path.is_file():
        raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, f"{where}: its config {path} is not a file (a RoFormer "
                                                       f"checkpoint needs its .yaml: set `config = FILE.yaml` or put "
                                                       f"it beside the .ckpt)")
    try:
        data = _load_yaml(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, f"{where}: {path} is not a readable yaml ({exc})") from None
    return parse(data, model_type, f"{where} ({path.name})")


def parse(data: Any, model_type: str, where: str) -> RoformerConfig:
    if not isinstance(data, Mapping) or not isinstance(data.get("model"), Mapping):
        raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, f"{where}: no `model:` section (not an MSST RoFormer config)")
    model = dict(data["model"])
    kind = _model_type(model_type or str(data.get("model_type") or ""), model, where)
    audio, inference = _section(data, "audio"), _section(data, "inference")
    targets, residual = _stems(_section(data, "training"), int(model.get("num_stems", 1)), where)
    rate = int(audio.get("sample_rate") or model.get("sample_rate") or DEFAULT_RATE)
    hop = int(model.get("stft_hop_length", 512))
    chunk = int(audio.get("chunk_size") or DEFAULT_CHUNK) // hop * hop
    channels = 2 if model.get("stereo", False) else 1
    return RoformerConfig(kind, model, rate, channels, max(hop, chunk), max(1, int(inference.get("num_overlap") or
                          DEFAULT_OVERLAP)), bool(inference.get("normalize", False)), targets, residual)


def _model_type(given: str, model: Mapping[str, Any], where: str) -> str:
    if given:
        if given not in MODEL_TYPES:
            raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, f"{where}: model_type {given!r} is not one of "
                                                           f"{', '.join(MODEL_TYPES)}")
        return given
    if "num_bands" in model:
        return "mel_band_roformer"
    if "freqs_per_bands" in model:
        return "bs_roformer"
    raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, f"{where}: cannot tell the model type from its keys; set "
                                                   f"model_type = \"bs_roformer\" or \"mel_band_roformer\"")


def _stems(training: Mapping[str, Any], num_stems: int, where: str) -> tuple[tuple[str, ...], str | None]:
    instruments = [str(i).strip().lower() for i in training.get("instruments") or []]
    target = str(training.get("target_instrument") or "").strip().lower()
    if not instruments:
        raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, f"{where}: no `training.instruments` (the stem names)")
    targets = (target,) if target else tuple(instruments)
    if len(targets) != num_stems:
        raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, f"{where}: the model has num_stems {num_stems} but its config "
                                                       f"names {len(targets)} output(s): {', '.join(targets)}")
    if len(targets) > 1:
        return targets, None
    others = [i for i in instruments if i != targets[0]]
    if len(others) == 1:
        return targets, others[0]
    return targets, "instrumental" if targets[0] == "vocals" else "other"


def _section(data: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = data.get(name)
    return value if isinstance(value, Mapping) else {}


def _load_yaml(text: str) -> Any:
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_constructor(TUPLE_TAG, lambda loader, node: tuple(loader.construct_sequence(node)))
    try:
        return yaml.load(text, Loader=Loader)  # a SafeLoader subclass with one tuple tag
    except yaml.YAMLError as exc:
        raise ValueError(str(exc).splitlines()[0]) from None
