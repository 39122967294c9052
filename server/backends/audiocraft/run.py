"""The verbs on a loaded audiocraft model: generate (all families), continue and melody (MusicGen).

Progress: audiocraft's custom progress callback reports every token step (MAGNeT: every decoding
step) through ctx.progress, 95 % of the job; it raises JobCancelled once a cancel is asked, which
stops audiocraft's loop at that step. `count` rows are one batch (halved on out-of-memory), each
row sampled with its own seed (model.row_seeds). With a MultiBand Diffusion decoder (`mbd`, mbd.py)
audiocraft returns the tokens too and they are decoded again by diffusion, row by row.
"""
from __future__ import annotations

import os
from typing import Any

import numpy as np

from ...errors import DawgenError, ErrorCode
from ..audio_in import read_section, to_model
from ..base import Audio, Output, RunContext
from . import spec
from .files import Checkpoint
from .model import row_seeds, to_rows

GENERATING = 0.95
CROSSFADE_S = 0.01  # include_input: from the clip into its re-decoded tail, as the musicgen backend joins them


def run(model: Any, checkpoint: Checkpoint, verb: str, ctx: RunContext, mbd: Any = None) -> list[Output]:
    p = ctx.params
    seed, count = int(p["seed"]), int(p.get("count", 1))
    text = spec.prompt_text(p)
    meta: dict[str, Any] = {"prompt_used": text, "family": checkpoint.family, "model_sample_rate": model.sample_rate,
                            "decoder": "encodec" if mbd is None else "mbd"}
    if checkpoint.magnet:
        seconds = _magnet_params(model, p)
    else:
        seconds = _seconds(p, _input_seconds(p) if verb == "melody" else None)
        _musicgen_params(model, p, seconds)
    if verb == "continue":
        return _continue(model, ctx, text, seed, count, seconds, meta, mbd)
    melody = read_section(str(p["input"]), None, None) if verb == "melody" else None

    def make(first: int, n: int) -> list[np.ndarray]:
        _progress(model, ctx, first, n, count, seconds)
        with row_seeds(seed + first, n, str(model.device)):
            if melody is None:
                wav = model.generate([text] * n, progress=True, return_tokens=mbd is not None)
            else:
                wav = model.generate_with_chroma([text] * n, _tensor(melody[0], n), melody[1], progress=True,
                                                 return_tokens=mbd is not None)
        return to_rows(_decoded(wav, mbd, ctx, seed, first, n, count))

    rows = _batched(model, count, make)
    wanted = int(round(seconds * model.sample_rate))
    meta["seconds"] = round(seconds, 6)
    return [Audio(rows[i][:wanted], model.sample_rate, seed=seed + i, meta=dict(meta)) for i in range(count)]


def _decoded(result: Any, mbd: Any, ctx: RunContext, seed: int, first: int, n: int, count: int) -> Any:
    """audiocraft's audio, or with MBD its (audio, tokens) decoded by diffusion, row i from seed + i."""
    if mbd is None:
        return result
    from .mbd import decode

    def on_row(done: int, total: int) -> None:
        ctx.progress(GENERATING * (first + done * n / total) / count, "decoding")

    return decode(mbd, result[1], seed + first, on_row)


def _seconds(p: dict[str, Any], input_seconds: float | None) -> float:
    try:
        return spec.target_seconds(p, input_seconds)
    except ValueError as exc:  # checked at submit; a journaled job re-run after an upgrade lands here
        raise DawgenError(ErrorCode.BAD_REQUEST, str(exc)) from None


def _input_seconds(p: dict[str, Any]) -> float:
    samples, rate = read_section(str(p["input"]), None, None)
    return samples.shape[0] / rate


def _musicgen_params(model: Any, p: dict[str, Any], seconds: float) -> None:
    temperature = float(p.get("temperature", 1.0))
    model.set_generation_params(use_sampling=temperature > 0, top_k=int(p.get("top_k", 250)),
                                top_p=float(p.get("top_p", 0.0)), temperature=max(temperature, 1e-6),
                                duration=seconds, cfg_coef=float(p.get("guidance_scale", 3.0)))


def _magnet_params(model: Any, p: dict[str, Any]) -> float:
    """Sets MAGNeT's sampling; returns the seconds to keep (MAGNeT always makes its whole window)."""
    window = float(model.duration)
    seconds = window if p.get("seconds") is None and p.get("bars") is None else _seconds(p, None)
    if seconds > window + 1e-6:
        raise DawgenError(ErrorCode.BAD_REQUEST, f"{seconds:.2f} s is longer than this MAGNeT model's "
                                                 f"{window:g} s window")
    steps = spec.decoding_steps(p.get("decoding_steps", "20,10,10,10"))
    n_q = int(model.lm.n_q)
    steps = (steps + [steps[-1]] * n_q)[:n_q]
    temperature = float(p.get("temperature", 3.0))
    model.set_generation_params(use_sampling=temperature > 0, top_k=int(p.get("top_k", 0)),
                                top_p=float(p.get("top_p", 0.9)), temperature=max(temperature, 1e-6),
                                max_cfg_coef=float(p.get("guidance_scale", 10.0)),
                                min_cfg_coef=float(p.get("min_guidance_scale", 1.0)), decoding_steps=steps,
                                span_arrangement=str(p.get("span_arrangement", "nonoverlap")))
    return seconds


