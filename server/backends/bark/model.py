"""A loaded Bark (transformers `BarkModel`): one pass of words in, 24 kHz mono audio out.

BarkModel.generate runs its four stages in one call; here they run one by one (semantic tokens,
coarse codes, fine codes, the EnCodec decoder) so that each reports its own progress: a stopping
criterion is called at every semantic and coarse token and a wrapper of the fine model's forward
at every fine step, and both go through the job's progress callback, which raises JobCancelled once the job is
cancelled: a cancel stops a pass at its next token. Sampling settings are set on copies of the
folder's per-stage generation configs (the hub's: sampling on, fine temperature 0.5), never passed
beside them.

Imports torch and transformers at the top: imported only from the backend's `_load`.
"""
from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from transformers import StoppingCriteria

from ...errors import DawgenError, ErrorCode
from .files import BarkFiles

TEXT_TOKENS = 256  # Bark's max_input_semantic_length: the processor pads every text to it
# each stage's share of a pass in the progress bar (the semantic and coarse stages are the slow ones)
SHARES = {"semantic": 0.35, "coarse": 0.5, "fine": 0.1, "codec": 0.05}
StageProgress = Callable[[str, float], None]  # (stage, fraction of that stage)


@dataclass
class Pass:
    audio: np.ndarray  # float32 (samples,)
    history: dict[str, np.ndarray]  # this pass as a speaker prompt for the next (same speaker)


