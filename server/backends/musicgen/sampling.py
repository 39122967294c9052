"""Token sampling with one random generator per batch row, and the per-step progress/cancel hook.

transformers samples a whole batch from torch's global generator, so row 2 of a `count=4` batch
could never be made again on its own. Here each row draws from its own generator seeded with
`seed + row`, and generate() runs greedy (argmax) over the scores this processor returns: a one-hot
of the token it sampled. `dawgen regen` (count 1 with a file's own seed) then makes the same row.

Imported only from the backend's `_load`/`_run`: it imports torch and transformers at the top.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from transformers import LogitsProcessor

_NEG = -1e4  # finite: classifier-free guidance subtracts two rows of these; inf - inf would be NaN


@dataclass(frozen=True)
class Sampling:
    temperature: float = 1.0
    top_k: int = 250
    top_p: float = 0.0
    guidance_scale: float = 3.0


def _filter(logits: torch.Tensor, top_k: int, top_p: float) -> torch.Tensor:
    """audiocraft's choice: top_p when above 0, else top_k (0 = no limit)."""
    if top_p > 0.0:
        sorted_logits, order = torch.sort(logits, descending=True, dim=-1)
        cumulative = torch.softmax(sorted_logits, dim=-1).cumsum(dim=-1)
        drop = cumulative - torch.softmax(sorted_logits, dim=-1) > top_p  # keeps the token that crosses p
        sorted_logits = sorted_logits.masked_fill(drop, float("-inf"))
        return torch.empty_like(logits).scatter_(-1, order, sorted_logits)
    if 0 < top_k < logits.shape[-1]:
        kth = torch.topk(logits, top_k, dim=-1).values[..., -1:]
        return logits.masked_fill(logits < kth, float("-inf"))
    return logits


class RowSampler(LogitsProcessor):
    """Samples every row's next token; calls `on_step()` first, which may raise to cancel."""

    def __init__(self, generators: list[torch.Generator], num_codebooks: int, sampling: Sampling,
                 on_step: Callable[[], None]) -> None:
        self.generators = generators
        self.num_codebooks = num_codebooks
        self.sampling = sampling
        self.on_step = on_step

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        self.on_step()  # the cancel point of every decoding step
        rows = input_ids.shape[0]  # batch * codebooks
        logits = scores.float()
        doubled = logits.shape[0] == 2 * rows
        if doubled:
            # transformers appends its guidance processor after ours: the unconditional half is still
            # there, so guide here, and hand back the same one-hot in both halves (guidance of two
            # equal rows leaves them unchanged).
            cond, uncond = logits[:rows], logits[rows:]
            logits = uncond + (cond - uncond) * self.sampling.guidance_scale
        tokens = self._sample(logits)
        out = torch.full_like(scores, _NEG)
        index = tokens.repeat(2) if doubled else tokens
        return out.scatter_(1, index[:, None], 0.0)

    def _sample(self, logits: torch.Tensor) -> torch.Tensor:
        s = self.sampling
        if s.temperature <= 0.0:
            return logits.argmax(dim=-1)
        logits = _filter(logits / s.temperature, s.top_k, s.top_p)
        probs = torch.softmax(logits, dim=-1)
        k = self.num_codebooks
        picked = []
        for row, gen in enumerate(self.generators):
            block = probs[row * k:(row + 1) * k]
            if gen.device != block.device:  # MPS has no generators of its own: draw on the CPU
                block = block.cpu()
            picked.append(torch.multinomial(block, 1, generator=gen)[:, 0].to(probs.device))
        return torch.cat(picked)


def generators(seed: int, count: int, device: str) -> list[torch.Generator]:
    """One generator per batch row, seeded seed, seed + 1, ... (a file's seed in its sidecar)."""
    where = torch.device(device)
    if where.type == "mps":
        where = torch.device("cpu")
    return [torch.Generator(device=where).manual_seed(seed + i) for i in range(count)]
