"""A loaded Stable Audio model and its one sampling entry point (imports torch: load/run time only).

`sample()` follows stable-audio-tools 0.0.20's generate_diffusion_cond / _cond_inpaint /
_uncond (conditioning → get_conditioning_inputs → sample_diffusion → decode) with two differences:
- each batch row has its own seed: row i's starting noise, and every noise the sampler draws on
  the way (pingpong's and the ancestral samplers' randn_like, the SDE samplers' Brownian tree),
  comes from a generator seeded with seed + i. The library seeds one global generator per call,
  so its batch rows could never be remade one at a time; here `count=3, seed=s` gives the files
  `count=1` gives for seeds s, s+1, s+2 (up to float rounding of a batched forward pass).
- the inpainting mask is built per row at the latent rate (the library's is one row, which
  cannot be concatenated with a batch of masked latents when batch_size > 1).

Library bugs worked around here, never by editing the installed package:
- sigma_min/sigma_max reach the model's forward() (TypeError) unless the sampler is a
  k-diffusion one: they are passed only to those.
- Dance Diffusion (`diffusion_uncond`, DAU1d) fails three ways: DiffusionAttnUnet1D passes
  `use_snake` to a ResConvBlock that has no such argument (build); DiffusionModelWrapper has no
  `diffusion_objective` (generation); DiffusionAttnUnet1D.forward() rejects the guidance kwargs
  that sample_diffusion passes to every model (generation). See `_dance_diffusion_*`.
"""
from __future__ import annotations

import contextlib
import copy
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ...errors import DawgenError, ErrorCode
from .files import V_SAMPLERS, ModelFiles

K_SAMPLERS = tuple(s for s in V_SAMPLERS if not s.startswith("v-"))
# the library's README settings for SAO 1.0 with dpmpp-3m-sde (its k-diffusion sigma range)
SIGMA_MIN, SIGMA_MAX = 0.3, 500.0
_patch_lock = threading.Lock()  # module globals of the library are swapped during a call


def build_from_config(config: dict[str, Any], t5_folder: Path | None) -> Any:
    """create_model_from_config, with the T5 conditioner pointed at a local folder and Dance
    Diffusion made buildable and runnable."""
    from stable_audio_tools.models.factory import create_model_from_config

    config = copy.deepcopy(config)
    for entry in ((config.get("model") or {}).get("conditioning") or {}).get("configs") or []:
        if entry.get("type") == "t5" and t5_folder is not None:
            entry.setdefault("config", {})["model_path"] = str(t5_folder)
    with _patch_lock, contextlib.redirect_stdout(sys.stderr), _dance_diffusion_build():
        model = create_model_from_config(config)
    if config.get("model_type") == "diffusion_uncond":
        _dance_diffusion_runtime(model)
    return model


@contextlib.contextmanager
def _dance_diffusion_build() -> Any:
    """DiffusionAttnUnet1D builds `partial(ResConvBlock, ..., use_snake=use_snake)` but blocks'
    ResConvBlock takes no `use_snake`: during the build the name resolves to a subclass that
    accepts use_snake=False (what every DAU1d config uses) and drops it. Same modules, same weights."""
    from stable_audio_tools.models import blocks, diffusion

    class ResConvBlock(blocks.ResConvBlock):
        def __init__(self, *args: Any, use_snake: bool = False, **kwargs: Any) -> None:
            if use_snake:
                raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, "DAU1d with use_snake = true is not implemented "
                                                               "by stable-audio-tools 0.0.20")
            super().__init__(*args, **kwargs)

    original = diffusion.ResConvBlock
    diffusion.ResConvBlock = ResConvBlock
    try:
        yield
    finally:
        diffusion.ResConvBlock = original