class BarkRunner:
    def __init__(self, files: BarkFiles, device: str, dtype: Any, model_name: str = "", trusted: bool = False) -> None:
        from transformers import BarkModel

        from ..hf_runtime import from_pretrained

        self.model, self.tokenizer = from_pretrained(BarkModel, files.folder, dtype, model_name, trusted)
        self.model.to(device).eval()
        self.files, self.device = files, device
        self._configs()

    def _configs(self) -> None:
        from transformers.models.bark.generation_configuration_bark import (
            BarkCoarseGenerationConfig,
            BarkFineGenerationConfig,
            BarkSemanticGenerationConfig,
        )

        gen = self.model.generation_config

        def stage(name: str, cls: Any) -> Any:
            raw = getattr(gen, name, None)
            if raw is None:
                raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, f"{self.files.folder}/generation_config.json has no "
                                                               f"{name}: not a Bark generation config")
            return cls(**(raw if isinstance(raw, dict) else raw.to_dict()))

        self.semantic_config = stage("semantic_config", BarkSemanticGenerationConfig)
        self.coarse_config = stage("coarse_acoustics_config", BarkCoarseGenerationConfig)
        self.fine_config = stage("fine_acoustics_config", BarkFineGenerationConfig)
        self.codebook_size = int(getattr(gen, "codebook_size", 1024) or 1024)
        codec = self.model.config.codec_config
        self.sample_rate = int(getattr(gen, "sample_rate", 0) or codec.sampling_rate)
        self.hop = int(np.prod(codec.upsampling_ratios))

    def seed(self, seed: int) -> None:
        torch.manual_seed(seed)  # sampling in transformers' generate() draws from torch's global generator

    def history(self, arrays: dict[str, np.ndarray] | None) -> dict[str, torch.Tensor] | None:
        if arrays is None:
            return None
        return {key: torch.from_numpy(np.ascontiguousarray(value)).to(self.device) for key, value in arrays.items()}

    # -- one pass -----------------------------------------------------------------------------
    def one_pass(self, text: str, history: dict[str, np.ndarray] | None, text_temperature: float,
                 waveform_temperature: float, progress: StageProgress, max_semantic: int | None = None) -> Pass:
        prompt = self.history(history)
        with torch.inference_mode():
            semantic = self._semantic(text, prompt, text_temperature, progress, max_semantic)
            coarse = self._coarse(semantic.clone(), prompt, waveform_temperature, progress)
            fine = self._fine(coarse, prompt, progress)
            progress("codec", 0.0)
            audio = self.model.codec_decode(fine).float().cpu().numpy().reshape(-1)
            progress("codec", 1.0)
        sem = semantic[0].cpu().numpy()
        codes = torch.remainder(coarse.view(1, -1, 2) - self.semantic_config.semantic_vocab_size, self.codebook_size)
        return Pass(audio.astype(np.float32), {
            "semantic_prompt": sem[sem < self.semantic_config.semantic_vocab_size].astype(np.int64),
            "coarse_prompt": codes[0].T.cpu().numpy().astype(np.int64),
            "fine_prompt": fine[0].cpu().numpy().astype(np.int64)})

    def _semantic(self, text: str, prompt: Any, temperature: float, progress: StageProgress,
                  max_semantic: int | None) -> torch.Tensor:
        config = _sampling(self.semantic_config, temperature)
        if max_semantic is not None:
            config.max_new_tokens = min(int(config.max_new_tokens or max_semantic), max_semantic)
        tokens = self.tokenizer([text], return_tensors="pt", padding="max_length", max_length=TEXT_TOKENS,
                                truncation=True, add_special_tokens=False, return_token_type_ids=False)
        tokens = tokens.to(self.device)
        total = int(config.max_new_tokens or 768)
        out = self.model.semantic.generate(tokens["input_ids"], attention_mask=tokens["attention_mask"],
                                           semantic_generation_config=config, history_prompt=prompt,
                                           stopping_criteria=[_Steps("semantic", total, progress)])
        progress("semantic", 1.0)
        if out.shape[-1] == 0 or not bool((out < config.semantic_vocab_size).any()):
            raise DawgenError(ErrorCode.BACKEND_FAILED, f"Bark said nothing for {text[:60]!r}: the semantic stage "
                                                        "ended at once; try another seed or wording")
        return out

    def _coarse(self, semantic: torch.Tensor, prompt: Any, temperature: float, progress: StageProgress) -> torch.Tensor:
        config = _sampling(self.coarse_config, temperature)
        ratio = config.coarse_rate_hz / self.semantic_config.semantic_rate_hz * config.n_coarse_codebooks
        spoken = int((semantic < self.semantic_config.semantic_vocab_size).sum())
        total = max(1, int(round(int(spoken * ratio / config.n_coarse_codebooks) * config.n_coarse_codebooks)))
        out = self.model.coarse_acoustics.generate(semantic, semantic_generation_config=self.semantic_config,
                                                   coarse_generation_config=config, codebook_size=self.codebook_size,
                                                   history_prompt=prompt,
                                                   stopping_criteria=[_Steps("coarse", total, progress)])
        progress("coarse", 1.0)
        return out

    def _fine(self, coarse: torch.Tensor, prompt: Any, progress: StageProgress) -> torch.Tensor:
        fine_model = self.model.fine_acoustics
        cfg = self.fine_config
        frames = coarse.shape[-1] // self.coarse_config.n_coarse_codebooks
        loops = max(1, int(np.ceil(max(0, frames - cfg.max_fine_input_length) / cfg.max_fine_history_length)) + 1)
        steps = loops * (cfg.n_fine_codebooks - self.coarse_config.n_coarse_codebooks)
        done = [0]
        real = fine_model.forward

        def forward(*args: Any, **kwargs: Any) -> Any:  # generate() calls self.forward: hooks never fire
            out = real(*args, **kwargs)
            done[0] += 1
            progress("fine", min(1.0, done[0] / steps))
            return out

        fine_model.forward = forward  # an instance attribute shadows the method for this call only
        try:
            out = fine_model.generate(coarse, semantic_generation_config=self.semantic_config,
                                      coarse_generation_config=self.coarse_config, fine_generation_config=cfg,
                                      codebook_size=self.codebook_size, history_prompt=prompt)
        finally:
            del fine_model.forward
        return out


def _sampling(config: Any, temperature: float) -> Any:
    """A copy of a stage's generation config sampling at `temperature` (0 = the most likely token)."""
    out = copy.deepcopy(config)
    out.do_sample = temperature > 0
    out.temperature = float(temperature) if temperature > 0 else 1.0
    return out


class _Steps(StoppingCriteria):
    """A stopping criterion that never stops: it reports each generated token as progress (and so is
    the cancel point of the semantic and coarse stages)."""

    def __init__(self, stage: str, total: int, progress: StageProgress) -> None:
        self.stage, self.total, self.progress, self.done = stage, max(1, total), progress, 0

    def __call__(self, input_ids: torch.Tensor, scores: Any, **kwargs: Any) -> torch.Tensor:
        self.done += 1
        self.progress(self.stage, min(1.0, self.done / self.total))
        return torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)
