"""Bark backend figures on the tiny random-weight model (tests/server/backends/bark_tiny.py).

1. Seconds per audio-second on the CPU: one pass, and words long enough for several passes (cut at
   sentence ends, made pass by pass, crossfaded), beside MusicGen's tiny model making the same
   length of audio in the same run. Target: several passes cost per audio-second at most 1.5x one
   pass (cutting and joining add nothing that grows with the words).
2. Memory: the model's bytes as the registry's budget counts them, and how far the process's peak
   resident memory grew while generating (the generation's own working memory on the CPU).
3. Where CUDA is present: a bark-small-sized model with random weights (three 12-layer 768-wide
   GPTs, the 24 kHz EnCodec) in float16, one full pass (768 semantic tokens: a random model never
   ends early): seconds per audio-second and peak GPU memory. `--size-check` runs that path on
   the CPU with a 16-token pass, to check it without a GPU.

    .venv/bin/python bench/bark.py [--runs 3] [--size-check]
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import tempfile
import time
from pathlib import Path

from _common import REPO  # noqa: F401 - puts the repo on sys.path
from table import Row, at_most

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ONE_PASS = "♪ la la la [laughs] hello world ♪"
SEVERAL = " ".join(f"Hello world number {i}, we sing tonight." for i in range(12))


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def per_audio_second(backend, prompt: str, runs: int, **params) -> tuple[float, int]:
    """Median seconds of compute per second of audio made, and the passes the words took."""
    from server.backends.base import RunContext

    ratios, passes = [], 0
    for run in range(runs):
        ctx = RunContext({"prompt": prompt, "seed": run, "count": 1, "text_temperature": 0.7,
                          "waveform_temperature": 0.7, **params})
        started = time.perf_counter()
        out = backend.run("generate", ctx)[0]
        ratios.append((time.perf_counter() - started) / (out.frames / out.sample_rate))
        passes = out.meta["passes"]
    return statistics.median(ratios), passes


def musicgen_per_audio_second(tmp: Path, seconds: float, runs: int) -> float:
    from server.backends.base import RunContext
    from server.backends.musicgen import MusicgenBackend
    from tests.server.backends.musicgen_tiny import build_musicgen

    backend = MusicgenBackend("mg", {"path": str(build_musicgen(tmp / "musicgen")), "device": "cpu"})
    backend.load()
    ratios = []
    for run in range(runs):
        params = {"prompt": "dark techno", "seconds": seconds, "seed": run, "count": 1, "temperature": 1.0,
                  "top_k": 250, "top_p": 0.0, "guidance_scale": 3.0}
        started = time.perf_counter()
        backend.run("generate", RunContext(params))
        ratios.append((time.perf_counter() - started) / seconds)
    return statistics.median(ratios)


def small_sized(folder: Path, semantic_tokens: int) -> Path:
    """bark-small's shapes with random weights, saved as the hub lays it out (tokenizer and voices tiny)."""
    import torch
    from transformers import (
        BarkCoarseConfig,
        BarkConfig,
        BarkFineConfig,
        BarkModel,
        BarkSemanticConfig,
        BertTokenizer,
        EncodecConfig,
    )

    from tests.server.backends.bark_tiny import write_generation_config, write_vocab, write_voices

    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    gpt = dict(hidden_size=768, num_layers=12, num_heads=12, block_size=1024)
    config = BarkConfig(
        semantic_config=BarkSemanticConfig(input_vocab_size=129_600, output_vocab_size=10_048, **gpt).to_dict(),
        coarse_acoustics_config=BarkCoarseConfig(input_vocab_size=12_096, output_vocab_size=12_096, **gpt).to_dict(),
        fine_acoustics_config=BarkFineConfig(input_vocab_size=1056, output_vocab_size=1056, n_codes_total=8,
                                             n_codes_given=1, **gpt).to_dict(),
        codec_config=EncodecConfig().to_dict())  # EnCodec's defaults are its 24 kHz model
    BarkModel(config).half().save_pretrained(folder)
    write_generation_config(folder, semantic_tokens)
    BertTokenizer(vocab=str(write_vocab(folder)), do_lower_case=False).save_pretrained(folder)
    write_voices(folder)
    return folder