def _progress(model: Any, ctx: RunContext, first: int, n: int, count: int, seconds: float) -> None:
    """Rows first..first+n-1 of `count`: audiocraft's (done, total) steps into the job's fraction."""
    frames = max(1, int(seconds * model.frame_rate))

    def on_step(done: int, total: int) -> None:
        whole = total if total > frames or total <= 0 else frames  # windows: audiocraft adds the offset
        share = (first + n * min(1.0, done / max(1, whole))) / count
        ctx.progress(GENERATING * share, "generating")  # raises JobCancelled when cancelled

    model.set_custom_progress_callback(on_step)


def _batched(model: Any, count: int, make: Any) -> list[np.ndarray]:
    from ..torch_util import run_in_batches

    return run_in_batches(make, count, str(model.device))


def _tensor(samples: np.ndarray, n: int) -> Any:
    import torch

    wav = torch.from_numpy(np.ascontiguousarray(samples.T, dtype=np.float32))
    return wav[None].expand(n, -1, -1).contiguous()


def _continue(model: Any, ctx: RunContext, text: str, seed: int, count: int, seconds: float,
              meta: dict[str, Any], mbd: Any = None) -> list[Output]:
    p = ctx.params
    clip, rate = read_section(str(p["input"]), p.get("start"), p.get("end"))
    x = to_model(clip, rate, model.sample_rate, model.audio_channels)
    # the prompt leaves room for at least a stride (or all) of new audio in the first window
    room = model.max_duration - min(seconds, model.extend_stride or seconds)
    context = min(x.shape[0], int(room * model.sample_rate))
    if context < int(model.sample_rate / model.frame_rate):
        raise DawgenError(ErrorCode.BAD_REQUEST, "input: shorter than one model frame")
    prompt = x[x.shape[0] - context:]
    _musicgen_params(model, p, context / model.sample_rate + seconds)
    wanted = int(round(seconds * model.sample_rate))
    fade = min(context, int(CROSSFADE_S * model.sample_rate))  # audiocraft re-decodes the prompt too

    def make(first: int, n: int) -> list[np.ndarray]:
        _progress(model, ctx, first, n, count, context / model.sample_rate + seconds)
        with row_seeds(seed + first, n, str(model.device)):
            wav = model.generate_continuation(_tensor(prompt, n), model.sample_rate, [text] * n, progress=True,
                                              return_tokens=mbd is not None)
        return [row[context - fade:context + wanted] for row in to_rows(_decoded(wav, mbd, ctx, seed, first, n, count))]

    rows = _batched(model, count, make)
    meta.update(seconds=round(seconds, 6), context_seconds=round(context / model.sample_rate, 4),
                include_input=bool(p.get("include_input")), input=os.path.basename(str(p["input"])))
    outputs: list[Output] = []
    for i in range(count):
        new = _headroom(_pad(rows[i][fade:], wanted))
        if p.get("include_input"):  # the clip as it is (its rate, its channels), then the continuation
            tail = _pad(rows[i], fade + wanted)
            outputs.append(Audio(_join(clip, rate, tail, model.sample_rate, fade), rate, seed=seed + i,
                                 meta={**meta, "post": "none"}))
        else:
            outputs.append(Audio(new, model.sample_rate, seed=seed + i, meta={**meta, "post": "none"}))
    return outputs


def _join(clip: np.ndarray, rate: int, tail: np.ndarray, model_rate: int, fade: int) -> np.ndarray:
    """The clip, then the continuation, at the clip's rate and channels: the clip's last `fade` model
    samples crossfade into the model's re-decoded version of them (no click at the seam)."""
    from ...post.resample import resample

    new = resample(tail, model_rate, rate) if rate != model_rate else tail
    if new.shape[1] != clip.shape[1]:
        new = np.repeat(new.mean(axis=1, keepdims=True), clip.shape[1], axis=1)
    fade = min(int(round(fade * rate / model_rate)), clip.shape[0], new.shape[0])
    new = _headroom(new.astype(np.float32))
    out = np.concatenate([clip, new[fade:]], axis=0).astype(np.float32)
    if fade > 0:
        ramp = np.linspace(0.0, 1.0, fade, dtype=np.float32)[:, None]
        out[clip.shape[0] - fade:clip.shape[0]] = clip[-fade:] * (1 - ramp) + new[:fade] * ramp
    return out


def _pad(samples: np.ndarray, frames: int) -> np.ndarray:
    if samples.shape[0] >= frames:
        return samples[:frames]
    return np.pad(samples, ((0, frames - samples.shape[0]), (0, 0)), mode="edge")


def _headroom(samples: np.ndarray) -> np.ndarray:
    """Unprocessed output (post = none) is written as it is: scaled under full scale if it is over."""
    peak = float(np.max(np.abs(samples))) if samples.size else 0.0
    return samples * (0.99 / peak) if peak > 0.99 else samples