def _dance_diffusion_runtime(model: Any) -> None:
    """Dance Diffusion is a v-objective model; its U-Net takes (x, t, cond) only."""
    model.diffusion_objective = "v"
    unet = model.model
    forward = unet.forward

    def forward_without_guidance(x: Any, t: Any, cond: Any = None, cond_aug_scale: Any = None, **_: Any) -> Any:
        return forward(x, t, cond=cond, cond_aug_scale=cond_aug_scale)

    unet.forward = forward_without_guidance  # an instance attribute: the state dict is unchanged


@dataclass
class Loaded:
    files: ModelFiles
    model: Any
    device: str
    dtype: Any

    @property
    def hop(self) -> int:
        """Audio frames per latent frame (1 without a pretransform)."""
        pre = self.model.pretransform
        return int(pre.downsampling_ratio) if pre is not None else 1

    @property
    def latent_channels(self) -> int:
        return int(self.model.io_channels)


def load(files: ModelFiles, device: str, dtype: Any, model_name: str = "", trusted: bool = False) -> Loaded:
    model = build_from_config(files.config, files.t5_folder)
    try:
        state = _state_dict(files.weights, model_name, trusted)
        model.load_state_dict(state, strict=True)
    except (OSError, RuntimeError, KeyError, ValueError) as exc:
        raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, f"{files.weights} does not hold this model_config.json's "
                                                       f"weights ({type(exc).__name__}: {str(exc)[:300]})") from None
    model.to(device=device, dtype=dtype).eval().requires_grad_(False)
    return Loaded(files, model, device, dtype)


def _state_dict(weights: Path, model_name: str, trusted: bool) -> Any:
    """What the library's load_ckpt_state_dict reads (`.safetensors`, else a `.ckpt` holding
    {"state_dict": ...}), the pickle weights-only unless the model's allow_pickle trusts it."""
    if weights.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(weights))
    from ..safe_load import load_torch

    checkpoint = load_torch(weights, trusted=trusted, model=model_name)
    if not isinstance(checkpoint, dict) or "state_dict" not in checkpoint:
        raise KeyError("state_dict")
    return checkpoint["state_dict"]


class _RowNoiseTorch:
    """`torch` as the library's sampler modules see it during one call: randn_like draws each row
    of a batch from that row's generator; everything else is torch."""

    def __init__(self, torch: Any, generators: list[Any]) -> None:
        self._torch, self._generators = torch, generators

    def __getattr__(self, name: str) -> Any:
        return getattr(self._torch, name)

    def randn_like(self, x: Any, **kwargs: Any) -> Any:
        if x.ndim == 0 or x.shape[0] != len(self._generators):
            return self._torch.randn_like(x, **kwargs)
        rows = [self._torch.randn(tuple(x.shape[1:]), generator=g) for g in self._generators]
        return self._torch.stack(rows).to(device=x.device, dtype=kwargs.get("dtype") or x.dtype)


@contextlib.contextmanager
def _row_noise(generators: list[Any]) -> Any:
    import torch
    from stable_audio_tools.inference import sampling
    from stable_audio_tools.inference.k_diffusion import sampling as k_sampling

    brownian = k_sampling.BrownianTreeNoiseSampler

    def seeded_tree(x: Any, sigma_min: Any, sigma_max: Any, seed: Any = None, **kwargs: Any) -> Any:
        if seed is None:  # one Brownian tree per row, each seeded from its row's generator
            seed = [int(torch.randint(0, 2**62, (), generator=g)) for g in generators]
        return brownian(x, sigma_min, sigma_max, seed=seed, **kwargs)

    proxy = _RowNoiseTorch(torch, generators)
    with _patch_lock:
        sampling.torch, k_sampling.torch, k_sampling.BrownianTreeNoiseSampler = proxy, proxy, seeded_tree
        try:
            yield
        finally:
            sampling.torch, k_sampling.torch, k_sampling.BrownianTreeNoiseSampler = torch, torch, brownian


