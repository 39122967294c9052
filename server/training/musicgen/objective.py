"""MusicGen's training loss and the demo renders (imports torch; the backend's model.py does the
encoding, generation and decoding, so training sees the codes generation makes).

The loss is audiocraft's (and musicgen-dreamboothing's): audio -> EnCodec codes (frozen; a stereo
model's left and right codebooks interleaved, as the backend encodes) -> the delay pattern
(codebook k shifted right by k steps, stereo pairs together, the gaps padded) -> the decoder,
teacher-forced on the codes shifted right behind its start token, conditioned on the frozen T5's
states of the prompt -> cross-entropy per codebook over the positions that hold a code (padding
and delay positions ignored), averaged over the codebooks. Classifier-free guidance dropout: 10 %
of the rows lose their conditioning exactly as generation's unconditional half has none (T5 states
and their mask zeroed; a melody model's chroma replaced by its null chroma), so guidance still
works after fine-tuning. MusicGen-Melody trains on each clip's own chroma (computed as the
backend's `melody` verb computes it), as audiocraft trains melody models.
"""
from __future__ import annotations

import contextlib
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

Trainee = Any  # trainee.Trainee (imported by name only: trainee.py imports this module)

CFG_DROPOUT = 0.1  # MusicGen's text-condition dropout in training
DEMO_SECONDS = 4.0  # demos: this long, or the training window when shorter


def codes(trainee: Trainee, audio: np.ndarray) -> Any:
    """(batch, channels, frames) float audio -> codes (batch, K, T) on the device, no grad."""
    import torch

    runtime = trainee.runtime
    rows = [runtime.encode(np.ascontiguousarray(clip.T, dtype=np.float32)) for clip in np.asarray(audio)]
    return torch.stack(rows).clone()  # out of inference mode: the decoder's embedding reads them


def delayed(codes: Any, pad: int, channels: int) -> Any:
    """Labels (batch, T + delay, K) for codes (batch, K, T): codebook k of each channel starts k
    steps late, the positions without a code are `pad` (what build_delay_pattern_mask does at
    generation; the decoder ignores pad labels in its loss)."""
    batch, books, frames = codes.shape
    per_channel = books // channels
    out = codes.new_full((batch, books, frames + per_channel - 1), pad)
    for k in range(books):
        delay = k // channels  # stereo: 2c and 2c + 1 are codebook c of the left and the right channel
        out[:, k, delay:delay + frames] = codes[:, k]
    return out.transpose(1, 2).contiguous()


def conditioning(trainee: Trainee, prompts: Sequence[str], audio: np.ndarray, dropout: float) -> dict[str, Any]:
    """The model's text (and chroma) inputs, with the guidance dropout applied to whole rows."""
    import torch

    from ...backends.musicgen.model import TEXT_TOKENS

    tokens = trainee.tokenizer(list(prompts), return_tensors="pt", padding=True, truncation=True,
                               max_length=TEXT_TOKENS)
    keep = (torch.rand(len(prompts)) >= dropout).long()  # the training random state: resumes exactly
    inputs: dict[str, Any] = {"input_ids": tokens["input_ids"].to(trainee.device),
                              "attention_mask": (tokens["attention_mask"] * keep[:, None]).to(trainee.device)}
    if trainee.files.melody:
        inputs["input_features"] = melody_features(trainee, audio, keep)
    return inputs


def melody_features(trainee: Trainee, audio: np.ndarray, keep: Any) -> Any:
    """Each clip's chroma (batch, chroma frames, 12); a dropped row gets generation's null chroma."""
    import torch

    from ...backends.musicgen.audio import chroma

    rate = trainee.runtime.sampling_rate
    features = torch.stack([chroma(np.asarray(clip).T, rate, trainee.files.preprocessor) for clip in audio])
    null = torch.zeros_like(features)
    null[:, :, 0] = 1.0
    features = torch.where(keep[:, None, None].bool(), features, null)
    return features.to(trainee.device, trainee.model.dtype)


def loss(trainee: Trainee, audio: np.ndarray, prompts: Sequence[str], autocast: Any,
         dropout: float = CFG_DROPOUT) -> Any:
    """The mean cross-entropy over codebooks on one micro-batch (a scalar with a graph to the weights)."""
    pad, start = special_tokens(trainee.model)
    labels = delayed(codes(trainee, audio), pad, trainee.runtime.channels)
    inputs = conditioning(trainee, prompts, audio, dropout)
    with autocast:
        out = trainee.model(**inputs, decoder_input_ids=shifted(labels, start, pad), labels=labels, use_cache=False)
    return out.loss.float()


def special_tokens(model: Any) -> tuple[int, int]:
    """(pad, start): the delay pattern's padding and the token every sequence starts with (as
    generate() starts it: generation_config.decoder_start_token_id, else the decoder's bos)."""
    decoder = model.config.decoder
    start = model.generation_config.decoder_start_token_id
    return int(decoder.pad_token_id), int(start if start is not None else decoder.bos_token_id)


def shifted(labels: Any, start: int, pad: int) -> Any:
    """The decoder's teacher-forced input (batch * K, L): the labels one step right behind `start`
    (transformers' shift_tokens_right; its own call reads a config key transformers 5 dropped)."""
    batch, length, books = labels.shape
    ids = labels.new_full((batch, books, length), pad)
    ids[:, :, 0] = start
    ids[:, :, 1:] = labels.transpose(1, 2)[:, :, :-1]
    return ids.reshape(batch * books, length)


@contextlib.contextmanager
def _eval(trainee: Trainee) -> Any:
    """The model in eval mode and the training random state untouched, for a render."""
    import torch

    devices = [torch.device(trainee.device).index or 0] if trainee.device.startswith("cuda") else []
    trainee.model.eval()
    try:
        with torch.random.fork_rng(devices=devices):
            yield
    finally:
        trainee.train_mode()


def demos(trainee: Trainee, seeds: Sequence[int], prompts: Sequence[str]) -> list[Any]:
    """Audio demos from the weights being trained: the backend's sampler (its defaults: top_k 250,
    guidance 3) at fixed seeds, one prompt per seed in turn, DEMO_SECONDS or the window if shorter."""
    from ...backends.base import Audio
    from ...backends.musicgen.sampling import Sampling

    runtime = trainee.runtime
    window_s = (trainee.settings.seconds or math.inf)
    seconds = min(DEMO_SECONDS, window_s, runtime.window / runtime.frame_rate)
    wanted = int(round(seconds * runtime.sampling_rate))
    windows = runtime.plan(0, math.ceil(wanted / runtime.hop))
    rows = list(prompts or [""])
    out = []
    with _eval(trainee):
        for i, seed in enumerate(seeds):
            text = rows[i % len(rows)]
            audio = runtime.decode(runtime.generate(text, 1, int(seed), Sampling(), windows))[0, :wanted]
            out.append(Audio(np.asarray(audio, dtype=np.float32), runtime.sampling_rate, seed=int(seed),
                             meta={"prompt_used": text}))
    return out
