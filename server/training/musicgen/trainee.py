"""The MusicGen a run trains, loaded as the musicgen backend loads it (imports torch, transformers).

- `musicgen`: everything but the T5 text encoder and EnCodec is trained: the decoder with its
  heads, and the projections from the text (and a melody model's chroma) into it, as
  musicgen-dreamboothing fine-tunes. A checkpoint is a transformers folder the backend loads as `path`.
- `musicgen-lora`: peft's LoRA on the whole MusicgenForConditionalGeneration, its target modules
  restricted to the decoder layers' attention (q, k, v, out) and MLP (fc1, fc2) linears, so an
  adapter's keys read `base_model.model.decoder.model.decoder.layers.N....lora_A.weight` (peft's
  save_pretrained: adapter_model.safetensors + adapter_config.json, plus our adapter.json).
No EMA (MusicGen's fine-tunes keep none); the loss and demos are objective.py.
"""
from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...backends.musicgen.files import ModelFiles, check_folder, weight_file
from ...errors import DawgenError, ErrorCode
from ..families import Source
from ..settings import Settings

FORMAT = 1
# the decoder layers' attention and MLP linears, named as in transformers' Musicgen(Melody)Decoder
TARGET_MODULES = r".*decoder\.model\.decoder\.layers\.\d+\.((self_attn|encoder_attn)\.(q|k|v|out)_proj|fc[12])"
FROZEN = ("text_encoder.", "audio_encoder.")  # T5 and EnCodec: never trained
# besides config.json, model.safetensors and generation_config.json (save_pretrained writes them)
COPIED_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "spiece.model",
                "added_tokens.json", "preprocessor_config.json")


@dataclass(frozen=True)
class Base:
    """What a run started from: named in adapter.json and dawgen-model.toml."""

    name: str
    folder: Path
    weights: Path | None
    sha256: str | None


@dataclass
class Trainee:
    settings: Settings
    model: Any  # Musicgen(Melody)ForConditionalGeneration; LoRA layers injected in place for the lora kind
    tokenizer: Any
    files: ModelFiles
    base: Base
    device: str
    peft: Any = None  # the PeftModel around `model` (lora kind): what saves the adapter
    lora: dict[str, Any] | None = None  # rank, alpha, target_modules
    ema: Any = None  # MusicGen fine-tunes keep no EMA
    trigger: str = ""  # the `trigger` param: written into a LoRA's model entry
    _runtime: Any = None

    @property
    def runtime(self) -> Any:
        """The backend's MusicgenModel around the model in training: encode, generate, decode."""
        if self._runtime is None:
            from ...backends.musicgen.model import MusicgenModel

            self._runtime = MusicgenModel.around(self.model, self.tokenizer, self.files, self.device)
        return self._runtime

    def _trained(self) -> list[tuple[str, Any]]:
        return [(n, p) for n, p in self.model.named_parameters() if p.requires_grad]

    def parameters(self) -> list[Any]:
        """What the optimizer steps, in a fixed order (the optimizer state is saved by position)."""
        return [p for _, p in self._trained()]

    def trainable_state(self) -> dict[str, Any]:
        return {n: p.detach().to("cpu", copy=True).contiguous() for n, p in self._trained()}

    def load_trainable_state(self, state: dict[str, Any]) -> None:
        import torch

        params = dict(self._trained())
        missing = set(params) - set(state)
        if missing:
            raise DawgenError(ErrorCode.BAD_REQUEST, f"the checkpoint does not fit this run's model "
                                                     f"({len(missing)} tensors missing, e.g. {min(missing)})")
        with torch.no_grad():
            for name, param in params.items():
                param.copy_(state[name].to(param.device, param.dtype))

    def ema_buffers(self) -> dict[str, Any]:
        return {}

    def restore_ema(self, checkpoint: Path, ema_buffers: dict[str, Any]) -> None:
        return None

    def to(self, device: str) -> None:
        self.model.to(device)
        self.device = device
        if self._runtime is not None:
            self._runtime.device = device

    def train_mode(self) -> None:
        """Dropout on in the decoder; T5 and EnCodec stay in eval mode (frozen, as MusicGen trains)."""
        self.model.train()
        self.model.text_encoder.eval()
        self.model.audio_encoder.eval()

    # -- what the loop and the run folder ask of every family's trainee (families.py) ---------------
    def loss(self, batch: Any, run: Any) -> Any:
        from . import objective

        audio, prompts = batch
        return objective.loss(self, audio, list(prompts), run.autocast)

    def demos(self, seeds: list[int], prompts: list[str]) -> list[Any]:
        from . import objective

        return objective.demos(self, seeds, prompts)

    def write_files(self, folder: Path, step: int) -> None:
        if self.peft is not None:
            self.peft.save_pretrained(str(folder), safe_serialization=True)
            (folder / "README.md").unlink(missing_ok=True)  # peft's model card template: nothing of ours
            (folder / "adapter.json").write_text(json.dumps(self.adapter_info(step), indent=2), encoding="utf-8")
            return
        self.model.save_pretrained(str(folder), safe_serialization=True)
        for name in COPIED_FILES:
            source = self.base.folder / name
            if source.is_file() and not (folder / name).exists():
                shutil.copyfile(source, folder / name)

    def adapter_info(self, step: int) -> dict[str, Any]:
        lora, base = self.lora or {}, self.base
        return {"format": FORMAT, "kind": self.settings.kind, "step": int(step), "model_type": self.files.model_type,
                "rank": lora.get("rank"), "alpha": lora.get("alpha"), "target_modules": lora.get("target_modules"),
                "base": base.name, "base_path": str(base.folder),
                "base_weights": base.weights.name if base.weights else None, "base_sha256": base.sha256}

    def model_options(self, checkpoint: Path) -> tuple[str, dict[str, Any]]:
        """The musicgen [models.NAME] entry: the adapter on its base folder, or the checkpoint's folder."""
        if self.peft is not None:
            options = {"path": str(self.base.folder), "base": self.base.name,
                       "adapter": f"{checkpoint.name}/adapter_model.safetensors"}
            if self.trigger:  # the word every training prompt began with: `lora=` puts it in front again
                options["trigger"] = self.trigger
            return "musicgen", options
        return "musicgen", {"path": checkpoint.name}


