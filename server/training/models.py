"""The model a run trains, built the way the stable-audio backend builds it (imports torch).

A run starts from a base model folder (model_config.json + weights, loaded through the backend's
files.py/model.py, Dance Diffusion fixes included) or, for full fine-tunes, from a bare
model_config.json (random weights: training from scratch). Then, following stable-audio-tools
0.0.20's training wrappers:
- full kinds train the diffusion network (`wrapper.model`) and keep the library's EMA of it
  (beta 0.9999 for Dance Diffusion, 0.999 for conditioned models, power 3/4, as its wrappers set);
  the EMA weights are what a checkpoint's model.safetensors holds, the online weights go to
  trainer.pt for resuming. The pretransform (VAE) and the conditioner stay frozen.
- LoRA kinds freeze everything and add the library's LoRA parametrization (rank, alpha) to every
  Linear and Conv1d of the diffusion network; only the adapter is trained and saved. The
  conditioner gets none: it runs under no_grad (field notes), so an adapter there would not learn.
Gradient checkpointing: stable-audio-tools' ContinuousTransformer (the DiT's) checkpoints every
layer unless told not to, so DiT models already train with it; DAU1d has no checkpointing.
"""
from __future__ import annotations

import copy
import functools
import importlib.util
import json
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..backends.stable_audio.files import MODEL_TYPES, ModelFiles, check_folder, check_t5, family_of
from ..errors import DawgenError, ErrorCode
from .settings import Settings

MODEL_TYPE = {"dance-diffusion": "diffusion_uncond", "stable-audio": "diffusion_cond"}
EMA_BETA = {"diffusion_uncond": 0.9999, "diffusion_cond": 0.999}
ADAPTER_TYPE = "lora"


@dataclass(frozen=True)
class Base:
    """What a run started from: named in lora.json and dawgen-model.toml."""

    name: str
    folder: Path | None  # None: built from a bare model_config.json
    weights: Path | None
    sha256: str | None


@dataclass
class Trainee:
    """A wrapper (DiffusionModelWrapper / ConditionedDiffusionModelWrapper) set up for one kind."""

    settings: Settings
    wrapper: Any
    files: ModelFiles
    base: Base
    device: str
    ema: Any = None  # the library's EMA of wrapper.model (full kinds)
    lora: dict[str, Any] | None = None  # rank, alpha, adapter_type, target_modules
    trigger: str = ""  # the `trigger` param: written into a LoRA's model entry

    @property
    def net(self) -> Any:
        return self.wrapper.model

    @property
    def conditional(self) -> bool:
        return self.files.conditional

    def parameters(self) -> list[Any]:
        """What the optimizer steps, in a fixed order (the optimizer state is saved by position)."""
        if self.lora is not None:
            from stable_audio_tools.models.lora import get_lora_params

            return list(get_lora_params(self.net))
        return [p for p in self.net.parameters() if p.requires_grad]

    def trainable_state(self) -> dict[str, Any]:
        """The exact weights training continues from: the adapter, or the online network."""
        if self.lora is not None:
            from stable_audio_tools.models.lora import get_lora_state_dict

            state = get_lora_state_dict(self.net)
        else:
            state = self.net.state_dict()
        return {k: v.detach().to("cpu", copy=True).contiguous() for k, v in state.items()}

    def load_trainable_state(self, state: dict[str, Any]) -> None:
        missing = set(self.trainable_state()) - set(state)
        if missing:
            raise DawgenError(ErrorCode.BAD_REQUEST, f"the checkpoint does not fit this run's model "
                                                     f"({len(missing)} tensors missing, e.g. {min(missing)})")
        self.net.load_state_dict(state, strict=self.lora is None)

    def export_state(self) -> dict[str, Any]:
        """What the backend loads: the whole wrapper with the EMA network (full), or the adapter."""
        if self.lora is not None:
            return self.trainable_state()
        net = self.ema.ema_model if self.ema is not None else self.net
        state = {k: v for k, v in self.wrapper.state_dict().items() if not k.startswith("model.")}
        state.update({f"model.{k}": v for k, v in net.state_dict().items()})
        return {k: v.detach().to("cpu").contiguous() for k, v in state.items()}

    # -- what the loop and the run folder ask of every family's trainee (families.py) ---------------
    def loss(self, batch: Any, run: Any) -> Any:
        """One micro-batch `(audio, prompts)` -> the objective's loss (objective.py)."""
        from . import objective

        audio, prompts = batch
        x = objective.to_tensor(self, audio)
        return objective.loss(self, x, list(prompts), run.sobol, run.autocast)

    def demos(self, seeds: list[int], prompts: list[str]) -> list[Any]:
        """Audio demos from the weights a checkpoint exports (the EMA for full kinds)."""
        from ..backends.base import Audio
        from . import objective

        seconds = self.settings.seconds or self.files.window_seconds
        rate = self.files.sample_rate
        audio = objective.render(self, seeds, seconds, prompts or None)
        return [Audio(x, rate, seed=seed) for x, seed in zip(audio, seeds)]

    def write_files(self, folder: Path, step: int) -> None:
        from . import sa_checkpoint

        sa_checkpoint.write_files(self, folder, step)

    def model_options(self, checkpoint: Path) -> tuple[str, dict[str, Any]]:
        from . import sa_checkpoint

        return sa_checkpoint.model_options(self, checkpoint)

    def restore_ema(self, checkpoint: Path, ema_buffers: dict[str, Any]) -> None:
        if self.ema is not None:
            from .artifacts import read_model_weights

            self.load_ema(read_model_weights(checkpoint), ema_buffers)

    def load_ema(self, exported: dict[str, Any], ema_buffers: dict[str, Any]) -> None:
        if self.ema is None:
            return
        self.ema.ema_model.load_state_dict({k[len("model."):]: v for k, v in exported.items()
                                            if k.startswith("model.")}, strict=True)
        for name, value in ema_buffers.items():
            getattr(self.ema, name).copy_(value)

    def ema_buffers(self) -> dict[str, Any]:
        return {} if self.ema is None else {"step": self.ema.step.detach().cpu().clone(),
                                            "initted": self.ema.initted.detach().cpu().clone()}

    def to(self, device: str) -> None:
        """Move everything (a yield to live work moves it off the accelerator and back), the T5
        encoder too: the library keeps it outside the module tree (vars(conditioner)["model"])."""
        self.wrapper.to(device)
        if self.ema is not None:
            self.ema.to(device)
        for conditioner in getattr(getattr(self.wrapper, "conditioner", None), "conditioners", {}).values():
            hidden = vars(conditioner).get("model")
            if hidden is not None and hasattr(hidden, "to"):
                hidden.to(device)
        self.device = device


