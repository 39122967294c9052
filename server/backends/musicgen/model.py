"""A loaded MusicGen (or MusicGen-Melody) model: text and prompt codes in, EnCodec codes out.

Windowed generation works on tokens, as audiocraft's does: every window's codes are kept, the next
window is prompted with the last codes of the ones before, and all codes are decoded once at the
end, so there are no seams between windows. transformers' generate() decodes the codes of each
call to audio itself; `_catch_codes` takes the codes from that decode call instead (the audio of
one window would be thrown away anyway).

Imports torch and transformers at the top: imported only from the backend's `_load`.
"""
from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import numpy as np
import torch

from ...errors import DawgenError, ErrorCode
from .files import ModelFiles
from .sampling import RowSampler, Sampling, generators
from .spec import plan_windows, stride_frames

DECODE_CHUNK = 1500  # frames decoded at once (30 s at 50 Hz): bounds the decoder's memory
DECODE_PREROLL = 50  # frames of context before a chunk (or before the new part of a continuation)
TEXT_TOKENS = 256


class MusicgenModel:
    def __init__(self, files: ModelFiles, device: str, dtype: Any, model_name: str = "", trusted: bool = False) -> None:
        import transformers

        from ..hf_runtime import from_pretrained

        cls = getattr(transformers, "MusicgenMelodyForConditionalGeneration" if files.melody
                      else "MusicgenForConditionalGeneration")
        self.model, self.tokenizer = from_pretrained(cls, files.folder, dtype, model_name, trusted)
        self.model.to(device).eval()
        self._describe(files, device)

    @classmethod
    def around(cls, model: Any, tokenizer: Any, files: ModelFiles, device: str) -> MusicgenModel:
        """A MusicgenModel for a model already in memory (the trainer's demos: the weights in training)."""
        self = cls.__new__(cls)
        self.model, self.tokenizer = model, tokenizer
        self._describe(files, device)
        return self

    def _describe(self, files: ModelFiles, device: str) -> None:
        self.files, self.device = files, device
        codec = self.model.config.audio_encoder
        self.sampling_rate = int(codec.sampling_rate)
        self.hop = int(np.prod(codec.upsampling_ratios))
        self.frame_rate = self.sampling_rate / self.hop
        decoder = self.model.decoder.config
        self.num_codebooks = int(decoder.num_codebooks)
        self.channels = int(decoder.audio_channels)
        self.window = self._window_frames()
        self.stride = stride_frames(self.window)

    def _window_frames(self) -> int:
        """Frames one generate() call can hold: the delay pattern takes num_codebooks positions."""
        limit = int(self.model.generation_config.max_length or 1500)
        if self.files.melody:  # the chroma and text states come first in the decoder's positions
            cfg = self.model.config
            limit = min(limit, int(cfg.decoder.max_position_embeddings) - int(cfg.chroma_length) - TEXT_TOKENS)
        frames = limit - self.num_codebooks
        if frames < 2:
            raise DawgenError(ErrorCode.MODEL_UNAVAILABLE,
                              f"generation max_length {limit} leaves no room for {self.num_codebooks} codebooks")
        return frames

    # -- codes <-> audio ------------------------------------------------------------------------
    def encode(self, audio: np.ndarray) -> torch.Tensor:
        """(frames, channels) float at the model's rate, a whole number of hops → codes (K, T)."""
        x = torch.from_numpy(np.ascontiguousarray(audio.T)).to(self.device, self.model.dtype)[None]
        codec = self.model.audio_encoder
        with torch.inference_mode():
            if self.channels == 1:
                return self._codes(codec.encode(x.mean(dim=1, keepdim=True)).audio_codes)
            if x.shape[1] == 1:
                x = x.repeat(1, 2, 1)
            left = self._codes(codec.encode(x[:, :1]).audio_codes)
            right = self._codes(codec.encode(x[:, 1:2]).audio_codes)
        return torch.stack([left, right], dim=1).reshape(-1, left.shape[-1])  # interleaved, as MusicGen's

    def _codes(self, audio_codes: torch.Tensor) -> torch.Tensor:
        """(K, T) from the codec's (chunks, batch, quantizers, T). A codec whose default bandwidth
        uses more quantizers than the decoder has codebooks: residual quantization is sequential,
        so the first K of them are exactly the codes of K quantizers."""
        per_channel = self.num_codebooks // self.channels
        if audio_codes.shape[2] < per_channel:
            raise DawgenError(ErrorCode.BACKEND_FAILED, f"the codec made {audio_codes.shape[2]} codebooks; "
                                                        f"the decoder needs {per_channel}")
        return audio_codes[0, 0, :per_channel]

    def decode(self, codes: torch.Tensor, progress: Callable[[float], None] | None = None,
               chunk: int = DECODE_CHUNK) -> np.ndarray:
        """Codes (B, K, T) → float32 audio (B, T * hop, channels).

        Long outputs are decoded in chunks (the decoder's memory grows with the length), each with
        DECODE_PREROLL frames of context on both sides (its convolutions look both ways, its LSTM
        back), joined by a one-frame crossfade."""
        total = codes.shape[-1]
        fade = self.hop
        pieces: list[np.ndarray] = []
        for start in range(0, total, chunk):
            end = min(total, start + chunk)
            pre, post = min(start, DECODE_PREROLL), min(total - end, DECODE_PREROLL)
            audio = self._decode_all(codes[..., start - pre:end + post])
            keep = audio[:, pre * self.hop:(end - start + pre) * self.hop + (fade if post else 0)]
            if pieces:  # the piece before ends with `fade` samples past its chunk; this one starts there
                ramp = np.linspace(0.0, 1.0, fade, dtype=np.float32)[None, :, None]
                pieces[-1][:, -fade:] = pieces[-1][:, -fade:] * (1 - ramp) + keep[:, :fade] * ramp
                keep = keep[:, fade:]
            pieces.append(keep)
            if progress is not None:
                progress(end / total)
        return np.concatenate(pieces, axis=1)

    def _decode_all(self, codes: torch.Tensor) -> np.ndarray:
        codec = self.model.audio_encoder
        batch = codes.shape[0]
        with torch.inference_mode():
            if self.channels == 1:
                out = codec.decode(codes[None], [None] * batch).audio_values
            else:
                left = codec.decode(codes[None, :, ::2], [None] * batch).audio_values
                right = codec.decode(codes[None, :, 1::2], [None] * batch).audio_values
                out = torch.cat([left, right], dim=1)
        return out.float().cpu().numpy().transpose(0, 2, 1)

    # -- generation -----------------------------------------------------------------------------
    def plan(self, prompt_frames: int, new_frames: int) -> list[tuple[int, int]]:
        return plan_windows(prompt_frames, new_frames, self.window, self.stride)

    def steps(self, windows: list[tuple[int, int]]) -> int:
        """Decoding steps of a plan: each window takes num_codebooks - 1 extra steps (the delays)."""
        return sum(new + self.num_codebooks - 1 for _, new in windows)

    def generate(self, text: str, count: int, seed: int, sampling: Sampling, windows: list[tuple[int, int]],
                 prompt: torch.Tensor | None = None, chroma: torch.Tensor | None = None,
                 on_step: Callable[[], None] = lambda: None) -> torch.Tensor:
        """Codes (count, K, prompt + new frames). `prompt` (K, P) are codes to continue; `chroma`
        (frames, 12) a melody, sliced per window at the window's time (looped when shorter)."""
        tokens = self.tokenizer([text] * count, return_tensors="pt", padding=True, truncation=True,
                                max_length=TEXT_TOKENS).to(self.device)
        codes = torch.zeros((count, self.num_codebooks, 0), dtype=torch.long, device=self.device)
        if prompt is not None:
            codes = prompt[None].repeat(count, 1, 1)
        sampler = RowSampler(generators(seed, count, self.device), self.num_codebooks, sampling, on_step)
        for context, new in windows:
            kwargs: dict[str, Any] = dict(tokens)
            if context:
                kwargs["decoder_input_ids"] = codes[..., -context:].reshape(count * self.num_codebooks, context)
            if chroma is not None:
                first = codes.shape[-1] - context  # the window's first frame in the output's timeline
                kwargs["input_features"] = self._chroma_window(chroma, first, context + new)[None].repeat(count, 1, 1)
            out = self._generate_window(kwargs, new, sampling, sampler)
            codes = torch.cat([codes, out[..., context:context + new]], dim=-1)
        return codes

    def _generate_window(self, kwargs: dict[str, Any], new: int, sampling: Sampling,
                         sampler: RowSampler) -> torch.Tensor:
        from transformers import LogitsProcessorList

        config = self.model.generation_config
        with torch.inference_mode(), _catch_codes(self.model) as caught:
            # greedy over the sampler's one-hot scores; the sampler draws the tokens (see sampling.py)
            self.model.generate(**kwargs, max_new_tokens=new + self.num_codebooks - 1, do_sample=False,
                                temperature=None, top_k=None, top_p=None,
                                guidance_scale=float(sampling.guidance_scale),  # None would mean the model's own
                                pad_token_id=config.pad_token_id, logits_processor=LogitsProcessorList([sampler]))
        return caught.codes()

    def _chroma_window(self, chroma: torch.Tensor, first_frame: int, frames: int) -> torch.Tensor:
        rate = self.chroma_rate
        start = int(round(first_frame / self.frame_rate * rate))
        length = max(1, int(round(frames / self.frame_rate * rate)))
        index = torch.arange(start, start + length, device=chroma.device) % chroma.shape[0]
        return chroma[index].to(self.device, self.model.dtype)

    @property
    def chroma_rate(self) -> float:
        pre = self.files.preprocessor
        return float(pre.get("sampling_rate", 32000)) / float(pre.get("hop_length", 4096))


class _Caught:
    def __init__(self) -> None:
        self.calls: list[torch.Tensor] = []

    def codes(self) -> torch.Tensor:
        """(B, K, T): one decode call (mono) or the two halves of a stereo model, re-interleaved."""
        if not self.calls:
            raise DawgenError(ErrorCode.BACKEND_FAILED, "transformers generate() returned no codes")
        if len(self.calls) == 1:
            return self.calls[0][0]
        left, right = self.calls[0][0], self.calls[1][0]
        return torch.stack([left, right], dim=2).reshape(left.shape[0], -1, left.shape[-1])


@contextlib.contextmanager
def _catch_codes(model: Any) -> Iterator[_Caught]:
    caught = _Caught()

    def catch(audio_codes: torch.Tensor, audio_scales: Any = None, *args: Any, **kwargs: Any) -> Any:
        caught.calls.append(audio_codes)
        batch = audio_codes.shape[1]
        return SimpleNamespace(audio_values=torch.zeros((batch, 1, 1), device=audio_codes.device))

    model.audio_encoder.decode = catch  # an instance attribute shadows the method for this call only
    try:
        yield caught
    finally:
        del model.audio_encoder.decode