def small_sized_figures(tmp: Path, device: str, semantic_tokens: int) -> dict[str, float]:
    import torch

    from server.backends.bark import BarkBackend

    folder = small_sized(tmp / "small", semantic_tokens)
    backend = BarkBackend("small", {"path": str(folder), "device": device})
    started = time.perf_counter()
    backend.load()
    load = time.perf_counter() - started
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    ratio, _ = per_audio_second(backend, ONE_PASS, 1, voice="announcer")
    params_m = sum(p.numel() for p in backend.runner.model.parameters()) / 1e6
    print(f"  bark-small-sized ({params_m:.0f}M params, {backend.runner.model.dtype}) on {device}: load + warm-up "
          f"{load:.1f} s; one pass of {semantic_tokens} semantic tokens: {ratio:.3f} s per audio-second")
    out = {"sized_s_per_s": ratio, "sized_cuda": float(device.startswith("cuda")), "sized_tokens": semantic_tokens}
    if device.startswith("cuda"):
        out["gpu_peak_gb"] = torch.cuda.max_memory_allocated() / 2**30
        print(f"  peak GPU memory: {out['gpu_peak_gb']:.2f} GiB")
    return out


def main(runs: int = 3, size_check: bool = False) -> dict[str, float]:
    import torch

    from server.backends.bark import BarkBackend
    from tests.server.backends.bark_tiny import build_bark

    with tempfile.TemporaryDirectory(prefix="dawgen-bench-bark-") as name:
        tmp = Path(name)
        backend = BarkBackend("tiny", {"path": str(build_bark(tmp / "tiny")), "device": "cpu"})
        backend.load()  # and warmed up
        print(f"bark (tiny random-weight model, {runs} runs, CPU)")
        rss = _peak_rss_mb()
        one, _ = per_audio_second(backend, ONE_PASS, runs, voice="announcer")
        several, passes = per_audio_second(backend, SEVERAL, runs, voice="announcer")
        grown = _peak_rss_mb() - rss
        model_mb = backend.memory_bytes() / 2**20
        mg = musicgen_per_audio_second(tmp, 1.0, runs)
        print(f"  one pass: {one:.3f} s per audio-second; {passes} passes: {several:.3f} ({several / one:.2f}x)")
        print(f"  musicgen tiny, same run: {mg:.3f} s per audio-second")
        print(f"  model {model_mb:.1f} MB (registry estimate); peak RSS grew {grown:.1f} MB while generating")
        res = {"one": one, "several": several, "passes": float(passes), "musicgen": mg, "model_mb": model_mb,
               "rss_grown_mb": grown}
        if torch.cuda.is_available():
            res.update(small_sized_figures(tmp, "cuda", 768))
        elif size_check:
            res.update(small_sized_figures(tmp, "cpu", 16))
        else:
            print("  no CUDA device: the bark-small-sized GPU figures were not measured")
    return res


def rows(res: dict[str, float]) -> list[Row]:
    out = [Row("bark", "tiny, one pass: s per audio-second (median)", res["one"], "s/s",
               beside=f"musicgen tiny: {res['musicgen']:.3f} s/s"),
           at_most("bark", f"tiny, {res['passes']:.0f} passes joined / one pass, per audio-second",
                   res["several"] / res["one"], "x", 1.5, f"{res['several']:.3f} vs {res['one']:.3f} s/s"),
           Row("bark", "tiny: model memory (registry estimate)", res["model_mb"], "MB",
               beside=f"peak RSS growth while generating: {res['rss_grown_mb']:.1f} MB")]
    if "sized_s_per_s" in res:
        where = (f"CUDA, float16, peak GPU memory {res['gpu_peak_gb']:.2f} GiB" if res["sized_cuda"]
                 else "CPU size check, float32")
        out.append(Row("bark", f"bark-small-sized, one pass of {res['sized_tokens']:.0f} semantic tokens: "
                               "s per audio-second", res["sized_s_per_s"], "s/s", beside=where))
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--size-check", action="store_true", help="run the bark-small-sized path on the CPU")
    cli = parser.parse_args()
    from table import markdown

    print(markdown(rows(main(cli.runs, cli.size_check))))