def _bad(message: str) -> DawgenError:
    return DawgenError(ErrorCode.BAD_REQUEST, message)


def _t5_name(config: dict[str, Any]) -> str | None:
    for entry in ((config.get("model") or {}).get("conditioning") or {}).get("configs") or []:
        if entry.get("type") == "t5":
            return str((entry.get("config") or {}).get("t5_model_name", "t5-base"))
    return None


def files_from_config(config: dict[str, Any], folder: Path, t5_path: str = "") -> ModelFiles:
    """ModelFiles for a model that has a config but no weights yet (a fresh model, a bench model)."""
    model_type = str(config.get("model_type", ""))
    if model_type not in MODEL_TYPES:
        raise _bad(f"model_type {model_type!r} is not one stable-audio-tools trains here ({', '.join(MODEL_TYPES)})")
    try:
        rate, window = int(config["sample_rate"]), int(config["sample_size"])
    except (KeyError, TypeError, ValueError):
        raise _bad("model_config.json needs sample_rate and sample_size") from None
    objective = str(((config.get("model") or {}).get("diffusion") or {}).get("diffusion_objective", "v"))
    t5_name = _t5_name(config)
    t5_folder = check_t5(t5_path, t5_name) if t5_name is not None else None
    return ModelFiles(folder, config, folder / "model.safetensors", model_type, objective,
                      family_of(model_type, objective, window), rate, window, int(config.get("audio_channels", 2)),
                      t5_name, t5_folder)


def is_config_file(path: Path) -> bool:
    """A bare model_config.json (a fresh model), not a model folder."""
    return path.is_file() and path.suffix == ".json"


def source_files(source: str, t5_path: str = "") -> ModelFiles:
    """The files of what a run starts from, torch-free: a model folder, or a model_config.json."""
    path = Path(source).expanduser()
    if not is_config_file(path):
        return check_folder(str(path), t5_path)
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise _bad(f"cannot read {path}: {exc}") from None
    return files_from_config(config, path.parent, t5_path)