def load(settings: Settings, source: Source, device: str = "cpu") -> Trainee:
    """The base model in float32, set up for `settings.kind` (seeded: a new adapter's initial
    weights follow the seed)."""
    import torch
    import transformers
    from transformers import AutoTokenizer

    from ...backends.torch_util import offline
    from ...output.provenance import file_sha256

    offline()
    transformers.utils.logging.set_verbosity_error()
    files = check_folder(source.path)
    cls = getattr(transformers, "MusicgenMelodyForConditionalGeneration" if files.melody
                  else "MusicgenForConditionalGeneration")
    try:
        model = cls.from_pretrained(str(files.folder), local_files_only=True, dtype=torch.float32)
        tokenizer = AutoTokenizer.from_pretrained(str(files.folder), local_files_only=True)
    except (OSError, ValueError, ImportError) as exc:
        raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, f"cannot load {files.folder}: {exc}") from None
    weights = weight_file(files.folder)
    base = Base(source.base_name or files.folder.name, files.folder, weights,
                file_sha256(str(weights)) if weights is not None else None)
    torch.manual_seed(settings.seed)
    model.requires_grad_(False)
    trainee = Trainee(settings, model, tokenizer, files, base, "cpu", trigger=str(source.options.get("trigger") or ""))
    if settings.lora:
        trainee.peft, trainee.lora = add_adapter(model, settings.lora_rank, settings.alpha)
    else:
        for name, param in model.named_parameters():
            param.requires_grad_(not name.startswith(FROZEN))
    trainee.train_mode()
    trainee.to(device)
    return trainee


def add_adapter(model: Any, rank: int, alpha: float) -> tuple[Any, dict[str, Any]]:
    """peft's LoRA on the decoder layers' linears of the whole model (trained in place)."""
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(r=int(rank), lora_alpha=float(alpha), lora_dropout=0.0, bias="none",
                        target_modules=TARGET_MODULES)
    peft_model = get_peft_model(model, config)
    targets = sorted({n.rsplit(".lora_", 1)[0] for n, p in model.named_parameters() if ".lora_" in n})
    if not targets:
        raise DawgenError(ErrorCode.BAD_REQUEST, "this model has no decoder layer to adapt")
    return peft_model, {"rank": int(rank), "alpha": float(alpha), "target_modules": TARGET_MODULES,
                        "layers": len(targets)}