@dataclass
class Request:
    seeds: list[int]
    latent_frames: int
    steps: int
    sampler: str
    cfg_scale: float = 1.0
    conditioning: list[dict[str, Any]] | None = None
    negative: list[dict[str, Any]] | None = None
    init_latent: Any = None  # (1, C, T) latents of the audio to vary
    noise_level: float = 1.0
    keep_mask: Any = None  # (T,) latent-rate mask for inpainting, 1 = keep
    inpaint_latent: Any = None  # (1, C, T) latents of the audio to inpaint


def encode(m: Loaded, audio: Any) -> Any:
    """(channels, frames) float32 at the model's rate → (1, C, T) latents (raw audio without a
    pretransform). The VAE samples its posterior: a fixed seed makes the same input give the same
    latents, whatever the request's seed (so batch rows and single runs see the same input)."""
    import torch

    x = torch.as_tensor(audio, dtype=torch.float32)[None].to(m.device)
    if m.model.pretransform is None:
        return x.to(m.dtype)
    with torch.random.fork_rng(devices=[] if not m.device.startswith("cuda") else None):
        torch.manual_seed(0)
        return m.model.pretransform.encode(x.to(next(m.model.pretransform.parameters()).dtype)).to(m.dtype)


def sample(m: Loaded, req: Request, on_step: Callable[[int], None]) -> Any:
    """Audio (n, channels, frames) for n = len(req.seeds) rows, one sampler run."""
    import torch

    with torch.inference_mode():
        return _sample(m, req, on_step)


def _sample(m: Loaded, req: Request, on_step: Callable[[int], None]) -> Any:
    import torch
    from stable_audio_tools.inference.sampling import sample_diffusion

    n, model, device = len(req.seeds), m.model, m.device
    generators = [torch.Generator().manual_seed(int(s)) for s in req.seeds]
    noise = torch.stack([torch.randn((m.latent_channels, req.latent_frames), generator=g) for g in generators])
    noise = noise.to(device=device, dtype=m.dtype)
    cond_inputs: dict[str, Any] = {}
    if m.files.conditional:
        extra: dict[str, Any] = {}
        if req.keep_mask is not None:
            mask = req.keep_mask.to(device=device, dtype=m.dtype).reshape(1, 1, -1).repeat(n, 1, 1)
            extra = {"inpaint_mask": [mask], "inpaint_masked_input": [req.inpaint_latent.repeat(n, 1, 1) * mask]}
        tensors = {**model.conditioner(req.conditioning, device), **extra}
        cond_inputs = {k: v.to(m.dtype) if v is not None else v for k, v in model.get_conditioning_inputs(tensors).items()}
        if req.negative is not None:
            negative = {**model.conditioner(req.negative, device), **extra}
            cond_inputs.update({k: v.to(m.dtype) if v is not None else v
                                for k, v in model.get_conditioning_inputs(negative, negative=True).items()})
    kwargs: dict[str, Any] = {}
    if req.sampler in K_SAMPLERS:  # anything else would hand sigma_min/max to the model (TypeError)
        kwargs = {"sigma_min": SIGMA_MIN, "sigma_max": SIGMA_MAX}
    init = req.init_latent.repeat(n, 1, 1) if req.init_latent is not None else None
    with _row_noise(generators):
        return sample_diffusion(
            model.model, noise, cond_inputs, model.diffusion_objective, req.steps, req.cfg_scale,
            conditioning=req.conditioning, sample_rate=m.files.sample_rate, pretransform=model.pretransform,
            mask_padding_attention=bool(getattr(model, "mask_padding_attention", False)),
            use_effective_length_for_schedule=bool(getattr(model, "use_effective_length_for_schedule", False)),
            dist_shift=getattr(model, "sampling_dist_shift", None), sampler_type=req.sampler,
            batch_cfg=m.files.conditional, rescale_cfg=m.files.conditional,
            init_data=init, init_noise_level=req.noise_level if init is not None else 1.0,
            callback=lambda info: on_step(int(info.get("i", 0))), disable_tqdm=True, decode=True, **kwargs,
        ).float()