def load(settings: Settings, source: str, t5_path: str = "", device: str = "cpu", base_name: str = "") -> Trainee:
    """Build the model to train from a base folder or a model_config.json file and set it up for
    `settings.kind` (seeded: a fresh network's and a new adapter's initial weights follow the seed)."""
    import torch

    from ..backends.stable_audio.imports import import_library
    from ..backends.stable_audio.model import build_from_config
    from ..backends.stable_audio.model import load as load_loaded
    from ..output.provenance import file_sha256

    import_library()
    torch.manual_seed(settings.seed)
    path = Path(source).expanduser()
    fresh = is_config_file(path)
    if fresh and settings.lora:
        raise _bad(f"a LoRA adapts trained weights: give a base model folder, not {path.name}")
    files = source_files(source, t5_path)
    if fresh:
        wrapper = build_from_config(files.config, files.t5_folder)
        base = Base(base_name or path.parent.name, None, None, None)
    else:
        wrapper = load_loaded(files, "cpu", torch.float32).model
        base = Base(base_name or files.folder.name, files.folder, files.weights, file_sha256(str(files.weights)))
    return prepare(settings, wrapper, files, base, device)


def prepare(settings: Settings, wrapper: Any, files: ModelFiles, base: Base, device: str = "cpu") -> Trainee:
    """Freeze what stays fixed, add the adapter or the EMA, move to `device`."""
    wanted = MODEL_TYPE[settings.family]
    if files.model_type != wanted:
        hint = (" (inpainting models train with masks, which this trainer does not make)"
                if files.model_type == "diffusion_cond_inpaint" else "")
        raise _bad(f"kind {settings.kind} trains {wanted} models; {base.name} is {files.model_type}{hint}")
    wrapper.eval().requires_grad_(False)
    trainee = Trainee(settings, wrapper, files, base, "cpu")
    if settings.lora:
        trainee.lora = add_adapter(wrapper.model, settings.lora_rank, settings.alpha)
    else:
        wrapper.model.requires_grad_(True)
        trainee.ema = _ema(wrapper.model, EMA_BETA[files.model_type])
    wrapper.model.train()
    trainee.to(device)
    return trainee


def add_adapter(net: Any, rank: int, alpha: float) -> dict[str, Any]:
    """The library's LoRA on every Linear and Conv1d of `net` (its trainers' own layer choice)."""
    import torch
    from stable_audio_tools.models.lora import LoRAParametrization, add_lora, get_lora_layers

    config = {torch.nn.Linear: {"weight": functools.partial(LoRAParametrization.from_linear, rank=rank,
                                                             lora_alpha=alpha, adapter_type=ADAPTER_TYPE)},
              torch.nn.Conv1d: {"weight": functools.partial(LoRAParametrization.from_conv1d, rank=rank,
                                                             lora_alpha=alpha, adapter_type=ADAPTER_TYPE)}}
    add_lora(net, config)
    targets = [name for name, _ in get_lora_layers(net)]
    if not targets:
        raise _bad("this model has no Linear or Conv1d layer to adapt")
    return {"rank": int(rank), "alpha": float(alpha), "adapter_type": ADAPTER_TYPE, "target_modules": targets}


@functools.lru_cache(maxsize=1)
def _ema_class() -> Any:
    """stable_audio_tools.training.ema.EMA, loaded from its file: importing it as a package module
    runs training/__init__.py, which imports auraloss and wandb (field notes: does not import here).
    ema.py itself needs only torch."""
    import stable_audio_tools

    path = Path(stable_audio_tools.__file__).parent / "training" / "ema.py"
    spec = importlib.util.spec_from_file_location("dawgen_stable_audio_ema", path)
    if spec is None or spec.loader is None:
        raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, f"stable-audio-tools has no {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.EMA


def _ema(net: Any, beta: float) -> Any:
    return _ema_class()(net, ema_model=clone_net(net), beta=beta, power=3 / 4, update_every=1,
                        update_after_step=1, include_online_model=False)


def clone_net(net: Any) -> Any:
    """A deep copy that runs its own weights: the backend's Dance Diffusion fix sets `forward` on the
    instance, bound to the original, so a plain deepcopy would run the original's weights."""
    from ..backends.stable_audio.model import _dance_diffusion_runtime

    clone = copy.deepcopy(net)
    if "forward" in vars(clone):
        del clone.forward
        _dance_diffusion_runtime(types.SimpleNamespace(model=clone))
    return clone.requires_grad_(False)
